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


def summarise(steps, returns, train_seconds, seconds, budget: int, threshold: float) -> dict:
    """One run's figures: steps and training seconds until the evaluation return is sustained at
    ``threshold`` (None if never), final return, steps per second, and the time split."""
    i = rl.sustained_index(returns, threshold)
    total = train_seconds[-1]
    return {
        "steps_to_sustained": steps[i] if i is not None else None,
        "seconds_to_sustained": train_seconds[i] if i is not None else None,
        "final_return": returns[-1],
        "steps_per_second": budget / total,
        "train_seconds": total,
        "split": {k: v / total for k, v in seconds.items()},
    }


def report(label: str, result: dict) -> None:
    """Print one run's :func:`summarise` figures on a line."""
    split = ", ".join(f"{k} {100 * v:.0f}%" for k, v in result["split"].items())
    seconds = result["seconds_to_sustained"]
    print(
        f"{label}: sustained from {result['steps_to_sustained']} steps / "
        f"{'-' if seconds is None else f'{seconds:.1f}'} s, "
        f"final {result['final_return']:.0f}, "
        f"{result['steps_per_second']:,.0f} steps/s ({split})",
        flush=True,
    )
