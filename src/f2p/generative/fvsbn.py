"""FVSBN, the fully visible sigmoid belief network (Frey et al., 1996), taught in chapter 07.

Each conditional is its own logistic regression on the pixels before it:

    p(x_{o_k} = 1 | x_{o_<k}) = sigmoid(b_{o_k} + sum_{j<k} W_{o_k, o_j} x_{o_j})   (eq. 7.4)

so the weight matrix is strictly lower-triangular in the ordering: D(D-1)/2 + D free parameters
(``num_free_parameters``; the D x D matrix stores the masked zeros too).
"""

from __future__ import annotations

import torch
from torch import nn

from f2p.generative.base import Autoregressive, check_order, positions


class FVSBN(Autoregressive):
    """One logistic regression per pixel; ``W`` masked to the pixels earlier in the ordering."""

    def __init__(
        self, dim: int, order: torch.Tensor | None = None, context: torch.Tensor | None = None
    ) -> None:
        """``context`` (optional, ``(D, D)`` boolean): pixel i reads pixel j only where
        ``context[i, j]``, a subset of the pixels before i (e.g. another model's receptive
        field)."""
        super().__init__(dim)
        self.register_buffer("_order", check_order(order, dim))
        pos = positions(self._order)
        before = pos[None, :] < pos[:, None]  # before[i, j]: j comes before i
        if context is not None:
            context = torch.as_tensor(context, dtype=torch.bool)
            if context.shape != (dim, dim) or (context & ~before).any():
                raise ValueError(
                    f"context should be a ({dim}, {dim}) boolean mask within the pixels before "
                    "each pixel in the ordering"
                )
            before = context
        self.register_buffer("mask", before.float())
        self.weight = nn.Parameter(torch.zeros(dim, dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    @property
    def order(self) -> torch.Tensor:
        return self._order.cpu()

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """eq. (7.4) for all pixels at once: ``x @ (W * mask)^T + b``."""
        return x @ (self.weight * self.mask).T + self.bias
