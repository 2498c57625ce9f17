"""What the benchmarks that compare against Stable-Baselines3 share: timing wrappers, an
evaluation callback that keeps evaluation out of the training clock and evaluates at the same
step counts as our trainers, and medians that count runs which never reached the target as
censored rather than dropping them."""

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


def learn_with_evaluation(model, steps: int, env_id: str, every: int, episodes: int, seed: int):
    """Run ``model.learn(steps)``, evaluating its greedy policy with ``f2p.rl.evaluate`` (the same
    procedure as our trainers) at the start of the first rollout at or after each multiple of
    ``every`` environment steps, and once at the end. At a rollout's start the policy is the one
    trained on exactly ``num_timesteps`` steps, which is where our trainers evaluate too (they
    check at update boundaries), so both sides are evaluated at the same step counts. Returns
    (steps, mean returns, training seconds at each evaluation, total training seconds),
    evaluation time excluded."""
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

        def _on_rollout_start(self) -> None:
            if self.num_timesteps >= log["next"]:
                evaluate_now(self.num_timesteps)
                log["next"] += every

        def _on_step(self) -> bool:
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


def censored_middle(values, bounds) -> list[int]:
    """The indices of the run(s) at the median (one for an odd count, two for an even one), with
    the runs ordered as :func:`censored_median` orders them: ``None`` (never got there) after
    every value that was reached, ties among them broken by ``bounds``."""
    values, bounds = list(values), list(bounds)
    if not values or len(values) != len(bounds):
        raise ValueError(
            f"need one bound per value, got {len(values)} values, {len(bounds)} bounds"
        )
    order = sorted(
        range(len(values)), key=lambda i: (values[i] is None, values[i] or 0.0, bounds[i])
    )
    n = len(order)
    return order[(n - 1) // 2 : n // 2 + 1]


def censored_median(values, bounds) -> tuple[float, bool]:
    """The median over runs where ``None`` marks a run that never got there within its budget
    (right-censored: its value is above its ``bound``, e.g. the budget). Such runs count as
    larger than every value that was reached, so a seed that never sustains is not dropped.
    Returns (median, censored): when a censored run lies at the median, the figure is a lower
    bound, computed with the censored runs at their bounds."""
    values, bounds = list(values), list(bounds)
    middle = censored_middle(values, bounds)
    censored = any(values[i] is None for i in middle)
    figure = float(np.mean([bounds[i] if values[i] is None else values[i] for i in middle]))
    return figure, censored


def sustained_row(
    quantity: str, key: str, ours: list[dict], reference: list[dict], source: str
) -> dict:
    """A results row for ``key`` ("steps_to_sustained" or "seconds_to_sustained"): the censored
    medians of our runs and the reference's, each run censored at its whole budget. When a run at
    a median sustained only from its final evaluation (one evaluation behind the figure, which
    is then that run's whole budget), the quantity says so and names the side."""
    bound = {"steps_to_sustained": "budget_steps", "seconds_to_sustained": "train_seconds"}[key]
    (mine, mine_cut), (theirs, theirs_cut) = (
        censored_median([r[key] for r in runs], [r[bound] for r in runs])
        for runs in (ours, reference)
    )
    one_hit = [
        name
        for name, runs in (("ours", ours), ("reference", reference))
        if any(
            runs[i]["evaluations_sustained"] == 1
            for i in censored_middle([r[key] for r in runs], [r[bound] for r in runs])
        )
    ]
    if one_hit:
        quantity += (
            f" (the median rests on a seed sustained only at its final evaluation: "
            f"{' and '.join(one_hit)})"
        )
    row = {
        "quantity": quantity,
        "ours": round(mine, 2),
        "reference": round(theirs, 2),
        "reference_source": source,
    }
    censored = [name for name, cut in (("ours", mine_cut), ("reference", theirs_cut)) if cut]
    if censored:
        row["censored"] = censored
    return row


def summarise(steps, returns, train_seconds, seconds, budget: int, threshold: float) -> dict:
    """One run's figures: steps and training seconds until the evaluation return is sustained at
    ``threshold`` (None if never), how many evaluations that rests on (from the first sustained
    one to the last; 1: the final evaluation alone, 0: never), final return, steps per second,
    and the time split."""
    i = rl.sustained_index(returns, threshold)
    total = train_seconds[-1]
    return {
        "steps_to_sustained": steps[i] if i is not None else None,
        "seconds_to_sustained": train_seconds[i] if i is not None else None,
        "evaluations_sustained": len(returns) - i if i is not None else 0,
        "budget_steps": steps[-1],  # a seed that never sustains is censored at its last step
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
        f"{'-' if seconds is None else f'{seconds:.1f}'} s "
        f"({result['evaluations_sustained']} evaluations), "
        f"final {result['final_return']:.0f}, "
        f"{result['steps_per_second']:,.0f} steps/s ({split})",
        flush=True,
    )
