"""Off-policy deterministic actor-critic (Silver et al., 2014), chapter 08: the bridge to DDPG.

A deterministic policy mu_theta(s) is trained with the deterministic policy gradient

    grad_theta J = E_{s ~ rho_beta}[ grad_theta mu_theta(s) grad_a Q_w(s, a) |_{a = mu_theta(s)} ]

while a behaviour policy, mu_theta plus Gaussian noise, explores. The critic learns Q_w by
Q-learning towards r + gamma Q_w(s', mu_theta(s')). With ``replay_size = 0`` (the online form of
Silver et al.), each update uses the transitions just collected from ``num_envs`` parallel
environments, once. With ``replay_size > 0`` each update draws a minibatch from a replay buffer
of the most recent transitions instead. There is no target network: chapter 09 (DDPG) adds
target networks, and studies both additions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import gymnasium as gym
import torch
from tqdm.auto import tqdm

from f2p.rl.envs import bootstrap_observations, check_action_space, make_vec_env
from f2p.rl.evaluate import EvaluationClock
from f2p.rl.networks import ContinuousQCritic, DeterministicPolicy, flatten_parameters
from f2p.rl.replay import ReplayBuffer
from f2p.rl.rollout import RunHistory


@dataclass
class DeterministicConfig:
    """Settings of :func:`train_deterministic_ac`."""

    env_id: str = "Pendulum-v1"
    """a gymnasium environment id with a 1-D Box action space"""
    num_envs: int = 16
    """parallel environments; their transitions form each update's batch"""
    vectorization: str = "sync"
    """"sync" (environments stepped in turn in this process) or "async" (one process each):
    :func:`f2p.rl.envs.make_vec_env`"""
    total_steps: int = 100_000
    """environment steps in all"""
    gamma: float = 0.99
    """discount factor"""
    actor_lr: float = 1e-3
    """Adam learning rate of the actor"""
    critic_lr: float = 1e-3
    """Adam learning rate of the critic"""
    noise: float = 0.1
    """exploration noise: Gaussian, standard deviation as a fraction of the action range"""
    hidden: tuple[int, ...] = (64, 64)
    """hidden layer sizes of actor and critic"""
    replay_size: int = 0
    """replay buffer capacity; 0 updates online from the latest transitions only"""
    batch_size: int = 128
    """minibatch size when replaying"""
    learning_starts: int = 1_000
    """with replay: environment steps collected before the first update"""
    eval_every: int = 10_000
    """environment steps between evaluations (0: none)"""
    eval_episodes: int = 5
    """deterministic episodes per evaluation"""

    def __post_init__(self) -> None:
        for name in ("num_envs", "total_steps", "eval_episodes", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.noise < 0:
            raise ValueError(f"noise must be >= 0, got {self.noise}")


def train_deterministic_ac(
    config: DeterministicConfig,
    seed: int = 0,
    device: torch.device | str = "cpu",
    progress: bool = True,
) -> tuple[DeterministicPolicy, RunHistory]:
    """Train an off-policy deterministic actor-critic; return the policy and its history."""
    torch.manual_seed(seed)
    envs = make_vec_env(config.env_id, config.num_envs, seed, config.vectorization)
    space = envs.single_action_space
    check_action_space(space, (gym.spaces.Box,), "the deterministic actor-critic")
    obs_dim, act_dim = envs.single_observation_space.shape[0], space.shape[0]
    low, high = torch.as_tensor(space.low), torch.as_tensor(space.high)
    actor = DeterministicPolicy(obs_dim, low, high, config.hidden).to(device)
    critic = ContinuousQCritic(obs_dim, act_dim, config.hidden).to(device)
    actor_params = list(actor.parameters())
    # one flat tensor per network: Adam then steps one tensor, not a dozen small ones
    (actor_flat, actor_grad), (critic_flat, critic_grad) = map(flatten_parameters, (actor, critic))
    actor_opt = torch.optim.Adam([actor_flat], lr=config.actor_lr)
    critic_opt = torch.optim.Adam([critic_flat], lr=config.critic_lr)
    noise_std = config.noise * (high - low).to(device)
    gen = torch.Generator(device=device).manual_seed(seed)
    gen_cpu = torch.Generator().manual_seed(seed)
    buffer = (
        ReplayBuffer(config.replay_size, obs_dim, act_dim, device) if config.replay_size else None
    )
    history = RunHistory()
    timers = history.seconds
    obs, _ = envs.reset(seed=seed)
    updates = -(-config.total_steps // config.num_envs)
    clock = EvaluationClock(
        config.env_id, config.eval_every, config.eval_episodes, seed, device, history
    )
    bar = tqdm(range(updates), desc=f"deterministic AC {config.env_id}", disable=not progress)
    for update in bar:
        steps = update * config.num_envs
        if clock.maybe_evaluate(steps, actor):
            bar.set_postfix(eval=f"{history.eval_returns[-1]:.0f}")
        tick = time.perf_counter()
        s = torch.as_tensor(obs, dtype=torch.float32, device=device)
        with torch.no_grad():  # behaviour policy: mu(s) plus clipped Gaussian noise
            noise = torch.randn(s.shape[0], act_dim, generator=gen, device=device) * noise_std
            a = torch.clamp(actor(s) + noise, actor.low, actor.high)
        tock = time.perf_counter()
        next_obs, reward, terminated, truncated, info = envs.step(a.cpu().numpy())
        timers["env"] += time.perf_counter() - tock
        value_obs = bootstrap_observations(next_obs, terminated | truncated, info)
        history.record_episodes(steps + config.num_envs, info)
        obs = next_obs
        tick2 = time.perf_counter()
        transitions = (s, a, reward, value_obs, terminated)
        if buffer is not None:
            buffer.add(*transitions)
            if buffer.size < config.learning_starts:
                timers["network"] += (tock - tick) + (time.perf_counter() - tick2)
                continue
            transitions = buffer.sample(config.batch_size, gen_cpu)
        s, a, r, s_next, term = (
            torch.as_tensor(x, dtype=torch.float32, device=device) for x in transitions
        )
        with torch.no_grad():  # Q-learning target with the greedy (deterministic) next action
            target = r + config.gamma * (1.0 - term) * critic(s_next, actor(s_next))
        critic_loss = (critic(s, a) - target).pow(2).mean()
        critic_grad.zero_()
        critic_loss.backward()
        critic_opt.step()
        actor_loss = -critic(s, actor(s)).mean()  # deterministic policy gradient
        actor_grad.zero_()
        actor_loss.backward(inputs=actor_params)  # no critic weight gradients
        actor_opt.step()
        timers["network"] += (tock - tick) + (time.perf_counter() - tick2)
    total = clock.finish(updates * config.num_envs, actor)
    timers["rest"] = total - timers["env"] - timers["network"]
    envs.close()
    return actor, history
