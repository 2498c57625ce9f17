"""The interface every autoregressive model of chapter 07 shares (equation numbers: chapter 07).

A model fixes an ordering ``o`` of the D pixels and factorises, by the chain rule,

    p(x) = prod_{k=1}^{D} p(x_{o_k} | x_{o_1}, ..., x_{o_{k-1}}),   (eq. 7.1)

each factor a Bernoulli whose logit the model computes from the pixels earlier in the ordering.
Subclasses implement :meth:`Autoregressive.logits`; log-likelihood and ancestral sampling follow
from it here, once for all models.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from f2p.generative.data import check_binary


class Autoregressive(nn.Module):
    """Base class: ``logits(x)[:, d]`` may depend only on pixels before d in ``self.order``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        if not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim (number of pixels) must be a positive int, got {dim!r}")
        self.dim = dim

    @property
    def order(self) -> torch.Tensor:
        """The pixel ordering: ``order[k]`` is the pixel predicted k-th (default: raster)."""
        return torch.arange(self.dim)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of ``p(x_d = 1 | pixels before d)`` for every pixel d, shape ``(N, D)``."""
        raise NotImplementedError

    def num_free_parameters(self) -> int:
        """The parameter entries training can change: every entry, less the weights a fixed 0/1
        ``mask`` beside them multiplies by zero (they get zero gradient and never act), so a
        masked model is not credited with the zeros of its masks (``numel`` would count them)."""
        total = 0
        for module in self.modules():
            for name, p in module.named_parameters(recurse=False):
                mask = self.weight_mask(module) if name == "weight" else None
                total += p.numel() if mask is None else int((mask.expand_as(p) != 0).sum())
        return total

    def weight_mask(self, module: nn.Module) -> torch.Tensor | None:
        """The 0/1 mask on ``module.weight`` (its ``mask`` buffer), or None if it has none."""
        return getattr(module, "mask", None)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """``log p(x)`` in nats for each row of ``x``: the sum of D Bernoulli log-terms
        (eq. 7.2)."""
        check_binary(x, self.dim)
        logits = self.logits(x)
        return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        given: torch.Tensor | None = None,
        known: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Ancestral sampling: draw the pixels one at a time in ``self.order``.

        With ``given`` (``(n, D)`` binary) and ``known`` (a ``(D,)`` boolean mask), the known pixels
        are copied from ``given`` and the others sampled, which is an exact draw from
        ``p(unknown | known)`` only when the known pixels come first in the ordering; otherwise this
        raises, since an autoregressive model does not give that conditional directly.
        A ``generator`` must live on the model's device.
        """
        x, known_mask = self._start_sampling(n, given, known)
        for d in self.order.tolist():
            if known_mask[d]:
                continue
            p = torch.sigmoid(self.logits(x)[:, d])
            x[:, d] = torch.bernoulli(p, generator=generator)
        return x

    def _start_sampling(
        self, n: int, given: torch.Tensor | None, known: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Check the conditioning; return the canvas (known pixels filled in) and the known mask."""
        weight = next(self.parameters())
        device = weight.device
        x = torch.zeros(n, self.dim, device=device, dtype=weight.dtype)
        if (given is None) != (known is None):
            raise ValueError("pass both `given` and `known` for conditional sampling, or neither")
        if known is None:
            return x, torch.zeros(self.dim, dtype=torch.bool, device=device)
        check_binary(given, self.dim, "given")
        if given.shape[0] != n:
            raise ValueError(f"given has {given.shape[0]} rows but n={n} samples were asked for")
        known = known.to(device=device, dtype=torch.bool)
        if known.shape != (self.dim,):
            raise ValueError(
                f"known should be a boolean mask of shape ({self.dim},), got {tuple(known.shape)}"
            )
        in_order = known[self.order.to(device)]
        n_known = int(in_order.sum())
        if not torch.all(in_order[:n_known]):
            raise ValueError(
                "the known pixels must come first in the model's ordering: p(unknown | known) is "
                "then a product of the model's own conditionals; for other patterns it is a sum "
                "over exponentially many completions (choose an ordering that starts with them)"
            )
        x[:, known] = given.to(device)[:, known]
        return x, known


def check_order(order: torch.Tensor | None, dim: int) -> torch.Tensor:
    """Return ``order`` (default ``0..dim-1``) after checking it is a permutation of the pixels."""
    if order is None:
        return torch.arange(dim)
    order = torch.as_tensor(order, dtype=torch.long)
    if order.shape != (dim,):
        raise ValueError(
            f"ordering should have length {dim} (one entry per pixel), got {tuple(order.shape)}"
        )
    if not torch.equal(torch.sort(order).values, torch.arange(dim)):
        raise ValueError(f"ordering should be a permutation of 0..{dim - 1}")
    return order


def positions(order: torch.Tensor) -> torch.Tensor:
    """``pos[d]`` = the place of pixel d in the ordering (the inverse permutation)."""
    pos = torch.empty_like(order)
    pos[order] = torch.arange(len(order), device=order.device)
    return pos


def nats_to_bits_per_dim(nats_per_image: float, dim: int) -> float:
    """Convert an NLL in nats per image to bits per dimension: nats / (D ln 2)."""
    return nats_per_image / (dim * math.log(2))
