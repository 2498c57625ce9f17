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
    """Sample problem indices with probability proportional to 1 - s_i, s_i the latest measured
    success rate of problem i (0 before it is first tried, so untried problems come first).
    When every problem is solved, sampling falls back to uniform."""

    def __init__(self, n_problems: int, gen: torch.Generator) -> None:
        if n_problems < 1:
            raise ValueError(f"need at least one problem, got {n_problems}")
        self.success = torch.zeros(n_problems, dtype=torch.float64)
        self.gen = gen

    def probabilities(self) -> torch.Tensor:
        weights = 1.0 - self.success
        if weights.sum() <= 0:
            weights = torch.ones_like(weights)
        return weights / weights.sum()

    def sample(self, n: int) -> torch.Tensor:
        """``n`` distinct problem indices (fewer if there are fewer problems with weight)."""
        p = self.probabilities()
        n = min(n, int((p > 0).sum()))
        return torch.multinomial(p, n, replacement=False, generator=self.gen)

    def update(self, indices: torch.Tensor, success_rates: torch.Tensor) -> None:
        """Record the success rates (fraction of the k samples that were correct)."""
        if not ((success_rates >= 0) & (success_rates <= 1)).all():
            raise ValueError("success rates must lie in [0, 1]")
        self.success[indices] = success_rates.double().cpu()
