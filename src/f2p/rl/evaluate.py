"""Evaluation of a policy on a separate, seeded environment (chapters 08-10)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from f2p.rl.envs import clip_action, make_env


@torch.no_grad()
def evaluate(
    act: Callable[[torch.Tensor], torch.Tensor],
    env_id: str,
    episodes: int,
    seed: int,
    device: torch.device | str = "cpu",
) -> list[float]:
    """Undiscounted return of each of ``episodes`` episodes, acting with ``act(obs) -> action``.

    ``act`` should be the deterministic version of the policy (argmax or mean): the chapters
    evaluate greedily, so that an evaluation measures what the policy has learned rather than its
    exploration noise (the stochastic policy's own returns are its training episodes). The
    environment is its own, seeded with ``seed`` once, so an evaluation never disturbs training.
    Box actions are clipped to the action space's bounds, as in training.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be at least 1, got {episodes}")
    env = make_env(env_id, seed)
    returns = []
    obs, _ = env.reset(seed=seed)
    for _ in range(episodes):
        total, done = 0.0, False
        while not done:
            action = act(torch.as_tensor(obs, dtype=torch.float32, device=device)[None])[0]
            action = clip_action(env.action_space, action.cpu().numpy())
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
        obs, _ = env.reset()
    env.close()
    return returns


def sustained_index(returns: list[float], threshold: float) -> int | None:
    """Index of the first evaluation after which every evaluation is >= threshold (else None).

    A first hit alone can be luck (on CartPole an untrained deterministic policy sometimes scores
    500); "sustained" asks for the rest of the run to stay above the threshold.
    """
    above = np.asarray(returns) >= threshold
    for i in range(len(above)):
        if above[i:].all():
            return i
    return None


def _recorded(returns: list[float], steps: list[int] | None = None) -> np.ndarray:
    """A learning curve without its NaN entries (intervals in which no episode ended) and, when
    ``steps`` is given, without the evaluations at step 0 (the untrained policy)."""
    values = np.asarray(returns if steps is None else after_start(returns, steps), dtype=float)
    return values[~np.isnan(values)]


def after_start(returns: list[float], steps: list[int]) -> list[float]:
    """The evaluations after step 0: a run's "best" should not be the untrained policy's score
    (an untrained greedy CartPole policy sometimes scores 500)."""
    if len(steps) != len(returns):
        raise ValueError(f"{len(steps)} steps for {len(returns)} returns")
    return [r for r, s in zip(returns, steps, strict=True) if s > 0]


def largest_fall(returns: list[float], steps: list[int] | None = None) -> float:
    """The largest drop of a learning curve below its best value so far,
    max_t (max_{s<=t} R_s - R_t); NaN entries are skipped. Pass the evaluation ``steps`` to leave
    out the step-0 evaluation (the untrained policy), so that a fall is a fall from something the
    run learned."""
    values = _recorded(returns, steps)
    return float(np.max(np.maximum.accumulate(values) - values)) if len(values) else 0.0


def collapsed(returns: list[float], steps: list[int] | None = None) -> bool:
    """Whether a run ended below half of its best return (for returns that are positive, such
    as CartPole's): it reached something and lost most of it. ``steps`` as in
    :func:`largest_fall`: given, the untrained step-0 evaluation does not count as a best."""
    values = _recorded(returns, steps)
    return bool(len(values)) and values[-1] < values.max() / 2


class EvaluationClock:
    """Evaluate every ``every`` environment steps, keeping evaluation out of the training clock.

    Writes into ``history`` (an :class:`f2p.rl.rollout.RunHistory`): the steps, mean returns,
    and the training seconds elapsed at each evaluation.
    """

    def __init__(self, env_id: str, every: int, episodes: int, seed: int, device, history) -> None:
        self.env_id, self.every, self.episodes = env_id, every, episodes
        self.seed, self.device, self.history = seed + 10_000, device, history
        self.start, self.eval_seconds, self.next = time.perf_counter(), 0.0, 0

    def training_seconds(self) -> float:
        return time.perf_counter() - self.start - self.eval_seconds

    def maybe_evaluate(self, steps: int, act: Callable[[torch.Tensor], torch.Tensor]) -> bool:
        """Evaluate ``act`` if ``steps`` reached the next evaluation point; say whether it did."""
        if not self.every or steps < self.next:
            return False
        self.next += self.every
        self._evaluate(steps, act)
        return True

    def finish(self, steps: int, act: Callable[[torch.Tensor], torch.Tensor]) -> float:
        """The last evaluation (if evaluating at all); returns the total training seconds."""
        total = self.training_seconds()
        if self.every:
            self._evaluate(steps, act, total)
        return total

    def _evaluate(self, steps: int, act, seconds: float | None = None) -> None:
        tick = time.perf_counter()
        h = self.history
        h.train_seconds.append(self.training_seconds() if seconds is None else seconds)
        h.eval_steps.append(steps)
        h.eval_returns.append(
            float(np.mean(evaluate(act, self.env_id, self.episodes, self.seed, self.device)))
        )
        self.eval_seconds += time.perf_counter() - tick
