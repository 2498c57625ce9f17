"""Chapter 08: QAC on CartPole-v1 with and without a baseline in the actor's weight, over seeds.

QAC weights the score by Psi = Q_w(s_t, a_t); with ``baseline=True`` by
Psi = Q_w(s_t, a_t) - sum_a pi(a|s_t) Q_w(s_t, a), the critic's own advantage. Everything else is
the chapter's CartPole setting (RL Zoo's A2C settings, the ``fast`` budget of 40,000 steps,
evaluations every 4,000 steps of 3 greedy episodes). Both forms run on the same seeds, so the
file keeps each seed's final evaluation and the paired difference (``f2p.stats.paired``: mean and
std, ddof = 1, of with-baseline minus without, per seed); the chapter reads it with the paired
rule (|mean difference| > its std).

    python benchmarks/ch08_qac_baseline.py                 # 10 seeds
    python benchmarks/ch08_qac_baseline.py --seeds 0 1 2 --steps 40000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import f2p
from f2p import rl

RESULTS = f2p.results.RESULTS_DIR / "ch08_qac_baseline.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--steps", type=int, default=40_000, help="environment steps per run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    f2p.utils.set_threads(1)
    rows, start, finals = [], time.perf_counter(), {}
    for name, baseline in (("QAC", False), ("QAC with baseline", True)):
        config = rl.ActorCriticConfig(
            critic="action",
            baseline=baseline,
            total_steps=args.steps,
            eval_every=args.steps // 10,
            eval_episodes=3,
        )
        final = []
        for seed in args.seeds:
            _, history = rl.train_actor_critic(config, seed=seed, progress=False)
            final.append(history.eval_returns[-1])
        finals[name] = final
        print(
            f"{name:>18}: final {np.mean(final):.1f} +- {np.std(final, ddof=1):.1f} "
            f"(std, ddof=1) over {len(final)} seeds: {np.round(final, 1).tolist()} "
            f"({time.perf_counter() - start:.0f} s so far)"
        )
        figures = {
            "final evaluation, mean over seeds": np.mean(final),
            "final evaluation, std over seeds (ddof=1)": np.std(final, ddof=1),
            "final evaluation, lowest seed": np.min(final),
            "final evaluation, highest seed": np.max(final),
            "seeds": len(final),
            **{f"final evaluation, seed {s}": f for s, f in zip(args.seeds, final, strict=True)},
        }
        rows += [
            {"quantity": f"{name}: {what}", "ours": round(float(value), 3)}
            for what, value in figures.items()
        ]
    diff = f2p.stats.paired(finals["QAC with baseline"], finals["QAC"])
    print(f"paired, with minus without: {diff}")
    rows += [
        {"quantity": f"with minus without baseline, same seed: {what}", "ours": round(value, 3)}
        for what, value in (
            ("mean difference", diff.mean),
            ("std of the differences (ddof=1)", diff.std),
            ("seeds with baseline higher", diff.above),
            ("seeds with baseline lower", diff.below),
        )
    ]
    f2p.results.write_benchmark(
        args.out,
        "08",
        f"QAC on CartPole-v1 with and without a baseline: {len(args.seeds)} seeds, "
        f"{args.steps:,} steps a run",
        "ch08_qac_baseline.py",
        rows,
        profile="fast",
        device="cpu, 1 torch thread",
    )


if __name__ == "__main__":
    main()
