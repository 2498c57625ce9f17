"""Evaluation of a policy on a separate, seeded environment (chapters 08-10)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from f2p.rl.envs import make_env


@torch.no_grad()
def evaluate(
    act: Callable[[torch.Tensor], torch.Tensor],
    env_id: str,
    episodes: int,
    seed: int,
    device: torch.device | str = "cpu",
) -> list[float]:
    """Undiscounted return of each of ``episodes`` episodes, acting with ``act(obs) -> action``.

    ``act`` should be the deterministic version of the policy (argmax or mean). The environment is
    its own, seeded with ``seed`` once, so an evaluation never disturbs training.
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
            obs, reward, terminated, truncated, _ = env.step(action.cpu().numpy())
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
