"""Which problems to train on (chapter 11): Kimi k1.5's curriculum and prioritized sampling."""

from __future__ import annotations

import torch


def curriculum_level(iteration: int, iterations: int, levels: int) -> int:
    """Index of the difficulty level to train on at ``iteration``: the run is split into
    ``levels`` equal stages, easiest first."""
    if not 0 <= iteration < iterations or levels < 1:
        raise ValueError(
            f"need 0 <= iteration < iterations and levels >= 1: {iteration}, {iterations}, {levels}"
        )
    return iteration * levels // iterations


class PrioritizedSampler:
    """k1.5's prioritized sampling: each problem of a batch is drawn, independently and with
    replacement, with probability p_i proportional to 1 - s_i + floor, s_i the problem's latest
    measured success rate (0 before it is first tried, so untried problems come first).

    ``floor`` = 0 is the report's rule; it never draws a solved problem again, so its s_i is
    never refreshed. A small floor keeps every s_i current at a small cost. When every weight is
    zero (all solved, no floor), sampling falls back to uniform.
    """

    def __init__(self, n_problems: int, gen: torch.Generator, floor: float = 0.0) -> None:
        if n_problems < 1:
            raise ValueError(f"need at least one problem, got {n_problems}")
        if not 0 <= floor <= 1:
            raise ValueError(f"floor must lie in [0, 1], got {floor}")
        self.success = torch.zeros(n_problems, dtype=torch.float64)
        self.floor = floor
        self.gen = gen

    def probabilities(self) -> torch.Tensor:
        """p_i = (1 - s_i + floor) / sum_j (1 - s_j + floor)."""
        weights = 1.0 - self.success + self.floor
        if weights.sum() <= 0:
            weights = torch.ones_like(weights)
        return weights / weights.sum()

    def sample(self, n: int) -> torch.Tensor:
        """``n`` problem indices, each drawn from p (so each index is expected n p_i times)."""
        return torch.multinomial(self.probabilities(), n, replacement=True, generator=self.gen)

    def update(self, indices: torch.Tensor, success_rates: torch.Tensor) -> None:
        """Record the success rates (fraction of the k samples that were correct); a problem
        drawn more than once in the batch gets the mean of its rates."""
        if not ((success_rates >= 0) & (success_rates <= 1)).all():
            raise ValueError("success rates must lie in [0, 1]")
        indices = indices.cpu()
        total = torch.zeros_like(self.success).index_add_(0, indices, success_rates.double().cpu())
        count = torch.zeros_like(self.success).index_add_(
            0, indices, torch.ones(len(indices), dtype=torch.float64)
        )
        seen = count > 0
        self.success[seen] = total[seen] / count[seen]
