"""When do processes pay for RL data collection? gymnasium's SyncVectorEnv (environments stepped
in turn, in this process) against AsyncVectorEnv (one process per environment, stepped at once),
for the course's environments: environment steps per second with random actions, and the wall
time of a short A2C run (chapter 08's trainer) with each. ``f2p.rl.envs.make_vec_env``'s default
is set from these figures.

    python benchmarks/ch08_vector_envs.py
    python benchmarks/ch08_vector_envs.py --envs 8 16 32 --steps 5000 --a2c-steps 40000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import f2p
from f2p.rl import ActorCriticConfig, train_actor_critic
from f2p.rl.envs import VECTORIZATIONS, make_vec_env

RESULTS = f2p.results.RESULTS_DIR / "ch08_vector_envs.json"
ENVIRONMENTS = ("CartPole-v1", "Pendulum-v1")


def steps_per_second(env_id: str, num_envs: int, vectorization: str, steps: int) -> float:
    """Environment steps (summed over the copies) per second, random actions, after a reset."""
    envs = make_vec_env(env_id, num_envs, seed=0, vectorization=vectorization)
    try:
        envs.step(envs.action_space.sample())  # the first step starts the workers
        start = time.perf_counter()
        for _ in range(steps // num_envs):
            envs.step(envs.action_space.sample())
        return num_envs * (steps // num_envs) / (time.perf_counter() - start)
    finally:
        envs.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--envs", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--steps", type=int, default=20_000, help="environment steps per timing")
    parser.add_argument("--a2c-steps", type=int, default=20_000, help="A2C run length (0: skip)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    f2p.utils.set_threads(1)
    rows = []
    for env_id in ENVIRONMENTS:
        for n in args.envs:
            speed = {v: steps_per_second(env_id, n, v, args.steps) for v in VECTORIZATIONS}
            print(f"{env_id} x{n}: " + ", ".join(f"{v} {s:,.0f}/s" for v, s in speed.items()))
            rows += [
                {"quantity": f"{env_id}, {n} envs: {v} steps/s", "ours": round(s)}
                for v, s in speed.items()
            ]
            rows.append(
                {
                    "quantity": f"{env_id}, {n} envs: async / sync speed",
                    "ours": round(speed["async"] / speed["sync"], 3),
                }
            )
    if args.a2c_steps:
        for vectorization in VECTORIZATIONS:
            config = ActorCriticConfig(
                total_steps=args.a2c_steps, eval_every=args.a2c_steps, eval_episodes=1,
                vectorization=vectorization,
            )  # fmt: skip
            start = time.perf_counter()
            train_actor_critic(config, seed=0, progress=False)
            seconds = time.perf_counter() - start
            print(f"A2C CartPole-v1, {args.a2c_steps} steps, {vectorization}: {seconds:.1f} s")
            rows.append(
                {
                    "quantity": f"A2C CartPole-v1, 8 envs: {vectorization} seconds",
                    "ours": round(seconds, 2),
                }
            )
    f2p.results.write_benchmark(
        args.out,
        "08",
        "vectorised environments: one process (sync) against one process per environment "
        f"(async), random actions; A2C runs of {args.a2c_steps:,} steps",
        "ch08_vector_envs.py",
        rows,
        profile="fast",
        device="cpu, 1 torch thread",
    )


if __name__ == "__main__":
    main()
