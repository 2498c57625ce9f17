"""DDPG, deep deterministic policy gradient (Lillicrap et al., 2016), chapter 09.

The off-policy deterministic actor-critic of chapter 08 (Silver et al., 2014) made to work with
deep networks by two additions:

- a replay buffer: updates on uniform minibatches of past transitions (eq. 9.3);
- target networks mu', Q' that trail the learned ones by soft updates
  theta' <- tau theta + (1 - tau) theta' (eq. 9.4), so that the critic's target
  y = r + gamma (1 - d) Q'(s', mu'(s')) (eq. 9.2) moves slowly.

Exploration adds Ornstein-Uhlenbeck noise (the paper) or Gaussian noise (modern code) to mu(s),
and actions are clipped to the bounds. The critic can take the action at its input (as in
Stable-Baselines3) or, as in the paper, at its second layer.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from f2p.rl.envs import bootstrap_observations, check_action_space, make_vec_env
from f2p.rl.evaluate import EvaluationClock
from f2p.rl.networks import flatten_parameters, mlp
from f2p.rl.replay import ReplayBuffer
from f2p.rl.rollout import RunHistory

NOISES = ("ou", "gaussian", "none")


class OUNoise:
    """Ornstein-Uhlenbeck noise, x <- x + theta (mu - x) dt + sigma sqrt(dt) N(0, I) (eq. 9.5).

    Its autocorrelation after k steps is (1 - theta dt)^k: successive actions are correlated,
    which the paper chose for physical control with inertia.
    """

    def __init__(
        self, size: int, theta: float = 0.15, sigma: float = 0.2, dt: float = 1.0, seed: int = 0
    ):
        if not 0 < theta * dt < 2 or sigma < 0:
            raise ValueError(
                f"need 0 < theta*dt < 2 and sigma >= 0, got theta={theta}, dt={dt}, sigma={sigma}"
            )
        self.theta, self.sigma, self.dt = theta, sigma, dt
        self.rng = np.random.default_rng(seed)
        self.x = np.zeros(size)

    def reset(self) -> None:
        self.x[:] = 0.0

    def __call__(self) -> np.ndarray:
        self.x += -self.theta * self.x * self.dt + self.sigma * math.sqrt(
            self.dt
        ) * self.rng.standard_normal(self.x.shape)
        return self.x.copy()

    def stationary_std(self) -> float:
        """The long-run standard deviation of each coordinate, :func:`ou_stationary_std`."""
        return ou_stationary_std(self.theta, self.sigma, self.dt)


def ou_stationary_std(theta: float, sigma: float, dt: float = 1.0) -> float:
    """Long-run std of the discretised OU process of eq. (9.5): x is an AR(1) process with
    coefficient 1 - theta dt and innovation std sigma sqrt(dt), so its stationary variance is
    sigma^2 dt / (1 - (1 - theta dt)^2). The paper's theta = 0.15, sigma = 0.2, dt = 1 give
    0.38 (chapter 09 compares OU noise with Gaussian noise of this std)."""
    if not 0 < theta * dt < 2 or sigma < 0:
        raise ValueError(f"need 0 < theta*dt < 2 and sigma >= 0, got {theta}, {dt}, {sigma}")
    return sigma * math.sqrt(dt / (1 - (1 - theta * dt) ** 2))


class DDPGActor(nn.Module):
    """mu(s) = low + (high - low) (tanh(f(s)) + 1) / 2, ReLU hidden layers."""

    def __init__(
        self, obs_dim: int, low: torch.Tensor, high: torch.Tensor, hidden: Sequence[int]
    ) -> None:
        super().__init__()
        self.net = mlp([obs_dim, *hidden, len(low)], out_gain=0.01, activation=nn.ReLU)
        self.register_buffer("low", torch.as_tensor(low, dtype=torch.float32))
        self.register_buffer("high", torch.as_tensor(high, dtype=torch.float32))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.low + (self.high - self.low) * (torch.tanh(self.net(obs)) + 1) / 2


class DDPGCritic(nn.Module):
    """Q(s, a) with ReLU layers; the action joins at layer ``action_layer`` (1: input, 2: the
    second layer as in Lillicrap et al.)."""

    def __init__(
        self, obs_dim: int, act_dim: int, hidden: Sequence[int], action_layer: int = 2
    ) -> None:
        super().__init__()
        if action_layer not in (1, 2) or len(hidden) < action_layer:
            raise ValueError(
                f"action_layer must be 1 or 2 (and <= number of hidden layers), got {action_layer}"
            )
        self.action_layer = action_layer
        if action_layer == 1:
            self.first = None
            self.rest = mlp([obs_dim + act_dim, *hidden, 1], activation=nn.ReLU)
        else:
            # initialised like every hidden layer of mlp: orthogonal, gain sqrt(2), zero bias
            self.first = nn.Sequential(
                *mlp([obs_dim, hidden[0]], out_gain=math.sqrt(2), activation=nn.ReLU), nn.ReLU()
            )
            self.rest = mlp([hidden[0] + act_dim, *hidden[1:], 1], activation=nn.ReLU)

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        h = obs if self.first is None else self.first(obs)
        return self.rest(torch.cat([h, action], dim=-1)).squeeze(-1)


def soft_update(target: torch.Tensor, source: torch.Tensor, tau: float) -> None:
    """theta' <- tau theta + (1 - tau) theta' (eq. 9.4), in place, on flat parameter tensors."""
    if not 0 < tau <= 1:
        raise ValueError(f"tau must lie in (0, 1], got {tau}")
    with torch.no_grad():
        target.lerp_(source, tau)


@dataclass
class DDPGConfig:
    """Settings of :func:`train_ddpg` (defaults: RL Zoo's DDPG for Pendulum-v1)."""

    env_id: str = "Pendulum-v1"
    """a gymnasium id with a 1-D Box action space"""
    total_steps: int = 20_000
    """environment steps"""
    learning_starts: int = 10_000
    """uniformly random actions, and no updates, for this many first steps"""
    gamma: float = 0.98
    """discount factor"""
    tau: float = 0.005
    """soft-update rate of the target networks (the paper: 0.001)"""
    target_networks: bool = True
    """use target networks; False computes the critic's target with the learned networks"""
    actor_lr: float = 1e-3
    """Adam learning rate of the actor (the paper: 1e-4)"""
    critic_lr: float = 1e-3
    """Adam learning rate of the critic (the paper: 1e-3, with L2 1e-2)"""
    batch_size: int = 256
    """minibatch size (the paper: 64)"""
    buffer_size: int = 200_000
    """replay capacity (the paper: 1e6)"""
    noise: str = "gaussian"
    """exploration: "ou" (the paper), "gaussian" (modern code) or "none\""""
    noise_scale: float = 0.1
    """Gaussian standard deviation, or OU sigma, in units of half the action range"""
    ou_theta: float = 0.15
    """OU mean reversion (the paper: 0.15, with sigma 0.2)"""
    hidden: tuple[int, ...] = (400, 300)
    """hidden layer sizes of actor and critic (the paper: 400, 300)"""
    action_layer: int = 1
    """where the critic takes the action: 1 at the input (SB3), 2 at the second layer (paper)"""
    eval_every: int = 2_000
    """environment steps between evaluations (0: none)"""
    eval_episodes: int = 10
    """deterministic episodes per evaluation"""

    def __post_init__(self) -> None:
        if self.noise not in NOISES:
            raise ValueError(f"noise must be one of {NOISES}, got {self.noise!r}")
        if not 0 < self.tau <= 1:
            raise ValueError(f"tau must lie in (0, 1], got {self.tau}")
        for name in ("total_steps", "batch_size", "buffer_size", "eval_episodes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


class DDPG(nn.Module):
    """Actor, critic and (optionally) their targets, each with one flat parameter tensor."""

    def __init__(self, obs_dim: int, space: gym.spaces.Box, config: DDPGConfig) -> None:
        super().__init__()
        low, high = torch.as_tensor(space.low), torch.as_tensor(space.high)
        self.actor = DDPGActor(obs_dim, low, high, config.hidden)
        self.critic = DDPGCritic(obs_dim, space.shape[0], config.hidden, config.action_layer)
        self.actor_target = copy.deepcopy(self.actor) if config.target_networks else self.actor
        self.critic_target = copy.deepcopy(self.critic) if config.target_networks else self.critic

    def flatten(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        modules = {"actor": self.actor, "critic": self.critic}
        if self.actor_target is not self.actor:
            modules.update(actor_target=self.actor_target, critic_target=self.critic_target)
        return {name: flatten_parameters(m) for name, m in modules.items()}


def critic_loss(agent: DDPG, batch: Sequence[torch.Tensor], gamma: float) -> torch.Tensor:
    """(Q(s, a) - y)^2 averaged over a minibatch (s, a, r, s', d), with the target
    y = r + gamma (1 - d) Q'(s', mu'(s')) computed without gradient (eq. 9.2)."""
    s, a, r, s_next, terminated = batch
    with torch.no_grad():
        y = r + gamma * (1.0 - terminated) * agent.critic_target(s_next, agent.actor_target(s_next))
    return (agent.critic(s, a) - y).pow(2).mean()


def actor_loss(agent: DDPG, s: torch.Tensor) -> torch.Tensor:
    """-Q(s, mu(s)) averaged over states: its gradient with respect to the actor's parameters is
    minus the deterministic policy gradient, grad_a Q(s, a)|_{a=mu(s)} grad_theta mu(s)
    (eq. 9.1)."""
    return -agent.critic(s, agent.actor(s)).mean()


class DDPGUpdater:
    """One DDPG gradient step at a time: the optimisers and flat parameters of an agent."""

    def __init__(self, agent: DDPG, config: DDPGConfig) -> None:
        self.agent, self.config = agent, config
        self.flat = agent.flatten()
        self.actor_opt = torch.optim.Adam([self.flat["actor"][0]], lr=config.actor_lr)
        self.critic_opt = torch.optim.Adam([self.flat["critic"][0]], lr=config.critic_lr)
        self.actor_params = list(agent.actor.parameters())

    def step(self, batch: Sequence[torch.Tensor]) -> None:
        """Critic step on eq. (9.2), then actor step on eq. (9.1), then soft target updates
        (eq. 9.4)."""
        flat, agent = self.flat, self.agent
        flat["critic"][1].zero_()
        critic_loss(agent, batch, self.config.gamma).backward()
        self.critic_opt.step()
        flat["actor"][1].zero_()
        actor_loss(agent, batch[0]).backward(inputs=self.actor_params)  # no critic weight grads
        self.actor_opt.step()
        if self.config.target_networks:
            soft_update(flat["actor_target"][0], flat["actor"][0], self.config.tau)
            soft_update(flat["critic_target"][0], flat["critic"][0], self.config.tau)


def train_ddpg(
    config: DDPGConfig, seed: int = 0, device: torch.device | str = "cpu", progress: bool = True
) -> tuple[DDPG, RunHistory]:
    """Train DDPG on one environment; return the agent and its history (``seconds`` splits the
    training time into env / network / rest, "network" being acting and the gradient updates)."""
    torch.manual_seed(seed)
    envs = make_vec_env(config.env_id, 1, seed)
    space = envs.single_action_space
    check_action_space(space, (gym.spaces.Box,), "DDPG")
    obs_dim, act_dim = envs.single_observation_space.shape[0], space.shape[0]
    agent = DDPG(obs_dim, space, config).to(device)
    updater = DDPGUpdater(agent, config)
    buffer = ReplayBuffer(min(config.buffer_size, config.total_steps), obs_dim, act_dim, device)
    half_range = (space.high - space.low) / 2
    ou = (
        OUNoise(act_dim, config.ou_theta, config.noise_scale, seed=seed)
        if config.noise == "ou"
        else None
    )
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    history = RunHistory()
    timers = history.seconds
    clock = EvaluationClock(
        config.env_id, config.eval_every, config.eval_episodes, seed, device, history
    )
    obs, _ = envs.reset(seed=seed)
    bar = tqdm(range(config.total_steps), desc=f"DDPG {config.env_id}", disable=not progress)
    for step in bar:
        if clock.maybe_evaluate(step, agent.actor):
            bar.set_postfix(eval=f"{history.eval_returns[-1]:.0f}")
        tick = time.perf_counter()
        if step < config.learning_starts:
            action = rng.uniform(space.low, space.high, size=(1, act_dim))
        else:
            with torch.inference_mode():
                action = (
                    agent.actor(torch.as_tensor(obs, dtype=torch.float32, device=device))
                    .cpu()
                    .numpy()
                )
            if ou is not None:
                action = action + ou() * half_range
            elif config.noise == "gaussian":
                action = (
                    action + rng.normal(0.0, config.noise_scale, size=action.shape) * half_range
                )
            action = np.clip(action, space.low, space.high)
        tock = time.perf_counter()
        next_obs, reward, terminated, truncated, info = envs.step(action.astype(np.float32))
        timers["env"] += time.perf_counter() - tock
        history.record_episodes(step + 1, info)
        if ou is not None and (terminated | truncated).any():
            ou.reset()
        tick2 = time.perf_counter()
        buffer.add(
            obs,
            action,
            reward,
            bootstrap_observations(next_obs, terminated | truncated, info),
            terminated,
        )
        obs = next_obs
        if step >= config.learning_starts:
            updater.step(buffer.sample(config.batch_size, gen))
        timers["network"] += (tock - tick) + (time.perf_counter() - tick2)
    total = clock.finish(config.total_steps, agent.actor)
    timers["rest"] = total - timers["env"] - timers["network"]
    envs.close()
    return agent, history


def td3_target(
    rewards: torch.Tensor,
    terminated: torch.Tensor,
    next_q1: torch.Tensor,
    next_q2: torch.Tensor,
    gamma: float,
) -> torch.Tensor:
    """TD3's clipped double-Q target (Fujimoto et al., 2018; chapter 09, exercise):
    y = r + gamma (1 - d) min(Q1'(s', a~), Q2'(s', a~)), given the two target critics' values at
    the smoothed target action a~."""
    return rewards + gamma * (1.0 - terminated.float()) * torch.minimum(next_q1, next_q2)


def td3_smoothed_action(
    mu_next: torch.Tensor,
    z: torch.Tensor,
    sigma: float,
    clip: float,
    low: torch.Tensor,
    high: torch.Tensor,
) -> torch.Tensor:
    """TD3's target policy smoothing (Fujimoto et al., 2018; chapter 09, exercise): the target
    action a~ = clip(mu'(s') + clip(sigma z, -c, c), a_min, a_max), z ~ N(0, I) drawn by the
    caller. The noise is scaled first and clipped second; the sum is clipped to the bounds."""
    noise = (sigma * z).clamp(-clip, clip)
    return torch.maximum(torch.minimum(mu_next + noise, high), low)
