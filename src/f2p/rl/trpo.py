"""The numerical core of TRPO (Schulman et al., 2015), chapter 10.

TRPO maximises the surrogate L(theta) = E[ pi_theta(a|s) / pi_old(a|s) * A(s, a) ] subject to
mean KL(pi_old || pi_theta) <= delta. With the objective linearised (gradient g) and the
constraint expanded to second order (Fisher matrix F, the Hessian of the mean KL at theta_old),
the step is along the natural gradient s = F^{-1} g, scaled to the boundary of the trust region,

    theta_new = theta_old + alpha s,   alpha = sqrt(2 delta / (s^T F s)),

followed by a backtracking line search that accepts only a step that keeps the measured KL
within delta and improves the surrogate. F is never formed: conjugate gradient needs only
Fisher-vector products, computed by differentiating the KL twice (double back-propagation).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from torch.distributions import kl_divergence
from tqdm.auto import tqdm

from f2p.rl.actor_critic import (
    ActorCritic,
    ActorCriticConfig,
    History,
    collect_rollout,
    flatten_parameters,
)
from f2p.rl.envs import make_vec_env
from f2p.rl.evaluate import EvaluationClock
from f2p.rl.returns import gae

Vector = torch.Tensor


def conjugate_gradient(
    matvec: Callable[[Vector], Vector], b: Vector, iterations: int = 10, tolerance: float = 1e-10
) -> Vector:
    """Solve A x = b for a symmetric positive-definite A given only x -> A x.

    In exact arithmetic it terminates in at most n iterations (n = len(b)). Raises if a search
    direction p has p^T A p <= 0, i.e. A is not positive definite along it.
    """
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    x = torch.zeros_like(b)
    r = b.clone()  # residual b - A x
    p = r.clone()
    rr = r @ r
    for _ in range(iterations):
        if rr <= tolerance:
            break
        Ap = matvec(p)
        curvature = p @ Ap
        if curvature <= 0:
            raise ValueError(
                f"the curvature p^T A p = {curvature.item():.3g} is not positive along the search "
                "direction: the matrix is not positive definite (add damping?)"
            )
        step = rr / curvature
        x += step * p
        r -= step * Ap
        rr_new = r @ r
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x


def fisher_vector_product(
    mean_kl: Callable[[], torch.Tensor], params: list[torch.Tensor], damping: float = 0.0
) -> Callable[[Vector], Vector]:
    """Return v -> (F + damping I) v, with F the Hessian of ``mean_kl()`` at the current
    parameters (the Fisher information when the KL is taken from a frozen copy of the policy).

    Computed by double back-propagation: the gradient of (grad KL . v), never forming F.
    """
    if damping < 0:
        raise ValueError(f"damping must be >= 0, got {damping}")
    grads = torch.autograd.grad(mean_kl(), params, create_graph=True)
    flat_grad = torch.cat([g.reshape(-1) for g in grads])

    def product(v: Vector) -> Vector:
        hv = torch.autograd.grad(flat_grad @ v, params, retain_graph=True)
        return torch.cat([h.reshape(-1) for h in hv]).detach() + damping * v

    return product


@dataclass
class StepResult:
    """What one TRPO update did."""

    accepted: bool
    kl: float
    """mean KL(pi_old || pi_new) after the step (0 if rejected)"""
    improvement: float
    """surrogate improvement L(theta_new) - L(theta_old) (0 if rejected)"""
    step_fraction: float
    """the line search's accepted fraction of the full step (0 if rejected)"""


def trust_region_step(
    flat_params: torch.Tensor,
    surrogate: Callable[[], torch.Tensor],
    mean_kl: Callable[[], torch.Tensor],
    params: list[torch.Tensor],
    max_kl: float,
    damping: float = 0.1,
    cg_iterations: int = 10,
    backtracks: int = 10,
    shrink: float = 0.8,
) -> StepResult:
    """One TRPO update of the parameters whose storage is ``flat_params``.

    ``surrogate()`` and ``mean_kl()`` are evaluated at the current parameters (the KL from a frozen
    old policy); ``params`` are the module's parameter tensors (views into ``flat_params``). If no
    backtracked step satisfies both conditions, the parameters are left unchanged.
    """
    if max_kl <= 0:
        raise ValueError(f"max_kl (delta) must be > 0, got {max_kl}")
    if not 0 < shrink < 1 or backtracks < 1:
        raise ValueError(f"need 0 < shrink < 1 and backtracks >= 1, got {shrink}, {backtracks}")
    old = flat_params.detach().clone()
    loss_old = surrogate()
    grads = torch.autograd.grad(loss_old, params)
    g = torch.cat([x.reshape(-1) for x in grads]).detach()
    fvp = fisher_vector_product(mean_kl, params, damping)
    direction = conjugate_gradient(fvp, g, cg_iterations)
    shs = direction @ fvp(direction)
    if shs <= 0:
        raise ValueError("the step has no positive curvature under the Fisher matrix")
    full_step = torch.sqrt(2 * max_kl / shs) * direction  # alpha s, on the KL boundary
    with torch.no_grad():
        for k in range(backtracks):
            fraction = shrink**k
            flat_params.copy_(old + fraction * full_step)
            improvement = (surrogate() - loss_old).item()
            kl = mean_kl().item()
            if kl <= max_kl and improvement > 0:
                return StepResult(True, kl, improvement, fraction)
        flat_params.copy_(old)
    return StepResult(False, 0.0, 0.0, 0.0)


@dataclass
class TRPOConfig:
    """Settings of :func:`train_trpo`."""

    env_id: str = "CartPole-v1"
    """a gymnasium id (Discrete or 1-D Box actions)"""
    num_envs: int = 2
    """parallel environments"""
    n_steps: int = 512
    """steps per environment between policy updates"""
    total_steps: int = 100_000
    """environment steps in all"""
    gamma: float = 0.99
    """discount factor"""
    gae_lambda: float = 0.98
    """GAE's lambda"""
    max_kl: float = 0.01
    """the trust region delta: mean KL(pi_old || pi_new) after each update is at most this"""
    damping: float = 0.1
    """added to the Fisher matrix in conjugate gradient"""
    cg_iterations: int = 15
    """conjugate-gradient iterations"""
    critic_lr: float = 1e-3
    """Adam learning rate of the value function"""
    critic_epochs: int = 10
    """passes of minibatch regression of V on the returns after each policy update"""
    critic_batch: int = 128
    """minibatch size of the critic's regression"""
    hidden: tuple[int, ...] = (64, 64)
    """hidden layer sizes of policy and value networks"""
    eval_every: int = 10_000
    """environment steps between evaluations (0: none)"""
    eval_episodes: int = 10
    """deterministic episodes per evaluation"""

    def __post_init__(self) -> None:
        if self.max_kl <= 0:
            raise ValueError(f"max_kl (delta) must be > 0, got {self.max_kl}")
        if self.damping < 0:
            raise ValueError(f"damping must be >= 0, got {self.damping}")


def policy_objectives(actor, s, a, adv, old_dist, old_log_prob):
    """TRPO's surrogate E[pi/pi_old * A] and mean KL(pi_old || pi) on one batch, as closures
    evaluated at the actor's current parameters."""

    def surrogate() -> torch.Tensor:
        log_prob, _ = actor.log_prob_entropy(s, a)
        return (torch.exp(log_prob - old_log_prob) * adv).mean()

    def mean_kl() -> torch.Tensor:
        return kl_divergence(old_dist, actor.dist(s)).mean()

    return surrogate, mean_kl


def train_trpo(
    config: TRPOConfig, seed: int = 0, device: torch.device | str = "cpu", progress: bool = True
) -> tuple[ActorCritic, History, list[StepResult]]:
    """Train TRPO with a GAE value critic; return the agent, its history and every step's result.

    Each update: collect ``n_steps`` per environment, estimate advantages by GAE (normalised),
    take one trust-region step on the policy, then regress V on the returns for a few epochs.
    """
    torch.manual_seed(seed)
    envs = make_vec_env(config.env_id, config.num_envs, seed)
    agent = ActorCritic(envs, ActorCriticConfig(env_id=config.env_id, hidden=config.hidden)).to(
        device
    )
    flat_actor, _ = flatten_parameters(agent.actor)
    actor_params = list(agent.actor.parameters())
    critic_opt = torch.optim.Adam(agent.critic.parameters(), lr=config.critic_lr)
    history, results = History(), []
    timers = history.seconds
    clock = EvaluationClock(
        config.env_id, config.eval_every, config.eval_episodes, seed, device, history
    )
    greedy = partial(agent.actor.act, deterministic=True)
    obs, _ = envs.reset(seed=seed)
    per_update = config.num_envs * config.n_steps
    updates = -(-config.total_steps // per_update)
    gen = torch.Generator().manual_seed(seed)
    for update in tqdm(range(updates), desc=f"TRPO {config.env_id}", disable=not progress):
        clock.maybe_evaluate(update * per_update, greedy)
        b = collect_rollout(
            envs, agent, obs, config.n_steps, device, history, update * per_update, timers
        )
        obs = b.pop("last_obs")
        tick = time.perf_counter()
        with torch.no_grad():
            values, next_values = agent.critic(b["obs"]), agent.critic(b["next_obs"])
            advantages = gae(
                b["rewards"],
                values,
                next_values,
                b["terminated"],
                b["ended"],
                config.gamma,
                config.gae_lambda,
            )
            returns = (advantages + values).reshape(-1)
            s = b["obs"].reshape(len(returns), -1)
            a = b["actions"].reshape(len(returns), -1).squeeze(-1)
            adv = advantages.reshape(-1)
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
            old_dist = agent.actor.dist(s)
            old_log_prob = old_dist.log_prob(a)

        surrogate, mean_kl = policy_objectives(agent.actor, s, a, adv, old_dist, old_log_prob)
        step = trust_region_step(
            flat_actor,
            surrogate,
            mean_kl,
            actor_params,
            config.max_kl,
            config.damping,
            config.cg_iterations,
        )
        results.append(step)
        for _ in range(config.critic_epochs):
            for idx in torch.randperm(len(returns), generator=gen).split(config.critic_batch):
                loss = (agent.critic(s[idx]) - returns[idx]).pow(2).mean()
                critic_opt.zero_grad()
                loss.backward()
                critic_opt.step()
        timers["network"] += time.perf_counter() - tick
    total = clock.finish(updates * per_update, greedy)
    timers["rest"] = total - timers["env"] - timers["network"]
    envs.close()
    return agent, history, results
