"""On-policy actor-critic with function approximation (chapter 08): A2C and QAC.

Both collect ``n_steps`` transitions from ``num_envs`` parallel environments, then take one
gradient step on the loss

    L = -mean[ log pi(a_t|s_t) * Psi_t ] + c_v * L_critic - c_H * mean[ H(pi(.|s_t)) ]

and differ in the critic and in Psi_t, the weight of the score function:

- ``critic="value"`` (A2C, Mnih et al. 2016): a state-value critic V_w, Psi_t = GAE(lambda)
  advantage (chapter 08, eq. GAE), critic regressed on A_t + V(s_t). With ``baseline=False`` the
  actor is weighted by the return estimate A_t + V(s_t) itself (no baseline subtracted).
- ``critic="action"`` (QAC, the simplest actor-critic): an action-value critic Q_w(s, .),
  Psi_t = Q_w(s_t, a_t), critic trained by expected SARSA towards
  r_t + gamma * sum_a pi(a|s_{t+1}) Q_w(s_{t+1}, a). With ``baseline=True`` the actor is
  weighted by Psi_t = Q_w(s_t, a_t) - sum_a pi(a|s_t) Q_w(s_t, a) instead: the critic's own
  state value subtracted, an advantage (chapter 08, eq. advantage).

Truncated episodes (time limits) are bootstrapped from the value of their final observation;
terminated ones are not.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn
from tqdm.auto import tqdm

from f2p.rl.envs import make_vec_env
from f2p.rl.evaluate import EvaluationClock
from f2p.rl.networks import ActorCritic, flatten_parameters
from f2p.rl.returns import gae
from f2p.rl.rollout import RunHistory, collect_rollout

CRITICS = ("value", "action")


@dataclass
class ActorCriticConfig:
    """Settings of :func:`train_actor_critic` (defaults: RL Zoo's A2C for CartPole-v1)."""

    env_id: str = "CartPole-v1"
    """a gymnasium environment id"""
    critic: str = "value"
    """"value" for A2C (state-value critic, advantages) or "action" for QAC (Q critic)"""
    baseline: bool | None = None
    """subtract a state baseline from the actor's weight: V_w(s_t) for A2C,
    sum_a pi(a|s_t) Q_w(s_t, a) for QAC; None: each method's usual form (A2C with it, QAC
    without)"""
    num_envs: int = 8
    """parallel environments"""
    vectorization: str = "sync"
    """"sync" (environments stepped in turn in this process) or "async" (one process each):
    :func:`f2p.rl.envs.make_vec_env`"""
    n_steps: int = 5
    """steps per environment between updates"""
    total_steps: int = 100_000
    """environment steps in all (summed over the parallel environments)"""
    gamma: float = 0.99
    """discount factor"""
    gae_lambda: float = 1.0
    """GAE's lambda (1: n-step Monte Carlo returns bootstrapped at the end of the rollout)"""
    lr: float = 7e-4
    """RMSprop learning rate (alpha 0.99, eps 1e-5)"""
    vf_coef: float = 0.5
    """weight c_v of the critic's loss"""
    ent_coef: float = 0.0
    """weight c_H of the entropy bonus"""
    max_grad_norm: float = 0.5
    """gradient clipping by global norm"""
    hidden: tuple[int, ...] = (64, 64)
    """hidden layer sizes of the actor and of the critic (separate networks)"""
    eval_every: int = 10_000
    """environment steps between evaluations (0: no evaluation)"""
    eval_episodes: int = 10
    """deterministic episodes per evaluation"""

    def __post_init__(self) -> None:
        if self.critic not in CRITICS:
            raise ValueError(f"critic must be one of {CRITICS}, got {self.critic!r}")
        for name in ("num_envs", "n_steps", "total_steps", "eval_episodes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0 or self.eval_every < 0:
            raise ValueError(f"need lr > 0 and eval_every >= 0, got {self.lr}, {self.eval_every}")


def train_actor_critic(
    config: ActorCriticConfig,
    seed: int = 0,
    device: torch.device | str = "cpu",
    progress: bool = True,
) -> tuple[ActorCritic, RunHistory]:
    """Train A2C or QAC on ``config.env_id``; return the agent and its history."""
    torch.manual_seed(seed)
    envs = make_vec_env(config.env_id, config.num_envs, seed, config.vectorization)
    agent = ActorCritic(
        envs.single_observation_space, envs.single_action_space, config.hidden, config.critic
    ).to(device)
    flat, flat_grad = flatten_parameters(agent)
    optimizer = torch.optim.RMSprop([flat], lr=config.lr, alpha=0.99, eps=1e-5)
    history = RunHistory()
    n, T = config.num_envs, config.n_steps
    updates = -(-config.total_steps // (n * T))
    obs, _ = envs.reset(seed=seed)
    timers = history.seconds
    clock = EvaluationClock(
        config.env_id, config.eval_every, config.eval_episodes, seed, device, history
    )
    greedy = partial(agent.actor.act, deterministic=True)
    name = "A2C" if config.critic == "value" else "QAC"
    bar = tqdm(range(updates), desc=f"{name} {config.env_id}", disable=not progress)
    for update in bar:
        if clock.maybe_evaluate(update * n * T, greedy):
            bar.set_postfix(eval=f"{history.eval_returns[-1]:.0f}")
        batch = collect_rollout(envs, agent.actor, obs, T, device, history, update * n * T)
        obs = batch.pop("last_obs")
        tick = time.perf_counter()
        loss = _loss(agent, batch, config)
        flat_grad.zero_()
        loss.backward()
        nn.utils.clip_grad_norm_(flat, config.max_grad_norm)
        optimizer.step()
        timers["network"] += time.perf_counter() - tick
    total = clock.finish(updates * n * T, greedy)
    timers["rest"] = total - timers["env"] - timers["network"]
    envs.close()
    return agent, history


def _loss(
    agent: ActorCritic, b: dict[str, torch.Tensor], config: ActorCriticConfig
) -> torch.Tensor:
    log_prob, entropy = agent.actor.log_prob_entropy(b["obs"], b["actions"])
    if config.critic == "value":
        both = agent.critic(torch.cat([b["obs"], b["next_obs"]]))  # one pass for V(s_t), V(s_t+1)
        values, next_values = both[: len(b["obs"])], both[len(b["obs"]) :].detach()
        with torch.no_grad():
            advantages = gae(
                b["rewards"],
                values.detach(),
                next_values,
                b["terminated"],
                b["ended"],
                config.gamma,
                config.gae_lambda,
            )
            returns = advantages + values.detach()
        weight = returns if config.baseline is False else advantages
        critic_loss = (returns - values).pow(2).mean()
    else:
        q_all = agent.critic(b["obs"])
        q_taken = q_all.gather(-1, b["actions"].long().unsqueeze(-1)).squeeze(-1)
        with torch.no_grad():
            next_probs = agent.actor.dist(b["next_obs"]).probs
            next_v = (next_probs * agent.critic(b["next_obs"])).sum(-1)  # expected SARSA
            target = b["rewards"] + config.gamma * (1.0 - b["terminated"].float()) * next_v
            weight = q_taken.detach()
            if config.baseline:  # Psi = Q(s, a) - sum_a' pi(a'|s) Q(s, a'), an advantage
                weight = weight - (agent.actor.dist(b["obs"]).probs * q_all).sum(-1)
        critic_loss = (target - q_taken).pow(2).mean()
    actor_loss = -(log_prob * weight).mean()
    return actor_loss + config.vf_coef * critic_loss - config.ent_coef * entropy.mean()
