"""MADE, the masked autoencoder for distribution estimation (Germain et al., 2015), chapter 07.

An ordinary autoencoder becomes autoregressive by masking its weights. Give every input d the
number m^0(d) = its place in the ordering (1..D), every hidden unit k of layer l a number
m^l(k) drawn uniformly from {min_k' m^{l-1}(k'), ..., D-1}, and keep only the connections

    hidden:  M^l[k, k'] = 1[m^l(k) >= m^{l-1}(k')]   (eq. 7.8)
    output:  M^V[d, k]  = 1[m^0(d) >  m^L(k)]   (eq. 7.9)

Then output d depends only on inputs whose number is smaller than m^0(d). Training with several
orderings and connectivities (``num_masks`` > 1, one per minibatch, in turn) gives an ensemble
that is averaged at test time: p(x) = (1/K) sum_k p_k(x).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from f2p.generative.base import Autoregressive, check_order
from f2p.generative.data import check_binary


class MaskedLinear(nn.Linear):
    """A linear layer whose weight is multiplied by a fixed 0/1 mask (set with ``set_mask``)."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__(n_in, n_out)
        self.register_buffer("mask", torch.ones(n_out, n_in))

    def set_mask(self, mask: torch.Tensor) -> None:
        self.mask.copy_(mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


def made_masks(
    dim: int, hidden: list[int], order: torch.Tensor, generator: torch.Generator
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """The masks of eqs. (7.8)-(7.9) for one ordering and freshly drawn connectivity numbers.

    Returns the hidden-layer masks, ``(hidden[i], fan_in)`` each, and the output mask ``(D, H_L)``.
    """
    degrees = [torch.empty(dim, dtype=torch.long)]
    degrees[0][order] = torch.arange(1, dim + 1)  # m^0(d): place of pixel d in the ordering
    for width in hidden:
        low = int(degrees[-1].min())
        high = dim - 1  # a unit numbered D would see every input and feed no output
        degrees.append(torch.randint(min(low, high), high + 1, (width,), generator=generator))
    masks = [(degrees[i + 1][:, None] >= degrees[i][None, :]).float() for i in range(len(hidden))]
    out_mask = (degrees[0][:, None] > degrees[-1][None, :]).float()
    return masks, out_mask


class MADE(Autoregressive):
    """A masked MLP with ``hidden`` layer sizes and ``num_masks`` orderings/connectivities."""

    def __init__(
        self,
        dim: int,
        hidden: list[int] | tuple[int, ...] = (256,),
        num_masks: int = 1,
        order_agnostic: bool = False,
        order: torch.Tensor | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(dim)
        hidden = list(hidden)
        if not hidden or any(h < 1 for h in hidden):
            raise ValueError(f"hidden should list positive layer sizes, got {hidden}")
        if num_masks < 1:
            raise ValueError(f"num_masks must be at least 1, got {num_masks}")
        sizes = [dim, *hidden]
        self.layers = nn.ModuleList(
            MaskedLinear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        )
        self.out = MaskedLinear(hidden[-1], dim)
        gen = torch.Generator().manual_seed(seed)
        base_order = check_order(order, dim)
        orders, hidden_masks, out_masks = [], [], []
        for k in range(num_masks):
            o = torch.randperm(dim, generator=gen) if order_agnostic and k > 0 else base_order
            masks, out_mask = made_masks(dim, hidden, o, gen)
            orders.append(o)
            hidden_masks.append(masks)
            out_masks.append(out_mask)
        self.register_buffer("orders", torch.stack(orders))
        for i in range(len(hidden)):
            self.register_buffer(f"hidden_masks_{i}", torch.stack([m[i] for m in hidden_masks]))
        self.register_buffer("out_masks", torch.stack(out_masks))
        self.num_masks = num_masks
        self.use_mask(0)

    @property
    def order(self) -> torch.Tensor:
        return self.orders[self.mask_index].cpu()

    def use_mask(self, k: int) -> None:
        """Switch to ordering/connectivity ``k`` (of ``num_masks``)."""
        if not 0 <= k < self.num_masks:
            raise ValueError(f"mask index should be in 0..{self.num_masks - 1}, got {k}")
        self.mask_index = k
        for i, layer in enumerate(self.layers):
            layer.set_mask(getattr(self, f"hidden_masks_{i}")[k])
        self.out.set_mask(self.out_masks[k])

    def get_extra_state(self) -> dict:
        """Saved with ``state_dict()``: which mask is in use, so that a restored model's
        ``order`` agrees with the layer masks it restores (sampling follows ``order``)."""
        return {"mask_index": self.mask_index}

    def set_extra_state(self, state: dict) -> None:
        self.use_mask(int(state["mask_index"]))

    def weight_mask(self, module: nn.Module) -> torch.Tensor | None:
        """A weight is free when any of the K masks keeps it: the union of the layer's masks."""
        if module is self.out:
            return self.out_masks.amax(0)
        for i, layer in enumerate(self.layers):
            if module is layer:
                return getattr(self, f"hidden_masks_{i}").amax(0)
        return None

    def next_mask(self) -> None:
        """Move to the next mask in turn (called once per training minibatch)."""
        self.use_mask((self.mask_index + 1) % self.num_masks)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for layer in self.layers:
            h = torch.relu(layer(h))
        return self.out(h)

    def log_prob_ensemble(self, x: torch.Tensor) -> torch.Tensor:
        """Test-time ensemble over all masks: log (1/K) sum_k p_k(x), by log-sum-exp."""
        check_binary(x, self.dim)
        current = self.mask_index
        per_mask = []
        for k in range(self.num_masks):
            self.use_mask(k)
            per_mask.append(self.log_prob(x))
        self.use_mask(current)
        return torch.logsumexp(torch.stack(per_mask), dim=0) - math.log(self.num_masks)
