"""NADE, the neural autoregressive distribution estimator (Larochelle and Murray, 2011), chapter 07.

All conditionals share one hidden layer, read through a growing prefix of the input:

    h_k = sigmoid(c + W[:, o_<k] x_{o_<k}),   (eq. 7.5)
    p(x_{o_k} = 1 | x_{o_<k}) = sigmoid(b_{o_k} + V[o_k] . h_k).   (eq. 7.6)

The pre-activations obey a_1 = c and a_{k+1} = a_k + W[:, o_k] x_{o_k} (eq. 7.7), so all D hidden
layers cost O(HD) per image instead of the O(HD^2) of evaluating eq. (7.5) afresh for each k.
"""

from __future__ import annotations

import torch
from torch import nn

from f2p.generative.base import Autoregressive, check_order


class NADE(Autoregressive):
    """NADE with H sigmoid hidden units, weights tied across the D conditionals."""

    def __init__(self, dim: int, hidden: int = 64, order: torch.Tensor | None = None) -> None:
        super().__init__(dim)
        if hidden < 1:
            raise ValueError(f"hidden must be a positive int, got {hidden!r}")
        self.register_buffer("_order", check_order(order, dim))
        self.W = nn.Parameter(torch.randn(hidden, dim) * 0.01)
        self.c = nn.Parameter(torch.zeros(hidden))
        self.V = nn.Parameter(torch.randn(dim, hidden) * 0.01)
        self.b = nn.Parameter(torch.zeros(dim))

    @property
    def order(self) -> torch.Tensor:
        return self._order.cpu()

    def _to_pixels(self, logits_in_order: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(logits_in_order)
        out[:, self._order] = logits_in_order
        return out

    def _in_order(self) -> tuple[torch.Tensor, ...]:
        o = self._order
        return self.W[:, o], self.V[o], self.b[o]

    def logits(self, x: torch.Tensor, block: int = 8) -> torch.Tensor:
        """Eq. (7.7) a block of ``block`` pixels at a time. Between blocks the pre-activation is
        carried as in eq. (7.7); inside a block, a_{s+i} = a_s + sum_{j<i} W[:, o_{s+j}] x_{o_{s+j}}
        for all i at once, one (N, B, B) x (B, H) matrix product with a strictly lower-triangular
        mask. That is O(HDB) multiply-adds per image instead of O(HD), but in D/B tensor
        operations instead of D small ones, and no (N, H, D) tensor is ever held. Which form is
        fastest depends on the machine and its load: chapter 07 and
        ``benchmarks/ch07_nade_speed.py`` measure it, with the spread over repeated rounds."""
        if block < 1:
            raise ValueError(f"block must be a positive int, got {block}")
        Wo, Vo, bo = self._in_order()
        xo = x[:, self._order]
        strictly_before = torch.ones(block, block, device=x.device, dtype=x.dtype).tril(-1)
        a = self.c.expand(len(x), -1)  # a_1 = c
        columns = []
        for s in range(0, self.dim, block):
            xb, Wb = xo[:, s : s + block], Wo[:, s : s + block]
            b = xb.shape[1]
            inside = (xb[:, None, :] * strictly_before[:b, :b]) @ Wb.T  # (N, b, H)
            h = torch.sigmoid(a[:, None, :] + inside)  # eq. (7.5) for the b pixels of the block
            columns.append((h * Vo[s : s + b]).sum(-1) + bo[s : s + b])  # eq. (7.6)
            a = a + xb @ Wb.T  # eq. (7.7), b steps at once
        return self._to_pixels(torch.cat(columns, dim=1))

    def logits_cumsum(self, x: torch.Tensor) -> torch.Tensor:
        """Eq. (7.7) for all k at once as an exclusive cumulative sum along the ordering: O(HD) per
        image in a handful of operations, but on an (N, H, D) tensor, so memory-bound."""
        Wo, Vo, bo = self._in_order()
        xo = x[:, self._order]
        contributions = xo[:, None, :] * Wo[None]  # (N, H, D): W[:, o_j] x_{o_j}
        a = torch.cumsum(contributions, dim=2).sub_(contributions).add_(self.c[:, None])  # a_k
        h = torch.sigmoid(a)  # eq. (7.5)
        return self._to_pixels((h * Vo.T[None]).sum(dim=1) + bo)  # eq. (7.6)

    def logits_sequential(self, x: torch.Tensor) -> torch.Tensor:
        """Eq. (7.7) one pixel at a time: O(H) per step, O(HD) per image, no (N, H, D) tensor."""
        Wo, Vo, bo = self._in_order()
        xo = x[:, self._order]
        a = self.c.expand(len(x), -1)
        columns = []
        for k in range(self.dim):
            columns.append(torch.sigmoid(a) @ Vo[k] + bo[k])  # eqs. (7.5)-(7.6)
            a = a + xo[:, k : k + 1] * Wo[:, k]  # eq. (7.7)
        return self._to_pixels(torch.stack(columns, dim=1))

    def logits_naive(self, x: torch.Tensor) -> torch.Tensor:
        """Eq. (7.5) evaluated afresh for every k: O(HD^2) per image, for comparison only."""
        Wo, Vo, bo = self._in_order()
        xo = x[:, self._order]
        columns = []
        for k in range(self.dim):
            h_k = torch.sigmoid(self.c + xo[:, :k] @ Wo[:, :k].T)  # (N, H)
            columns.append(h_k @ Vo[k] + bo[k])
        return self._to_pixels(torch.stack(columns, dim=1))

    @torch.no_grad()
    def sample(
        self,
        n: int,
        given: torch.Tensor | None = None,
        known: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Ancestral sampling with the O(H) update of eq. (7.7) per pixel (O(HD) per image)."""
        x, known_mask = self._start_sampling(n, given, known)
        a = self.c.expand(n, -1).clone()
        for d in self.order.tolist():
            if not known_mask[d]:
                p = torch.sigmoid(self.b[d] + torch.sigmoid(a) @ self.V[d])
                x[:, d] = torch.bernoulli(p, generator=generator)
            a += x[:, d : d + 1] * self.W[:, d]
        return x
