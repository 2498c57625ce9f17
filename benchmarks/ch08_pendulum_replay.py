"""Chapter 08's deterministic actor-critic on Pendulum-v1: online updates against a replay buffer
with the number of updates matched, over seeds.

The chapter's first comparison ran online learning from 16 environments (938 updates of 16 fresh
transitions) against replay from one environment (14,000 updates of 128 replayed transitions):
two factors at once. Here the pairs hold the number of updates about fixed:

- 16 environments: online (16 fresh transitions an update) against replay (128 replayed), both
  about 900 updates: the source of the data and the minibatch size differ;
- the control for the minibatch: replay with minibatches of 16, as many as online's;
- 1 environment: online (updates of the 1 fresh transition) against replay (128 replayed
  transitions), both about 15,000 updates: again source and minibatch size;
- the control: replay with minibatches of 1;
- 1 environment, replay from the whole buffer against replay from only the last 200 transitions
  (one episode: consecutive, correlated states), same minibatch size, 14,001 against 14,801
  updates (the short buffer starts learning after 200 steps instead of 1,000).

``--only NAME ...`` runs the named variants alone and replaces their rows in the results file,
keeping the others. ``--untrained`` only evaluates the untrained policy of each seed (the step-0
evaluation of every variant: the actor is drawn from the seed before any variant differs) and
replaces the rows ``untrained policy (step 0): ...`` of the file, keeping the others: the
chapter compares each variant's final evaluation with it.

Each run is scored by its greedy evaluations (every ``--steps / 10`` steps, the untrained policy
at step 0 left out of "best"), and each final actor by the share of states of its evaluation
episodes at which its torque is within 5% of a bound (|a| >= 1.9).

    python benchmarks/ch08_pendulum_replay.py                    # 5 seeds, 15,000 steps
    python benchmarks/ch08_pendulum_replay.py --seeds 0 1 2 --steps 15000
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

import f2p
from f2p.rl import DeterministicConfig, largest_fall, make_env, train_deterministic_ac

RESULTS = f2p.results.RESULTS_DIR / "ch08_pendulum_replay.json"
SOLVED = -200  # a Pendulum return of -200 or more: swung up and held


def variants(steps: int) -> dict[str, DeterministicConfig]:
    """The five runs, named as the chapter names them."""
    common = dict(total_steps=steps, eval_every=steps // 10, eval_episodes=3)
    return {
        "online, 16 envs": DeterministicConfig(num_envs=16, **common),
        "replay, 16 envs": DeterministicConfig(num_envs=16, replay_size=20_000, **common),
        "replay, 16 envs, minibatch 16": DeterministicConfig(
            num_envs=16, replay_size=20_000, batch_size=16, **common
        ),
        "online, 1 env": DeterministicConfig(num_envs=1, **common),
        "replay, 1 env": DeterministicConfig(num_envs=1, replay_size=20_000, **common),
        "replay, 1 env, minibatch 1": DeterministicConfig(
            num_envs=1, replay_size=20_000, batch_size=1, **common
        ),
        "replay, 1 env, last 200 only": DeterministicConfig(
            num_envs=1, replay_size=200, learning_starts=200, **common
        ),
    }


UNTRAINED = "untrained policy (step 0)"


def untrained_rows(seeds: list[int], steps: int) -> list[dict]:
    """Each seed's step-0 evaluation (the same in every variant: same seed, same actor, same
    evaluation environment), from a run of one step."""
    config = DeterministicConfig(num_envs=1, total_steps=1, eval_every=steps // 10, eval_episodes=3)
    start = [
        train_deterministic_ac(config, seed=s, progress=False)[1].eval_returns[0] for s in seeds
    ]
    print(f"{UNTRAINED}: {np.round(start, 1).tolist()}")
    figures = {
        "evaluation, mean over seeds": np.mean(start),
        "evaluation, std over seeds": np.std(start),
        "seeds": len(seeds),
        **{f"evaluation, seed {s}": r for s, r in zip(seeds, start, strict=True)},
    }
    return [
        {"quantity": f"{UNTRAINED}: {what}", "ours": round(float(value), 3)}
        for what, value in figures.items()
    ]


def updates(config: DeterministicConfig) -> int:
    """Gradient updates of a run: one per vector step, after ``learning_starts`` when replaying."""
    vector_steps = -(-config.total_steps // config.num_envs)
    if not config.replay_size:
        return vector_steps
    return vector_steps - -(-config.learning_starts // config.num_envs) + 1


def saturation(
    actor: torch.nn.Module, env_id: str, seed: int, episodes: int = 3
) -> tuple[float, float]:
    """Over the states of ``episodes`` greedy episodes, the share at which the torque is within 5%
    of a bound (|a| >= 0.95 a_max), and the share at the bound used more often (a single-bound
    policy has the two equal)."""
    env, near = make_env(env_id, seed), []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        done = False
        while not done:
            with torch.no_grad():
                action = actor(torch.as_tensor(obs, dtype=torch.float32)[None])[0].numpy()
            near.append(np.sign(action[0]) * (abs(action[0]) >= 0.95 * env.action_space.high[0]))
            obs, _, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
    env.close()
    near = np.asarray(near)
    return float(np.mean(near != 0)), float(max(np.mean(near > 0), np.mean(near < 0)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=int, default=15_000, help="environment steps per run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--only", nargs="+", help="run these variants, keep the file's others")
    parser.add_argument(
        "--untrained", action="store_true", help="only the step-0 rows, keep the file's others"
    )
    args = parser.parse_args()
    f2p.utils.set_threads(1)
    runs = variants(args.steps)
    unknown = set(args.only or ()) - set(runs)
    if unknown:
        raise SystemExit(f"unknown variants {sorted(unknown)}; known: {list(runs)}")
    kept = {}
    if args.untrained:
        args.only = []
    if args.only is not None:  # the file's rows of the other variants, by variant
        for row in json.loads(args.out.read_text())["rows"]:
            kept.setdefault(row["quantity"].split(": ")[0], []).append(row)
    rows = []
    start = time.perf_counter()
    for name, config in runs.items():
        if args.only is not None and name not in args.only:
            rows += kept.get(name, [])
            continue
        best, final, falls, saturated, one_bound, reached = [], [], [], [], [], 0
        for seed in args.seeds:
            actor, history = train_deterministic_ac(config, seed=seed, progress=False)
            returns = history.eval_returns
            best.append(max(returns[1:]))  # step 0 is the untrained policy
            final.append(returns[-1])
            falls.append(largest_fall(returns[1:]))
            at_bound = saturation(actor, config.env_id, 20_000 + seed)
            saturated.append(at_bound[0])
            one_bound.append(at_bound[1])
            reached += best[-1] >= SOLVED
        n = len(args.seeds)
        print(
            f"{name:>30}: {updates(config):,} updates; best {np.mean(best):.0f}, final "
            f"{np.mean(final):.0f} +- {np.std(final):.0f} (std), reached {SOLVED} {reached}/{n}, "
            f"final >= {SOLVED} {sum(f >= SOLVED for f in final)}/{n}, largest fall "
            f"{np.mean(falls):.0f}, at a bound {np.mean(saturated):.0%} "
            f"(at the more used one {np.mean(one_bound):.0%}) "
            f"({time.perf_counter() - start:.0f} s so far)"
        )
        figures = {
            "updates": updates(config),
            "transitions per update": config.batch_size if config.replay_size else config.num_envs,
            "best evaluation after step 0, mean over seeds": np.mean(best),
            "final evaluation, mean over seeds": np.mean(final),
            "final evaluation, std over seeds": np.std(final),
            "final evaluation, lowest seed": np.min(final),
            "final evaluation, highest seed": np.max(final),
            f"seeds reaching {SOLVED} at some evaluation": reached,
            f"seeds with final evaluation >= {SOLVED}": sum(f >= SOLVED for f in final),
            "largest fall below the best so far, mean over seeds": np.mean(falls),
            "share of states at a torque bound, mean over seeds": np.mean(saturated),
            "share of states at a torque bound, lowest seed": np.min(saturated),
            "share of states at a torque bound, highest seed": np.max(saturated),
            "share of states at the more used bound, mean over seeds": np.mean(one_bound),
            "seeds": n,
        }
        rows += [
            {"quantity": f"{name}: {what}", "ours": round(float(value), 3)}
            for what, value in figures.items()
        ]
    rows += untrained_rows(args.seeds, args.steps)
    f2p.results.write_benchmark(
        args.out,
        "08",
        f"deterministic actor-critic on Pendulum-v1, online against replay at matched updates: "
        f"{len(args.seeds)} seeds, {args.steps:,} steps a run",
        "ch08_pendulum_replay.py",
        rows,
        profile="fast",
        device="cpu, 1 torch thread",
    )


if __name__ == "__main__":
    main()
