"""Returns and advantages (chapter 08): discounted returns, TD errors and GAE.

All functions take time-major tensors of shape ``(T, N)``: T steps of N parallel environments.
"""

from __future__ import annotations

import torch


def _check(gamma: float, lam: float = 0.0) -> None:
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must lie in [0, 1], got {gamma}")
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lambda must lie in [0, 1], got {lam}")


def discounted_returns(rewards: torch.Tensor, gamma: float) -> torch.Tensor:
    """G_t = sum_{l>=0} gamma^l r_{t+l+1} along the first axis (one episode, no bootstrap), with
    ``rewards[t]`` holding r_{t+1}, the reward that follows the action at step t (the chapter's
    and the notation page's indexing): computed backwards, G_t = r_{t+1} + gamma G_{t+1}."""
    _check(gamma)
    out = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    next_values: torch.Tensor,
    terminated: torch.Tensor,
    episode_end: torch.Tensor,
    gamma: float,
    lam: float,
) -> torch.Tensor:
    """Generalised advantage estimates (chapter 08, eq. GAE):

        delta_t = r_{t+1} + gamma (1 - terminated_t) V(s_{t+1}) - V(s_t)
        A_t     = delta_t + gamma lambda (1 - end_t) A_{t+1}

    with ``rewards[t]`` holding r_{t+1}, the reward that follows the action at step t.

    ``next_values[t]`` is V of the state after step t (of the *final* state when the episode
    ended there); ``terminated`` stops bootstrapping (a true terminal state has value 0), while
    ``episode_end`` (terminated or truncated) stops the sum from crossing into the next episode.
    lambda = 0 gives the TD error, lambda = 1 the Monte Carlo return minus V(s_t).
    """
    _check(gamma, lam)
    shapes = {t.shape for t in (rewards, values, next_values, terminated, episode_end)}
    if len(shapes) != 1 or rewards.dim() != 2:
        raise ValueError(
            f"gae expects five (T, N) tensors of one shape, got {sorted(map(tuple, shapes))}"
        )
    dtype = rewards.dtype  # flags arrive as bool or float32; compute in the rewards' precision
    deltas = rewards + gamma * (1.0 - terminated.to(dtype)) * next_values - values
    decay = gamma * lam * (1.0 - episode_end.to(dtype))  # 0 where an episode ended
    advantages = torch.empty_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in reversed(range(len(rewards))):
        running = torch.addcmul(deltas[t], decay[t], running)
        advantages[t] = running
    return advantages


def importance_ratio(
    log_prob_target: torch.Tensor, log_prob_behaviour: torch.Tensor
) -> torch.Tensor:
    """rho = pi(a|s) / beta(a|s), computed from log-probabilities as exp(log pi - log beta).

    Under the behaviour policy beta, E_beta[rho f(a)] = E_pi[f(a)] for any f (chapter 08).
    """
    if log_prob_target.shape != log_prob_behaviour.shape:
        raise ValueError(
            "log-probability shapes differ: "
            f"{tuple(log_prob_target.shape)} vs {tuple(log_prob_behaviour.shape)}"
        )
    return torch.exp(log_prob_target - log_prob_behaviour)
