"""Chapter 10 benchmark: are 15 conjugate-gradient iterations enough on the policy TRPO trains?

The chapter's demonstration of CG uses a small policy (one hidden layer of 8 units). Here the
policy is the chapter's own: RL Zoo's CartPole-v1 settings (``TRPOConfig.zoo``, 64-64 tanh,
damping xi = 1e-3, 2 x 512 steps per update), untrained and after ``--steps`` of TRPO. On one
fresh batch of 1,024 steps from that policy, its Fisher matrix F is built explicitly (one
Fisher-vector product per column, float32 products, float64 algebra), and CG is run on
(F + xi I) x = g with g TRPO's own policy gradient (the surrogate's gradient, normalised GAE
advantages). Reported per seed and policy: the number of eigenvalues of F above xi; the
relative error |x_k - x*| / |x*| after k iterations; the share of the best first-order
improvement in the trust region that the step along x_k reaches,
g.x_k / sqrt(x_k' M x_k) / sqrt(g' M^-1 g) (1: the exact natural gradient); and, for the
full steps alpha x_15 and alpha x* scaled to the boundary as TRPO scales them, the mean KL
actually measured (over delta = 0.01) and the surrogate improvement. One torch thread; writes
``src/f2p/data/results/ch10_cg_trained.json``.

    python benchmarks/ch10_cg_trained.py
    python benchmarks/ch10_cg_trained.py --seeds 0 --steps 2048 --hidden 8 --out s.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

import f2p
from f2p.rl import trpo
from f2p.rl.envs import make_vec_env
from f2p.rl.networks import ActorCritic, flatten_parameters
from f2p.rl.rollout import RunHistory, collect_rollout

RESULTS = f2p.results.RESULTS_DIR / "ch10_cg_trained.json"
ITERATIONS = (5, 10, 15, 20, 30, 50, 100)


def measure(agent: ActorCritic, config: trpo.TRPOConfig, seed: int) -> dict[str, float]:
    envs = make_vec_env(config.env_id, config.num_envs, seed + 20_000)
    obs, _ = envs.reset(seed=seed + 20_000)
    b = collect_rollout(envs, agent.actor, obs, config.n_steps, "cpu", RunHistory(), 0)
    envs.close()
    b.pop("last_obs")
    s, a, adv, _, old_dist, old_log_prob = trpo.rollout_batch(
        agent, b, envs.single_action_space, config
    )
    flat, _ = flatten_parameters(agent.actor)
    params = list(agent.actor.parameters())
    surrogate, mean_kl = trpo.policy_objectives(agent.actor, s, a, adv, old_dist, old_log_prob)
    loss_old = surrogate()
    g32 = torch.cat([x.reshape(-1) for x in torch.autograd.grad(loss_old, params)]).detach()
    fvp = trpo.fisher_vector_product(mean_kl, params)
    n = len(g32)
    fisher = torch.stack([fvp(e) for e in torch.eye(n)]).double()
    fisher = (fisher + fisher.T) / 2
    eigenvalues = torch.linalg.eigvalsh(fisher)
    xi, delta = config.damping, config.max_kl
    m = fisher + xi * torch.eye(n, dtype=torch.float64)
    g = g32.double()
    exact = torch.linalg.solve(m, g)
    best = torch.sqrt(g @ exact)  # sqrt(g' M^-1 g): the best first-order gain per sqrt(2 delta)
    out = {"parameters": n, "eigenvalues above xi": int((eigenvalues > xi).sum())}
    directions = {}
    for k in ITERATIONS:
        x = trpo.conjugate_gradient(lambda v: m @ v, g, k, 0.0)
        directions[k] = x
        out[f"relative error after {k}"] = float((x - exact).norm() / exact.norm())
        out[f"share of the best first-order gain after {k}"] = float(
            (g @ x) / torch.sqrt(x @ m @ x) / best
        )
    old = flat.detach().clone()
    with torch.no_grad():
        for name, x in (("CG 15", directions[15]), ("exact", exact)):
            step = (torch.sqrt(2 * delta / (x @ m @ x)) * x).float()
            flat.copy_(old + step)
            out[f"{name}: full step's KL / delta"] = mean_kl().item() / delta
            out[f"{name}: full step's surrogate improvement"] = (surrogate() - loss_old).item()
            flat.copy_(old)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=40_000)
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 64])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    f2p.utils.set_threads(1)
    config = trpo.TRPOConfig.zoo(
        "CartPole-v1", total_steps=args.steps, eval_every=0, hidden=tuple(args.hidden)
    )
    per: dict[str, list[dict]] = {"untrained": [], "trained": []}
    for seed in args.seeds:
        torch.manual_seed(seed)
        envs = make_vec_env(config.env_id, config.num_envs, seed)
        untrained = ActorCritic(
            envs.single_observation_space, envs.single_action_space, config.hidden
        )
        envs.close()
        per["untrained"].append(measure(untrained, config, seed))
        agent, _, _ = trpo.train_trpo(config, seed, progress=False)
        per["trained"].append(measure(agent, config, seed))
        for name in per:
            r = per[name][-1]
            print(
                f"seed {seed} {name:>9}: {r['eigenvalues above xi']} eigenvalues > xi, "
                f"CG(15) error {r['relative error after 15']:.2f}, first-order share "
                f"{r['share of the best first-order gain after 15']:.3f}"
            )
    rows = []
    for name, results in per.items():
        for key in results[0]:
            values = [r[key] for r in results]
            for seed, v in zip(args.seeds, values, strict=True):
                rows.append({"quantity": f"{name}: seed {seed}: {key}", "ours": float(v)})
            rows.append({"quantity": f"{name}: {key} (min)", "ours": float(np.min(values))})
            rows.append({"quantity": f"{name}: {key} (max)", "ours": float(np.max(values))})
    rows.append({"quantity": "seeds", "ours": len(args.seeds)})
    rows.append({"quantity": "training steps", "ours": args.steps})
    f2p.results.write_benchmark(
        args.out,
        "10",
        f"conjugate gradient on the {'-'.join(map(str, args.hidden))} CartPole policy, "
        f"untrained and after {args.steps:,} "
        f"TRPO steps, {len(args.seeds)} seeds",
        "ch10_cg_trained.py",
        rows,
    )


if __name__ == "__main__":
    main()
