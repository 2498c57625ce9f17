"""FVSBN, the fully visible sigmoid belief network (Frey et al., 1996), taught in chapter 07.

Each conditional is its own logistic regression on the pixels before it:

    p(x_{o_k} = 1 | x_{o_<k}) = sigmoid(b_{o_k} + sum_{j<k} W_{o_k, o_j} x_{o_j})   (eq. 7.4)

so the weight matrix is strictly lower-triangular in the ordering: D(D-1)/2 + D parameters.
"""

from __future__ import annotations

import torch
from torch import nn

from f2p.generative.base import Autoregressive, check_order, positions


class FVSBN(Autoregressive):
    """One logistic regression per pixel; ``W`` masked to the pixels earlier in the ordering."""

    def __init__(self, dim: int, order: torch.Tensor | None = None) -> None:
        super().__init__(dim)
        self.register_buffer("_order", check_order(order, dim))
        pos = positions(self._order)
        self.register_buffer(
            "mask", (pos[None, :] < pos[:, None]).float()
        )  # mask[i, j]: j before i
        self.weight = nn.Parameter(torch.zeros(dim, dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    @property
    def order(self) -> torch.Tensor:
        return self._order.cpu()

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """eq. (7.4) for all pixels at once: ``x @ (W * mask)^T + b``."""
        return x @ (self.weight * self.mask).T + self.bias

    def num_free_parameters(self) -> int:
        """Weights that the mask leaves free, plus biases: D(D-1)/2 + D."""
        return int(self.mask.sum().item()) + self.dim
