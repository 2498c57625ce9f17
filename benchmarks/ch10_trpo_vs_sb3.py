"""Chapter 10 benchmark: our TRPO against sb3-contrib's TRPO on CartPole-v1 and Pendulum-v1.

Same hyperparameters (RL Zoo's for TRPO, ``TRPOConfig.zoo``: 2 environments, 100,000 steps;
CartPole 512 steps per update, damping 1e-3, lambda 0.98, 20 critic epochs of batch 512; Pendulum
1,024 steps per update, gamma 0.9, 15 critic epochs of batch 128; otherwise sb3-contrib's
defaults: delta 0.01, 15 CG iterations, damping 0.1, backtracking by 0.8 up to 10 times, Adam 1e-3
for the critic (its epsilon is PyTorch's 1e-8 for us, 1e-5 in sb3), separate 64-64 tanh
networks, Fisher-vector products on the whole batch), same seeds and budget, one torch thread
each, run alternately in one process. RL Zoo also turns on gSDE exploration for Pendulum;
sb3-contrib runs with it ("sb3", the reference settings) and, as a like-for-like check, without
it ("sb3 plain", the plain Gaussian policy that we and the paper use). All are evaluated by
``f2p.rl.evaluate`` (greedy policy, 10 episodes, at the first update at or after every 5,000
steps: the same step counts on both sides), evaluation excluded from the training clock.

Reported per seed and as medians: steps and training seconds until the return is sustained at
the threshold (475 / -200: every later evaluation stays there; a seed that never sustains counts
as "more than its budget": medians are censored, not taken over the seeds that made it), final
return, steps per second, and the time split (environments / network: rollout passes,
gradients, conjugate gradient and the critic / the rest). Per seed, the number of evaluations
the sustained figure rests on: 1 means only the final evaluation passed, so that seed's "time to
sustained" is its whole budget and rests on one hit; a median that lands on such a seed says so.
Needs the ``bench`` extra; writes ``src/f2p/data/results/ch10_trpo_vs_sb3.json``.

    python benchmarks/ch10_trpo_vs_sb3.py                 # 3 seeds, both environments
    python benchmarks/ch10_trpo_vs_sb3.py --seeds 0 --steps 4000 --eval-every 2000 --out s.json
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
from f2p.rl.trpo import TRPOConfig, train_trpo

RESULTS = f2p.results.RESULTS_DIR / "ch10_trpo_vs_sb3.json"
THRESHOLDS = {"CartPole-v1": 475.0, "Pendulum-v1": -200.0}
RUNNERS = {"CartPole-v1": ("ours", "sb3"), "Pendulum-v1": ("ours", "sb3", "sb3 plain")}
SOURCE = {
    "sb3": "sb3-contrib TRPO, RL Zoo settings, same run",
    "sb3 plain": "sb3-contrib TRPO without gSDE, same run",
}


def config(env_id: str, args) -> TRPOConfig:
    return TRPOConfig.zoo(
        env_id,
        total_steps=args.steps,
        eval_every=args.eval_every,
        eval_episodes=args.eval_episodes,
    )


def run_ours(env_id: str, seed: int, args) -> dict:
    _, h, _ = train_trpo(config(env_id, args), seed=seed, progress=False)
    return summarise(
        h.eval_steps, h.eval_returns, h.train_seconds, h.seconds, args.steps, THRESHOLDS[env_id]
    )


def run_sb3(env_id: str, seed: int, args, gsde: bool) -> dict:
    from sb3_contrib import TRPO
    from stable_baselines3.common.env_util import make_vec_env

    c = config(env_id, args)
    totals = {"env": 0.0, "network": 0.0}
    envs = make_vec_env(env_id, n_envs=c.num_envs, seed=seed)
    envs.step_wait = timed(envs.step_wait, totals, "env")
    model = TRPO(
        "MlpPolicy",
        envs,
        n_steps=c.n_steps,
        batch_size=c.critic_batch,
        gamma=c.gamma,
        gae_lambda=c.gae_lambda,
        cg_damping=c.damping,
        cg_max_steps=c.cg_iterations,
        n_critic_updates=c.critic_epochs,
        learning_rate=c.critic_lr,
        target_kl=c.max_kl,
        use_sde=gsde,
        sde_sample_freq=4 if gsde else -1,
        seed=seed,
        device="cpu",
        verbose=0,
    )
    model.policy.forward = timed(model.policy.forward, totals, "network")
    model.train = timed(model.train, totals, "network")
    eval_steps, returns, seconds_at, total = learn_with_evaluation(
        model, c.total_steps, env_id, c.eval_every, c.eval_episodes, seed
    )
    seconds = {**totals, "rest": total - totals["env"] - totals["network"]}
    return summarise(eval_steps, returns, seconds_at, seconds, args.steps, THRESHOLDS[env_id])


def run(name: str, env_id: str, seed: int, args) -> dict:
    if name == "ours":
        return run_ours(env_id, seed, args)
    return run_sb3(env_id, seed, args, gsde=name == "sb3" and env_id == "Pendulum-v1")


def rows_for(env_id: str, runs: dict[str, list[dict]], seeds: list[int]) -> list[dict]:
    """Medians of ours against each sb3-contrib variant, one results row per quantity, and per
    seed how many evaluations its "sustained" figure rests on."""
    threshold = f"{THRESHOLDS[env_id]:.0f}"
    sustained = {
        "seconds_to_sustained": f"median training seconds to sustained return >= {threshold}",
        "steps_to_sustained": f"median environment steps to sustained return >= {threshold}",
    }
    quantities = {
        "final_return": "median final evaluation return",
        "steps_per_second": "median environment steps per second (training)",
        "train_seconds": "median training seconds for the whole budget",
    }
    rows = []
    for reference in (n for n in runs if n != "ours"):
        for key, text in sustained.items():
            rows.append(
                sustained_row(
                    f"{env_id}: {text}", key, runs["ours"], runs[reference], SOURCE[reference]
                )
            )
        for key, text in quantities.items():
            ours, ref = (median(r[key] for r in runs[n]) for n in ("ours", reference))
            rows.append(
                {
                    "quantity": f"{env_id}: {text}",
                    "ours": round(ours, 2),
                    "reference": round(ref, 2),
                    "reference_source": SOURCE[reference],
                }
            )
        for part in ("env", "network", "rest"):
            ours, ref = (median(r["split"][part] for r in runs[n]) for n in ("ours", reference))
            rows.append(
                {
                    "quantity": f"{env_id}: share of training time: {part}",
                    "ours": round(ours, 3),
                    "reference": round(ref, 3),
                    "reference_source": SOURCE[reference],
                }
            )
    for name, results in runs.items():
        rows.append(
            {
                "quantity": f"{env_id}: seeds sustained >= {threshold} ({name}, of {len(seeds)})",
                "ours": sum(r["steps_to_sustained"] is not None for r in results),
            }
        )
        rows.append(
            {
                "quantity": f"{env_id}: of those, sustained only at the final evaluation "
                f"(one hit, which can be luck; {name})",
                "ours": sum(r["evaluations_sustained"] == 1 for r in results),
            }
        )
        for seed, r in zip(seeds, results, strict=True):
            rows.append(
                {
                    "quantity": f"{env_id}: seed {seed} ({name}): evaluations >= {threshold} "
                    "from the sustained one to the end (0: never sustained)",
                    "ours": r["evaluations_sustained"],
                }
            )
    ours, ref = (median(r["train_seconds"] for r in runs[n]) for n in ("ours", "sb3"))
    rows.append(
        {
            "quantity": f"{env_id}: training wall-clock, ours / sb3-contrib",
            "ours": round(ours / ref, 3),
        }
    )
    print(
        f"{env_id}: median training wall-clock ours {ours:.1f} s, sb3-contrib {ref:.1f} s, "
        f"ratio {ours / ref:.2f}"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--envs", nargs="+", default=list(THRESHOLDS), choices=list(THRESHOLDS))
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--eval-every", type=int, default=5_000)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    f2p.utils.set_threads(1)
    rows = []
    for env_id in args.envs:
        runs: dict[str, list[dict]] = {name: [] for name in RUNNERS[env_id]}
        for seed in args.seeds:
            for name in runs:  # alternate, same seed
                result = run(name, env_id, seed, args)
                runs[name].append(result)
                report(f"{env_id} seed {seed} {name:>9}", result)
        rows += rows_for(env_id, runs, args.seeds)
    f2p.results.write_benchmark(
        args.out,
        "10",
        f"TRPO vs sb3-contrib on {', '.join(args.envs)}, "
        f"{len(args.seeds)} seeds, {args.steps:,} steps",
        "ch10_trpo_vs_sb3.py",
        rows,
    )


if __name__ == "__main__":
    main()
