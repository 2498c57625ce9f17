"""Chapter 08 benchmark: our A2C against Stable-Baselines3's A2C on CartPole-v1.

Same hyperparameters (RL Zoo's for A2C on CartPole-v1: 8 environments, 5 steps per update,
RMSprop 7e-4, gamma 0.99, lambda 1, no entropy bonus, value coefficient 0.5, gradient norm 0.5,
separate 64-64 tanh actor and critic), same seeds and step budget, one torch thread each, run
alternately in one process. Both are evaluated the same way (``f2p.rl.evaluate``: the greedy
policy, 10 episodes on a separate seeded environment, at the first update at or after every
10,000 steps: the same step counts on both sides) and evaluation time is excluded from the
training wall-clock.

Reported per seed and as medians: environment steps and training seconds until the return is
*sustained* >= 475 (the first evaluation after which every later one stays >= 475; a seed
that never sustains counts as "more than its budget": medians are censored, not taken over the
seeds that made it), the final return, steps per second, and the time split (environments /
network passes and updates / the rest). Needs the ``bench`` extra
(``pip install -e '.[bench]'``); writes ``src/f2p/data/results/ch08_a2c_vs_sb3.json``.

    python benchmarks/ch08_a2c_vs_sb3.py                  # 5 seeds, 500,000 steps each
    python benchmarks/ch08_a2c_vs_sb3.py --seeds 0 --steps 20000 --out smoke.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sb3_harness import (
    learn_with_evaluation,
    median,
    report,
    summarise,
    sustained_row,
    timed,
)

import f2p
from f2p import rl

RESULTS = f2p.results.RESULTS_DIR / "ch08_a2c_vs_sb3.json"
THRESHOLD = 475.0
SB3 = "Stable-Baselines3 A2C, same run"


def run_ours(seed: int, steps: int, eval_every: int, episodes: int) -> dict:
    config = rl.ActorCriticConfig(total_steps=steps, eval_every=eval_every, eval_episodes=episodes)
    _, h = rl.train_actor_critic(config, seed=seed, progress=False)
    return summarise(
        h.eval_steps, h.eval_returns, h.train_seconds, dict(h.seconds), steps, THRESHOLD
    )


def run_sb3(seed: int, steps: int, eval_every: int, episodes: int) -> dict:
    from stable_baselines3 import A2C
    from stable_baselines3.common.env_util import make_vec_env

    totals = {"env": 0.0, "network": 0.0}
    envs = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
    envs.step_wait = timed(envs.step_wait, totals, "env")
    model = A2C("MlpPolicy", envs, seed=seed, device="cpu", verbose=0)  # SB3 defaults = RL Zoo's
    model.policy.forward = timed(model.policy.forward, totals, "network")
    model.train = timed(model.train, totals, "network")
    eval_steps, returns, seconds_at, total = learn_with_evaluation(
        model, steps, "CartPole-v1", eval_every, episodes, seed
    )
    seconds = {**totals, "rest": total - totals["env"] - totals["network"]}
    return summarise(eval_steps, returns, seconds_at, seconds, steps, THRESHOLD)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=int, default=500_000)
    parser.add_argument("--eval-every", type=int, default=10_000)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    f2p.utils.set_threads(1)
    runs: dict[str, list[dict]] = {"ours": [], "sb3": []}
    for seed in args.seeds:
        for name, run in (("ours", run_ours), ("sb3", run_sb3)):  # alternate, same seed
            result = run(seed, args.steps, args.eval_every, args.eval_episodes)
            runs[name].append(result)
            report(f"seed {seed} {name:>4}", result)
    sustained = [
        sustained_row(
            f"median {what} to sustained return >= 475", key, runs["ours"], runs["sb3"], SB3
        )
        for what, key in (
            ("training seconds", "seconds_to_sustained"),
            ("environment steps", "steps_to_sustained"),
        )
    ]
    rows = list(sustained)
    for quantity, key in (
        ("median final evaluation return", "final_return"),
        ("median environment steps per second (training)", "steps_per_second"),
    ):
        ours, sb3 = (median(r[key] for r in runs[n]) for n in ("ours", "sb3"))
        rows.append(
            {"quantity": quantity, "ours": round(ours, 2), "reference": round(sb3, 2)}
            | {"reference_source": SB3}
        )
    for part in ("env", "network", "rest"):
        ours, sb3 = (median(r["split"][part] for r in runs[n]) for n in ("ours", "sb3"))
        rows.append(
            {
                "quantity": f"share of training time: {part}",
                "ours": round(ours, 3),
                "reference": round(sb3, 3),
                "reference_source": SB3,
            }
        )
    for name in ("ours", "sb3"):
        rows.append(
            {
                "quantity": f"seeds sustained >= 475 ({name}, of {len(args.seeds)})",
                "ours": sum(r["steps_to_sustained"] is not None for r in runs[name]),
            }
        )
    seconds = sustained[0]
    if "censored" not in seconds:  # a ratio of lower bounds would mean nothing
        ratio = seconds["ours"] / seconds["reference"]
        rows.append(
            {
                "quantity": "training wall-clock to sustained 475, ours / SB3",
                "ours": round(ratio, 3),
            }
        )
        print(
            f"median wall-clock to sustained 475: ours {seconds['ours']:.1f} s, "
            f"SB3 {seconds['reference']:.1f} s, ratio {ratio:.2f}"
        )
    f2p.results.write_benchmark(
        args.out,
        "08",
        f"A2C on CartPole-v1 vs Stable-Baselines3, {len(args.seeds)} seeds, {args.steps:,} steps",
        "ch08_a2c_vs_sb3.py",
        rows,
    )


if __name__ == "__main__":
    main()
