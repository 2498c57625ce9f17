"""What the benchmarks that compare against Stable-Baselines3 share: timing wrappers, an
evaluation callback that keeps evaluation out of the training clock, and medians."""

from __future__ import annotations

import time

import numpy as np
import torch

from f2p import rl


def timed(fn, totals: dict[str, float], key: str):
    """Wrap ``fn`` so that its run time is added to ``totals[key]``."""

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[key] += time.perf_counter() - start

    return wrapper


def learn_with_evaluation(
    model, steps: int, env_id: str, every: int, episodes: int, seed: int, offset: int = 0
):
    """Run ``model.learn(steps)``, evaluating its greedy policy with ``f2p.rl.evaluate`` (the same
    procedure as our trainers) whenever ``num_timesteps + offset`` reaches the next multiple of
    ``every``, and once at the end. Returns (steps, mean returns, training seconds at each
    evaluation, total training seconds), evaluation time excluded."""
    from stable_baselines3.common.callbacks import BaseCallback

    log = {"steps": [], "returns": [], "seconds": [], "eval": 0.0, "next": 0, "start": 0.0}

    def act(obs: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(model.predict(obs.cpu().numpy(), deterministic=True)[0])

    def evaluate_now(step: int) -> None:
        start = time.perf_counter()
        log["steps"].append(step)
        log["returns"].append(float(np.mean(rl.evaluate(act, env_id, episodes, seed + 10_000))))
        log["seconds"].append(start - log["start"] - log["eval"])
        log["eval"] += time.perf_counter() - start

    class Evaluation(BaseCallback):
        def _on_training_start(self) -> None:
            log["start"] = time.perf_counter()

        def _on_step(self) -> bool:
            if self.num_timesteps + offset >= log["next"]:
                evaluate_now(self.num_timesteps + offset)
                log["next"] += every
            return True

    model.learn(steps, callback=Evaluation())
    total = time.perf_counter() - log["start"] - log["eval"]
    evaluate_now(model.num_timesteps)
    log["seconds"][-1] = total
    return log["steps"], log["returns"], log["seconds"], total


def median(values) -> float | None:
    """The median of the values that are not None (None if there are none)."""
    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else None
