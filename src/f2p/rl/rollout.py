"""What every RL trainer of chapters 08-10 shares: its run record and on-policy rollouts.

:class:`RunHistory` is what A2C/QAC, TRPO (and its VPG and PPO comparisons), the deterministic
actor-critic and DDPG return; :func:`collect_rollout` gathers the on-policy batch of
A2C/QAC and TRPO. Truncated episodes (time limits) keep the observation to bootstrap from
(:func:`f2p.rl.envs.bootstrap_observations`); terminated ones are marked, so that the
returns (chapter 08, eq. GAE) bootstrap the one and not the other. Box actions are clipped to
the action space's bounds before the environment sees them and stored unclipped, so that their
log-probabilities are those of the actions the policy sampled (as Stable-Baselines3 does).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from f2p.rl.envs import bootstrap_observations, clip_action, finished_returns
from f2p.rl.normalize import ObservationNormalizer, RewardScaler


@dataclass
class RunHistory:
    """What an RL training run returns: learning curves and where the time went."""

    eval_steps: list[int] = field(default_factory=list)
    eval_returns: list[float] = field(default_factory=list)
    """mean deterministic evaluation return at each of ``eval_steps``"""
    episode_steps: list[int] = field(default_factory=list)
    episode_returns: list[float] = field(default_factory=list)
    """return of each finished training episode (stochastic policy), at ``episode_steps``"""
    train_seconds: list[float] = field(default_factory=list)
    """training wall-clock (evaluation excluded) at each of ``eval_steps``"""
    seconds: dict[str, float] = field(
        default_factory=lambda: {"env": 0.0, "network": 0.0, "rest": 0.0}
    )
    """training time split: stepping environments, network passes and updates, the rest"""

    def record_episodes(self, step: int, info: dict) -> None:
        """Add the returns of the episodes that finished at environment step ``step``."""
        for episode_return in finished_returns(info):
            self.episode_steps.append(step)
            self.episode_returns.append(episode_return)


def collect_rollout(
    envs,
    actor,
    obs,
    T: int,
    device,
    history: RunHistory,
    step0: int,
    obs_norm: ObservationNormalizer | None = None,
    reward_scaler: RewardScaler | None = None,
) -> dict[str, torch.Tensor]:
    """Run ``actor`` (a stochastic policy of :mod:`f2p.rl.networks`) for T steps in every
    environment, from the raw observations ``obs``; return time-major (T, N) tensors (obs,
    actions, rewards, terminated, ended, next_obs: the state to bootstrap from) and ``last_obs``
    (raw), recording finished episodes (raw returns) and the time spent in ``history``.

    With ``obs_norm``, the stored observations are normalised, and each new observation updates
    its statistics as it arrives (the first one is the caller's to add); with ``reward_scaler``,
    the stored rewards are scaled."""
    timers = history.seconds
    space = envs.single_action_space
    keys = ("obs", "actions", "rewards", "terminated", "ended", "next_obs")
    batch: dict[str, list] = {k: [] for k in keys}
    for t in range(T):
        tick = time.perf_counter()
        with torch.inference_mode():
            obs_t = torch.as_tensor(obs, dtype=torch.float32, device=device)
            if obs_norm is not None:
                obs_t = obs_norm(obs_t)
            action = actor.act(obs_t)
        action = action.cpu().numpy()
        tock = time.perf_counter()
        timers["network"] += tock - tick
        next_obs, reward, terminated, truncated, info = envs.step(clip_action(space, action))
        timers["env"] += time.perf_counter() - tock
        ended = terminated | truncated
        value_obs = bootstrap_observations(next_obs, ended, info)
        if obs_norm is not None:
            obs_norm.update(next_obs)
        if reward_scaler is not None:
            reward = reward_scaler(reward, ended)
        history.record_episodes(step0 + (t + 1) * envs.num_envs, info)
        if obs_norm is not None:  # stored as the networks read them
            with torch.inference_mode():
                obs = obs_t.cpu().numpy()
                value_obs = obs_norm(torch.as_tensor(value_obs, dtype=torch.float32)).numpy()
        for key, value in zip(
            keys, (obs, action, reward, terminated, ended, value_obs), strict=True
        ):
            batch[key].append(value)
        obs = next_obs
    out = {k: torch.as_tensor(np.stack(v), device=device) for k, v in batch.items()}
    for k in ("obs", "next_obs", "rewards"):
        out[k] = out[k].float()
    out["last_obs"] = obs
    return out
