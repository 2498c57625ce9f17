"""Chapter 10 benchmark: does an unconstrained policy step ruin a policy? TRPO against a vanilla
policy gradient with two Adam step sizes on CartPole-v1, over seeds.

Every method shares TRPO's rollouts, GAE critic and networks (RL Zoo's CartPole settings,
``TRPOConfig.zoo``); only the policy update differs. Reported per method, over seeds: the final
greedy return, the largest fall of the greedy return below its best so far
(``f2p.rl.largest_fall``), how many seeds collapsed (ended below half of their best,
``f2p.rl.collapsed``), both without the step-0 evaluation of the untrained policy, and the share
of updates whose mean KL exceeded TRPO's delta = 0.01. Per seed: final return and largest fall
(the methods share their seeds, so the chapter compares them seed by seed with
``f2p.stats.paired``); for TRPO, the quartiles of the accepted updates' KL / delta and of the
full step's (before the line search shrinks it), and the share of full steps above delta. The
chapter's fast profile runs one seed and reads this file for the seeds. One torch thread;
writes ``src/f2p/data/results/ch10_step_size.json``.

    python benchmarks/ch10_step_size.py
    python benchmarks/ch10_step_size.py --seeds 0 --steps 2048 --eval-every 1024 --out s.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

import f2p
from f2p.rl.trpo import TRPOConfig, train_trpo

RESULTS = f2p.results.RESULTS_DIR / "ch10_step_size.json"
DELTA = 0.01
METHODS = {  # name -> TRPOConfig.zoo overrides
    "TRPO, delta = 0.01": {"max_kl": DELTA},
    "VPG, Adam 1e-2": {"update": "vpg", "policy_lr": 1e-2},
    "VPG, Adam 5e-2": {"update": "vpg", "policy_lr": 5e-2},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=int, default=40_000)
    parser.add_argument("--eval-every", type=int, default=4_000)
    parser.add_argument("--eval-episodes", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    f2p.utils.set_threads(1)
    rows = []
    jobs = [(name, seed) for name in METHODS for seed in args.seeds]
    runs: dict[str, list] = {}
    for name, seed in tqdm(jobs, desc="CartPole runs"):
        config = TRPOConfig.zoo(
            "CartPole-v1",
            total_steps=args.steps,
            eval_every=args.eval_every,
            eval_episodes=args.eval_episodes,
            **METHODS[name],
        )
        _, history, steps = train_trpo(config, seed, progress=False)
        runs.setdefault(name, []).append((history.eval_returns, history.eval_steps, steps))
    for name, results in runs.items():
        finals = [returns[-1] for returns, _, _ in results]
        falls = [f2p.rl.largest_fall(returns, at) for returns, at, _ in results]
        kls = np.concatenate([[s.kl for s in steps] for _, _, steps in results])
        figures = {
            "final return": finals,
            "largest fall": falls,
        }
        for metric, values in figures.items():
            rows.append({"quantity": f"{name}: {metric} (mean)", "ours": float(np.mean(values))})
            rows.append({"quantity": f"{name}: {metric} (std)", "ours": float(np.std(values))})
        for seed, final, fall in zip(args.seeds, finals, falls, strict=True):
            rows.append({"quantity": f"{name}: seed {seed}: final return", "ours": final})
            rows.append({"quantity": f"{name}: seed {seed}: largest fall", "ours": fall})
        if name.startswith("TRPO"):
            accepted = [s.kl / DELTA for _, _, steps in results for s in steps if s.accepted]
            for q in (25, 50, 75):
                rows.append(
                    {
                        "quantity": f"{name}: accepted updates' KL / delta, {q}th percentile",
                        "ours": float(np.percentile(accepted, q)),
                    }
                )
            full = [s.full_kl / DELTA for _, _, steps in results for s in steps]
            for q in (25, 50, 75):
                rows.append(
                    {
                        "quantity": f"{name}: full step's KL / delta, {q}th percentile",
                        "ours": float(np.percentile(full, q)),
                    }
                )
            rows.append(
                {
                    "quantity": f"{name}: full steps above delta",
                    "ours": float(np.mean(np.array(full) > 1)),
                }
            )
            rows.append(
                {
                    "quantity": f"{name}: accepted updates (of all, all seeds)",
                    "ours": len(accepted),
                    "reference": len(kls),
                }
            )
        collapsed = int(sum(f2p.rl.collapsed(returns, at) for returns, at, _ in results))
        rows.append({"quantity": f"{name}: seeds collapsed", "ours": collapsed})
        rows.append(
            {"quantity": f"{name}: updates with KL > {DELTA}", "ours": float(np.mean(kls > DELTA))}
        )
        print(
            f"{name}: final {np.mean(finals):.0f} ± {np.std(finals):.0f}, largest fall "
            f"{np.mean(falls):.0f}, collapsed {collapsed} of {len(results)}, "
            f"KL > {DELTA} in {np.mean(kls > DELTA):.0%} of updates"
        )
    rows.append({"quantity": "seeds", "ours": len(args.seeds)})
    rows.append({"quantity": "steps", "ours": args.steps})
    rows.append({"quantity": "eval every", "ours": args.eval_every})
    rows.append({"quantity": "eval episodes", "ours": args.eval_episodes})
    f2p.results.write_benchmark(
        args.out,
        "10",
        f"policy step size on CartPole-v1, {len(args.seeds)} seeds, {args.steps:,} steps: "
        "TRPO against a vanilla policy gradient",
        "ch10_step_size.py",
        rows,
    )


if __name__ == "__main__":
    main()
