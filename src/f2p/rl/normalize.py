"""Running observation normalisation and reward scaling, as Stable-Baselines3's ``VecNormalize``
computes them: the normalisation RL Zoo switches on for the MuJoCo tasks (``normalize: true`` in
its ``hyperparams/trpo.yml``), which chapter 10 follows there.

Observations: o' = clip((o - mu) / sqrt(sigma^2 + eps), -c, c), where mu and sigma^2 are the
running mean and variance of every observation seen in training (the parallel update of Chan et
al., which merges a batch's mean and variance into the running ones exactly), eps = 1e-8, c = 10.

Rewards are scaled, not centred: r' = clip(r / sqrt(Var[R] + eps), -c, c), where R_t =
gamma R_{t-1} + r_t is each environment's running discounted return, reset when its episode ends,
and Var[R] the running variance of those returns.

The statistics are buffers of a module, so they are saved with the policy (``state_dict``);
training calls ``update``, evaluation only reads them (frozen).
"""

from __future__ import annotations

import torch
from torch import nn

EPS = 1e-8
CLIP = 10.0


class RunningMeanStd(nn.Module):
    """Mean and (population) variance of every row ever passed to :meth:`update`, merged batch
    by batch: with n, m the counts, delta the difference of the means,
    mean' = mean + delta m / (n + m), M2' = M2 + M2_batch + delta^2 n m / (n + m).
    Starts from a tiny count (1e-4) at mean 0, variance 1, as SB3 does."""

    def __init__(self, shape: tuple[int, ...] = ()) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(shape, dtype=torch.float64))
        self.register_buffer("var", torch.ones(shape, dtype=torch.float64))
        self.register_buffer("count", torch.tensor(1e-4, dtype=torch.float64))

    @torch.no_grad()
    def update(self, batch: torch.Tensor) -> None:
        batch = batch.to(self.mean.device, torch.float64).reshape(-1, *self.mean.shape)
        m = batch.shape[0]
        batch_mean, batch_var = batch.mean(0), batch.var(0, unbiased=False)
        n = self.count
        delta = batch_mean - self.mean
        total = n + m
        m2 = self.var * n + batch_var * m + delta.pow(2) * n * m / total
        self.mean += delta * m / total
        self.var.copy_(m2 / total)
        self.count.fill_(float(total))


class ObservationNormalizer(nn.Module):
    """o -> clip((o - mu) / sqrt(sigma^2 + eps), -10, 10) with running statistics; the identity
    when ``enabled`` is False (then :meth:`update` does nothing either)."""

    def __init__(self, shape: tuple[int, ...], enabled: bool = True) -> None:
        super().__init__()
        self.enabled = enabled
        self.stats = RunningMeanStd(shape)

    def update(self, obs) -> None:
        if self.enabled:
            self.stats.update(torch.as_tensor(obs))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return obs
        mean = self.stats.mean.to(obs.device, obs.dtype)
        std = torch.sqrt(self.stats.var.to(obs.device, obs.dtype) + EPS)
        return ((obs - mean) / std).clamp(-CLIP, CLIP)


class RewardScaler:
    """r -> clip(r / sqrt(Var[R] + eps), -10, 10), R each environment's running discounted
    return (reset at episode ends). Call it once per vector step, in order."""

    def __init__(self, num_envs: int, gamma: float) -> None:
        if not 0 <= gamma <= 1:
            raise ValueError(f"gamma must be in [0, 1], got {gamma}")
        self.gamma = gamma
        self.returns = torch.zeros(num_envs, dtype=torch.float64)
        self.stats = RunningMeanStd()

    def __call__(self, rewards, ended) -> torch.Tensor:
        rewards = torch.as_tensor(rewards, dtype=torch.float64)
        self.returns = self.returns * self.gamma + rewards
        self.stats.update(self.returns)
        scaled = (rewards / torch.sqrt(self.stats.var + EPS)).clamp(-CLIP, CLIP)
        self.returns[torch.as_tensor(ended, dtype=torch.bool)] = 0.0
        return scaled.float()
