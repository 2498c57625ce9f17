"""The numerical core of TRPO (Schulman et al., 2015), chapter 10.

TRPO maximises the surrogate L(theta) = E[ pi_theta(a|s) / pi_old(a|s) * A(s, a) ] subject to
mean KL(pi_old || pi_theta) <= delta. With the objective linearised (gradient g) and the
constraint expanded to second order (Fisher matrix F, the Hessian of the mean KL at theta_old),
the step is along the natural gradient x = F^{-1} g, scaled to the boundary of the trust region,

    theta_new = theta_old + alpha x,   alpha = sqrt(2 delta / (x^T F x)),

followed by a backtracking line search that accepts only a step that keeps the measured KL
within delta and improves the surrogate. F is never formed: conjugate gradient needs only
Fisher-vector products, computed by differentiating the KL twice (double back-propagation).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.distributions import kl_divergence
from tqdm.auto import tqdm

from f2p.rl.envs import make_vec_env
from f2p.rl.evaluate import EvaluationClock
from f2p.rl.networks import ActorCritic, flatten_parameters
from f2p.rl.normalize import RewardScaler
from f2p.rl.returns import gae
from f2p.rl.rollout import RunHistory, collect_rollout

Vector = torch.Tensor


def conjugate_gradient(
    matvec: Callable[[Vector], Vector], b: Vector, iterations: int = 10, tolerance: float = 1e-10
) -> Vector:
    """Solve M x = b for a symmetric positive-definite M given only x -> M x: chapter 10's
    recursion, its omega_k is ``step`` here and nu_k the ratio of squared residual norms.

    Stops early once ||r|| <= tolerance * ||b||: relative to b, so that scaling b (the gradient,
    i.e. the rewards) by any c > 0 scales x by c and changes nothing else (b = 0 returns x = 0).
    In exact arithmetic it terminates in at most n iterations (n = len(b)). Raises if a search
    direction p has p^T M p <= 0, i.e. M is not positive definite along it.
    """
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    x = torch.zeros_like(b)
    r = b.clone()  # residual b - M x
    p = r.clone()
    rr = r @ r
    stop = tolerance**2 * rr  # ||r||^2 <= tolerance^2 ||b||^2
    for _ in range(iterations):
        if rr <= stop:
            break
        Mp = matvec(p)
        curvature = p @ Mp
        if curvature <= 0:
            raise ValueError(
                f"the curvature p^T M p = {curvature.item():.3g} is not positive along the search "
                "direction: the matrix is not positive definite (add damping?)"
            )
        step = rr / curvature
        x += step * p
        r -= step * Mp
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
    full_kl: float = float("nan")
    """measured mean KL of the full step alpha x, before any shrinking (NaN if not tried)"""
    damping_kl: float = float("nan")
    """1/2 xi ||alpha x||^2: how far the full step's undamped model KL falls below delta"""


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
    backtracked step satisfies both conditions, or the gradient is exactly 0 (then the natural
    gradient x = 0 and x^T F x = 0, so the step's scale is undefined), the parameters are left
    unchanged. Conjugate gradient's tolerance is relative, so the step does not depend on the
    scale of the gradient.
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
    xfx = direction @ fvp(direction)
    if not torch.isfinite(xfx):
        raise ValueError(
            f"the step's curvature x^T F x is {xfx.item()}: the gradient or KL is not finite"
        )
    if xfx <= 0:  # the gradient vanished (a policy that has become deterministic): nothing to do
        return StepResult(False, 0.0, 0.0, 0.0)
    full_step = torch.sqrt(2 * max_kl / xfx) * direction  # alpha x, on the KL boundary
    damping_kl = 0.5 * damping * (full_step @ full_step).item()
    full_kl = float("nan")
    with torch.no_grad():
        for k in range(backtracks):
            fraction = shrink**k
            flat_params.copy_(old + fraction * full_step)
            improvement = (surrogate() - loss_old).item()
            kl = mean_kl().item()
            if k == 0:
                full_kl = kl
            if kl <= max_kl and improvement > 0:
                return StepResult(True, kl, improvement, fraction, full_kl, damping_kl)
        flat_params.copy_(old)
    return StepResult(False, 0.0, 0.0, 0.0, full_kl, damping_kl)


UPDATES = ("trpo", "vpg", "ppo")

# RL Zoo's tuned TRPO settings (rl-baselines3-zoo, hyperparams/trpo.yml); everything else is
# sb3-contrib's default, which TRPOConfig's defaults reproduce.
ZOO: dict[str, dict] = {
    "CartPole-v1": dict(
        n_steps=512, critic_batch=512, damping=1e-3, gae_lambda=0.98, critic_epochs=20
    ),
    "Pendulum-v1": dict(n_steps=1024, gamma=0.9, critic_epochs=15),
}
# RL Zoo's MuJoCo settings (hyperparams/trpo.yml, "mujoco-defaults": Ant-v4, Hopper-v4,
# Walker2d-v4, Swimmer-v4 with gamma 0.9999, HalfCheetah-v4 with target_kl 0.04), applied to the
# v5 tasks: normalize, n_steps 1024, batch_size 128, gamma 0.99, gae_lambda 0.95,
# cg_max_steps 25, cg_damping 0.1, n_critic_updates 20, learning_rate 1e-3, 2 environments.
_MUJOCO = dict(
    n_steps=1024,
    critic_batch=128,
    gamma=0.99,
    gae_lambda=0.95,
    cg_iterations=25,
    damping=0.1,
    critic_epochs=20,
    critic_lr=1e-3,
    normalize=True,
)
ZOO |= {
    "Hopper-v5": _MUJOCO,
    "Walker2d-v5": _MUJOCO,
    "Ant-v5": _MUJOCO,
    "Swimmer-v5": _MUJOCO | dict(gamma=0.9999),
    "HalfCheetah-v5": _MUJOCO | dict(max_kl=0.04),
}


@dataclass
class TRPOConfig:
    """Settings of :func:`train_trpo` (defaults: sb3-contrib's TRPO; :meth:`zoo` for RL Zoo's)."""

    env_id: str = "CartPole-v1"
    """a gymnasium id (Discrete or 1-D Box actions)"""
    update: str = "trpo"
    """the policy update: "trpo", or the comparisons "vpg" (one Adam step from the policy gradient)
    and "ppo" (PPO-clip epochs); everything else (rollouts, GAE, critic) is shared"""
    num_envs: int = 2
    """parallel environments"""
    vectorization: str = "sync"
    """"sync" (environments stepped in turn in this process) or "async" (one process each):
    :func:`f2p.rl.envs.make_vec_env`"""
    n_steps: int = 2048
    """steps per environment between policy updates"""
    total_steps: int = 100_000
    """environment steps in all"""
    gamma: float = 0.99
    """discount factor"""
    gae_lambda: float = 0.95
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
    policy_lr: float = 3e-4
    """Adam learning rate of the policy (the "vpg" and "ppo" updates)"""
    clip: float = 0.2
    """PPO's clipping range epsilon"""
    ppo_epochs: int = 10
    """PPO's passes over each batch"""
    ppo_batch: int = 64
    """PPO's minibatch size"""
    hidden: tuple[int, ...] = (64, 64)
    """hidden layer sizes of policy and value networks"""
    normalize: bool = False
    """running observation normalisation and reward scaling (:mod:`f2p.rl.normalize`), RL Zoo's
    ``normalize: true``; the statistics are saved with the agent and frozen at evaluation"""
    eval_every: int = 10_000
    """environment steps between evaluations (0: none)"""
    eval_episodes: int = 10
    """deterministic episodes per evaluation"""

    def __post_init__(self) -> None:
        if self.update not in UPDATES:
            raise ValueError(f"update must be one of {UPDATES}, got {self.update!r}")
        if self.max_kl <= 0:
            raise ValueError(f"max_kl (delta) must be > 0, got {self.max_kl}")
        if self.damping < 0:
            raise ValueError(f"damping must be >= 0, got {self.damping}")
        for name in ("num_envs", "n_steps", "total_steps", "critic_batch", "ppo_batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if min(self.policy_lr, self.critic_lr, self.clip) <= 0:
            raise ValueError("policy_lr, critic_lr and clip must be > 0")

    @classmethod
    def zoo(cls, env_id: str, **overrides) -> TRPOConfig:
        """RL Zoo's tuned settings for ``env_id`` (CartPole-v1, Pendulum-v1 and the MuJoCo tasks
        of :data:`ZOO`), then ``overrides``.

        RL Zoo also turns on generalised state-dependent exploration (gSDE) for Pendulum-v1; we
        keep the plain Gaussian policy of the paper (chapter 10, "Where we differ")."""
        if env_id not in ZOO:
            raise ValueError(f"no RL Zoo settings stored for {env_id!r}; known: {sorted(ZOO)}")
        return cls(env_id=env_id, **{**ZOO[env_id], **overrides})


def policy_objectives(actor, s, a, adv, old_dist, old_log_prob):
    """TRPO's surrogate E[pi/pi_old * A] and mean KL(pi_old || pi) on one batch, as closures
    evaluated at the actor's current parameters."""

    def surrogate() -> torch.Tensor:
        log_prob, _ = actor.log_prob_entropy(s, a)
        return (torch.exp(log_prob - old_log_prob) * adv).mean()

    def mean_kl() -> torch.Tensor:
        return kl_divergence(old_dist, actor.dist(s)).mean()

    return surrogate, mean_kl


def ppo_clip_objective(actor, s, a, adv, old_log_prob, clip: float) -> torch.Tensor:
    """PPO-clip's objective E[min(w A, clip(w, 1 - eps, 1 + eps) A)], w = pi/pi_old."""
    w = torch.exp(actor.log_prob_entropy(s, a)[0] - old_log_prob)
    return torch.minimum(w * adv, w.clamp(1 - clip, 1 + clip) * adv).mean()


def first_order_step(
    actor, optimizer, grad, s, a, adv, old_dist, old_log_prob, config: TRPOConfig, gen
) -> StepResult:
    """The comparisons' policy update, reported like a trust-region step (KL measured after it).

    "vpg": one Adam step computed from the gradient of the surrogate at theta_old, which is the
    policy gradient E[grad log pi(a|s) A] (chapter 08); Adam rescales each coordinate, so the
    step is not along the gradient. "ppo": ``ppo_epochs`` passes of minibatch Adam
    steps on :func:`ppo_clip_objective`. Neither bounds the KL; this is what TRPO's constraint adds.
    """
    surrogate, mean_kl = policy_objectives(actor, s, a, adv, old_dist, old_log_prob)
    with torch.no_grad():
        before = surrogate().item()
    if config.update == "vpg":
        batches = [torch.arange(len(adv))]
    else:
        batches = [
            idx
            for _ in range(config.ppo_epochs)
            for idx in torch.randperm(len(adv), generator=gen).split(config.ppo_batch)
        ]
    for idx in batches:
        if config.update == "vpg":
            objective = surrogate()
        else:
            objective = ppo_clip_objective(
                actor, s[idx], a[idx], adv[idx], old_log_prob[idx], config.clip
            )
        grad.zero_()  # in place: the parameters' gradients are views into it
        (-objective).backward()
        optimizer.step()
    with torch.no_grad():
        return StepResult(True, mean_kl().item(), surrogate().item() - before, 1.0)


def rollout_batch(agent: ActorCritic, b: dict[str, torch.Tensor], space, config: TRPOConfig):
    """Flatten a time-major rollout into one batch: states, actions (shaped for ``space``),
    normalised GAE advantages, the critic's regression targets, and the old policy."""
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
        n = len(returns)
        s = b["obs"].reshape(n, -1)
        a = b["actions"].reshape(n, *space.shape)  # (n,) for Discrete, (n, d) for a Box
        adv = advantages.reshape(-1)
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        old_dist = agent.actor.dist(s)
        old_log_prob = old_dist.log_prob(a)
    return s, a, adv, returns, old_dist, old_log_prob


def train_trpo(
    config: TRPOConfig, seed: int = 0, device: torch.device | str = "cpu", progress: bool = True
) -> tuple[ActorCritic, RunHistory, list[StepResult]]:
    """Train TRPO (or, with ``config.update``, VPG or PPO-clip) with a GAE value critic; return
    the agent, its history and every policy update's result.

    Each update: collect ``n_steps`` per environment, estimate advantages by GAE (normalised),
    update the policy (one trust-region step for TRPO), then regress V on the returns for a few
    epochs of minibatch Adam.
    """
    torch.manual_seed(seed)
    envs = make_vec_env(config.env_id, config.num_envs, seed, config.vectorization)
    agent = ActorCritic(
        envs.single_observation_space,
        envs.single_action_space,
        config.hidden,
        normalize=config.normalize,
    ).to(device)
    reward_scaler = RewardScaler(config.num_envs, config.gamma) if config.normalize else None
    flat_actor, actor_grad = flatten_parameters(agent.actor)
    actor_params = list(agent.actor.parameters())
    policy_opt = torch.optim.Adam([flat_actor], lr=config.policy_lr)
    flat_critic, critic_grad = flatten_parameters(agent.critic)
    # one flat tensor and a fused step: the critic's many small minibatch updates are most of
    # TRPO's cost on these networks
    critic_opt = torch.optim.Adam([flat_critic], lr=config.critic_lr, fused=True)
    history, results = RunHistory(), []
    timers = history.seconds
    clock = EvaluationClock(
        config.env_id, config.eval_every, config.eval_episodes, seed, device, history
    )
    obs, _ = envs.reset(seed=seed)
    agent.obs_norm.update(obs)
    per_update = config.num_envs * config.n_steps
    updates = -(-config.total_steps // per_update)
    gen = torch.Generator().manual_seed(seed)
    bar = tqdm(
        range(updates), desc=f"{config.update.upper()} {config.env_id}", disable=not progress
    )
    for update in bar:
        if clock.maybe_evaluate(update * per_update, agent.greedy):
            bar.set_postfix(eval=f"{history.eval_returns[-1]:.0f}")
        b = collect_rollout(
            envs,
            agent.actor,
            obs,
            config.n_steps,
            device,
            history,
            update * per_update,
            agent.obs_norm if config.normalize else None,
            reward_scaler,
        )
        obs = b.pop("last_obs")
        tick = time.perf_counter()
        s, a, adv, returns, old_dist, old_log_prob = rollout_batch(
            agent, b, envs.single_action_space, config
        )
        if config.update == "trpo":
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
        else:
            step = first_order_step(
                agent.actor, policy_opt, actor_grad, s, a, adv, old_dist, old_log_prob, config, gen
            )
        results.append(step)
        for _ in range(config.critic_epochs):
            order = torch.randperm(len(returns), generator=gen).to(returns.device)
            for idx in order.split(config.critic_batch):
                loss = (agent.critic(s[idx]) - returns[idx]).pow(2).mean()
                critic_grad.zero_()
                loss.backward()
                critic_opt.step()
        timers["network"] += time.perf_counter() - tick
    total = clock.finish(updates * per_update, agent.greedy)
    timers["rest"] = total - timers["env"] - timers["network"]
    envs.close()
    return agent, history, results
