"""Chapter 09 benchmark: our DDPG against Stable-Baselines3's DDPG on Pendulum-v1.

Same hyperparameters (RL Zoo's for DDPG on Pendulum-v1: 20,000 steps, 10,000 uniformly random
warm-up steps, gamma 0.98, buffer 200,000, Gaussian noise 0.1, Adam 1e-3, [400, 300] ReLU
networks with the action at the critic's input, batch 256, tau 0.005, one update per step), same
seeds and budget, one torch thread each, alternating in one process; both evaluated by
``f2p.rl.evaluate`` (greedy policy, 10 episodes, every 1,000 steps), evaluation excluded from
the training wall-clock.

Reported per seed and as medians: steps and training seconds until the return is sustained
>= -200, final return, learning steps per second, and the cost of one gradient update beside its
floor: the bare forward and backward passes of the same networks on the same batch (no sampling,
optimiser or target updates). Needs the ``bench`` extra; writes
``src/f2p/data/results/ch09_ddpg_vs_sb3.json``.

    python benchmarks/ch09_ddpg_vs_sb3.py                 # 3 seeds
    python benchmarks/ch09_ddpg_vs_sb3.py --seeds 0 --steps 1500 --warmup 1000 --out smoke.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from sb3_harness import learn_with_evaluation, median, sustained_row, timed

import f2p
from f2p import rl
from f2p.rl import ddpg

RESULTS = f2p.results.RESULTS_DIR / "ch09_ddpg_vs_sb3.json"
THRESHOLD = -200.0
SB3 = "Stable-Baselines3 DDPG, same run"


def config(args) -> ddpg.DDPGConfig:
    return ddpg.DDPGConfig(
        total_steps=args.steps,
        learning_starts=args.warmup,
        eval_every=args.eval_every,
        eval_episodes=args.eval_episodes,
    )


def run_ours(seed: int, args) -> dict:
    _, h = ddpg.train_ddpg(config(args), seed=seed, progress=False)
    return summarise(h.eval_steps, h.eval_returns, h.train_seconds, h.seconds, args)


def run_sb3(seed: int, args) -> dict:
    import gymnasium as gym
    from stable_baselines3 import DDPG
    from stable_baselines3.common.noise import NormalActionNoise

    c = config(args)
    totals = {"env": 0.0, "network": 0.0}
    model = DDPG(
        "MlpPolicy",
        gym.make("Pendulum-v1"),
        learning_starts=c.learning_starts,
        gamma=c.gamma,
        buffer_size=c.buffer_size,
        learning_rate=c.actor_lr,
        batch_size=c.batch_size,
        tau=c.tau,
        action_noise=NormalActionNoise(np.zeros(1), c.noise_scale * np.ones(1)),
        policy_kwargs=dict(net_arch=list(c.hidden)),
        seed=seed,
        device="cpu",
        verbose=0,
    )
    model.env.step_wait = timed(model.env.step_wait, totals, "env")
    model.train = timed(model.train, totals, "network")
    eval_steps, returns, seconds_at, total = learn_with_evaluation(
        model, c.total_steps, "Pendulum-v1", c.eval_every, c.eval_episodes, seed
    )
    seconds = {**totals, "rest": total - totals["env"] - totals["network"]}
    return summarise(eval_steps, returns, seconds_at, seconds, args)


def summarise(steps, returns, train_seconds, seconds, args) -> dict:
    """Sustained-return point (and how many evaluations it rests on), final return,
    learning-phase speed and network share of a run."""
    i = rl.sustained_index(returns, THRESHOLD)
    total = train_seconds[-1]
    w = next(k for k, step in enumerate(steps) if step >= args.warmup)  # learning starts here
    return {
        "steps_to_sustained": steps[i] if i is not None else None,
        "seconds_to_sustained": train_seconds[i] if i is not None else None,
        "evaluations_sustained": len(returns) - i if i is not None else 0,  # as sb3_harness's
        "budget_steps": steps[-1],  # a seed that never sustains is censored at its last step
        "final_return": returns[-1],
        "learning_steps_per_second": (steps[-1] - steps[w]) / (total - train_seconds[w]),
        "train_seconds": total,
        "network_share": seconds["network"] / total,
    }


def update_cost(repeats: int = 200) -> dict[str, float]:
    """Milliseconds per gradient update: ours in full, and the floor of its forward/backward."""
    c = ddpg.DDPGConfig()
    import gymnasium as gym

    space = gym.spaces.Box(-2.0, 2.0, (1,))
    agent = ddpg.DDPG(3, space, c)
    updater = ddpg.DDPGUpdater(agent, c)
    buffer = rl.ReplayBuffer(10_000, 3, 1)
    n = 10_000
    buffer.add(
        torch.randn(n, 3), torch.rand(n, 1), torch.randn(n), torch.randn(n, 3), torch.zeros(n)
    )
    batch = buffer.sample(c.batch_size)

    def floor() -> None:
        ddpg.critic_loss(agent, batch, c.gamma).backward()
        ddpg.actor_loss(agent, batch[0]).backward(inputs=updater.actor_params)

    def full() -> None:  # exactly what training does per step, sampling included
        updater.step(buffer.sample(c.batch_size))

    out = {}
    for name, fn in (("floor", floor), ("full", full)):
        for _ in range(20):
            fn()
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        out[name] = 1000 * (time.perf_counter() - start) / repeats
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=10_000)
    parser.add_argument("--eval-every", type=int, default=1_000)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    f2p.utils.set_threads(1)
    cost = update_cost()
    print(f"one update: {cost['full']:.2f} ms; its forward/backward floor {cost['floor']:.2f} ms")
    runs: dict[str, list[dict]] = {"ours": [], "sb3": []}
    for seed in args.seeds:
        for name, run in (("ours", run_ours), ("sb3", run_sb3)):
            r = run(seed, args)
            runs[name].append(r)
            print(
                f"seed {seed} {name:>4}: sustained >= {THRESHOLD:.0f} from "
                f"{r['steps_to_sustained']} "
                f"steps / {r['seconds_to_sustained']} s, final {r['final_return']:.0f}, "
                f"{r['learning_steps_per_second']:.0f} learning steps/s, "
                f"network {100 * r['network_share']:.0f}%",
                flush=True,
            )
    rows = [
        sustained_row(quantity, key, runs["ours"], runs["sb3"], SB3)
        for quantity, key in (
            ("median training seconds to sustained return >= -200", "seconds_to_sustained"),
            ("median environment steps to sustained return >= -200", "steps_to_sustained"),
        )
    ]
    for quantity, key in (
        ("median final evaluation return", "final_return"),
        ("median learning steps per second", "learning_steps_per_second"),
        ("median share of training time in acting and updates", "network_share"),
    ):
        ours, sb3 = median(r[key] for r in runs["ours"]), median(r[key] for r in runs["sb3"])
        rows.append(
            {"quantity": quantity, "ours": round(ours, 3), "reference": round(sb3, 3)}
            | {"reference_source": SB3}
        )
    for name in ("ours", "sb3"):
        sustained = sum(r["steps_to_sustained"] is not None for r in runs[name])
        rows.append(
            {
                "quantity": f"seeds sustained >= -200 ({name}, of {len(args.seeds)})",
                "ours": sustained,
            }
        )
    rows.append({"quantity": "one gradient update, ours (ms)", "ours": round(cost["full"], 2)})
    rows.append({"quantity": "its forward/backward floor (ms)", "ours": round(cost["floor"], 2)})
    rows.append({"quantity": "update / floor", "ours": round(cost["full"] / cost["floor"], 3)})
    f2p.results.write_benchmark(
        args.out,
        "09",
        f"DDPG on Pendulum-v1 vs Stable-Baselines3, {len(args.seeds)} seeds, {args.steps:,} steps",
        "ch09_ddpg_vs_sb3.py",
        rows,
    )


if __name__ == "__main__":
    main()
