"""Small networks for the RL chapters: MLP actors and critics for discrete and continuous actions,
the actor-critic pair the on-policy trainers build, and flat parameter views for their optimisers.

Hidden layers use tanh and orthogonal initialisation (gain sqrt(2)); the policy head starts with
gain 0.01 so the first policy is nearly uniform, and value heads with gain 1, as in common A2C
implementations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import gymnasium as gym
import torch
from torch import nn
from torch.distributions import Categorical, Distribution, Independent, Normal

from f2p.rl.envs import check_action_space
from f2p.rl.normalize import ObservationNormalizer


def mlp(
    sizes: Sequence[int], out_gain: float = 1.0, activation: type[nn.Module] = nn.Tanh
) -> nn.Sequential:
    """Linear layers of the given sizes with ``activation`` between them (none after the last)."""
    if len(sizes) < 2 or any(s < 1 for s in sizes):
        raise ValueError(f"mlp needs at least an input and an output size, all positive: {sizes}")
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        last = i == len(sizes) - 2
        linear = nn.Linear(n_in, n_out)
        nn.init.orthogonal_(linear.weight, out_gain if last else math.sqrt(2))
        nn.init.zeros_(linear.bias)
        layers.append(linear)
        if not last:
            layers.append(activation())
    return nn.Sequential(*layers)


class CategoricalPolicy(nn.Module):
    """pi(a|s) = softmax(f_theta(s))_a for a discrete action space."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: Sequence[int] = (64, 64)) -> None:
        super().__init__()
        self.logits = mlp([obs_dim, *hidden, n_actions], out_gain=0.01)

    def dist(self, obs: torch.Tensor) -> Distribution:
        return Categorical(logits=self.logits(obs))

    def act(self, obs: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
        """Sample a ~ pi(.|s) (or take the most likely action), without building a distribution
        object: on small networks that object costs as much as the network itself."""
        logits = self.logits(obs)
        if deterministic:
            return logits.argmax(-1)
        # Gumbel-max: argmax(logits + G) with G = -log(E), E ~ Exp(1), is a draw from softmax
        return (logits - torch.empty_like(logits).exponential_().log()).argmax(-1)

    def log_prob_entropy(
        self, obs: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """log pi(a|s) for the given actions, and the entropy of pi(.|s)."""
        log_p = torch.log_softmax(self.logits(obs), -1)
        log_prob = log_p.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
        return log_prob, -(log_p.exp() * log_p).sum(-1)


class GaussianPolicy(nn.Module):
    """pi(a|s) = N(mu_theta(s), diag(sigma^2)), with a learned state-independent log sigma."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: Sequence[int] = (64, 64)) -> None:
        super().__init__()
        self.mean = mlp([obs_dim, *hidden, act_dim], out_gain=0.01)
        self.log_std = nn.Parameter(torch.zeros(act_dim))

    def dist(self, obs: torch.Tensor) -> Distribution:
        return Independent(Normal(self.mean(obs), self.log_std.exp()), 1)

    def act(self, obs: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
        mean = self.mean(obs)
        return mean if deterministic else mean + self.log_std.exp() * torch.randn_like(mean)

    def log_prob_entropy(
        self, obs: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """log pi(a|s), summed over action dimensions, and the entropy of pi(.|s)."""
        mean, log_std = self.mean(obs), self.log_std
        z = (actions - mean) / log_std.exp()
        log_prob = (-0.5 * z**2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        entropy = (log_std + 0.5 * math.log(2 * math.pi * math.e)).sum().expand(len(obs))
        return log_prob, entropy


class ValueCritic(nn.Module):
    """V_w(s)."""

    def __init__(self, obs_dim: int, hidden: Sequence[int] = (64, 64)) -> None:
        super().__init__()
        self.net = mlp([obs_dim, *hidden, 1])

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs).squeeze(-1)


class DiscreteQCritic(nn.Module):
    """Q_w(s, .) for all discrete actions at once: one output per action."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: Sequence[int] = (64, 64)) -> None:
        super().__init__()
        self.net = mlp([obs_dim, *hidden, n_actions])

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)


class DeterministicPolicy(nn.Module):
    """mu_theta(s) = low + (high - low) (tanh(f_theta(s)) + 1) / 2: always inside the bounds."""

    def __init__(
        self, obs_dim: int, low: torch.Tensor, high: torch.Tensor, hidden: Sequence[int] = (64, 64)
    ) -> None:
        super().__init__()
        self.net = mlp([obs_dim, *hidden, len(low)], out_gain=0.01)
        self.register_buffer("low", torch.as_tensor(low, dtype=torch.float32))
        self.register_buffer("high", torch.as_tensor(high, dtype=torch.float32))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.low + (self.high - self.low) * (torch.tanh(self.net(obs)) + 1) / 2


class ContinuousQCritic(nn.Module):
    """Q_w(s, a) for continuous actions: an MLP on the concatenated state and action."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: Sequence[int] = (64, 64)) -> None:
        super().__init__()
        self.net = mlp([obs_dim + act_dim, *hidden, 1])

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([obs, action], dim=-1)).squeeze(-1)


def policy_for(space: gym.Space, obs_dim: int, hidden: Sequence[int] = (64, 64)) -> nn.Module:
    """A stochastic policy for ``space``: categorical for Discrete, Gaussian for Box."""
    if isinstance(space, gym.spaces.Discrete):
        return CategoricalPolicy(obs_dim, int(space.n), hidden)
    if isinstance(space, gym.spaces.Box) and len(space.shape) == 1:
        return GaussianPolicy(obs_dim, space.shape[0], hidden)
    raise ValueError(
        f"no stochastic policy for the action space {space}: expected Discrete or a 1-D Box"
    )


class ActorCritic(nn.Module):
    """A stochastic policy (``actor``) and a separate critic, both MLPs: the pair A2C, QAC,
    TRPO, VPG and PPO train. ``critic="value"``: a state-value critic V(s); ``"action"``: an
    action-value critic Q(s, .) over discrete actions (QAC). Both read observations through
    ``obs_norm``, running normalisation (:mod:`f2p.rl.normalize`) when ``normalize`` is set and
    the identity otherwise; its statistics are part of the agent's ``state_dict``."""

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        hidden: Sequence[int] = (64, 64),
        critic: str = "value",
        normalize: bool = False,
    ) -> None:
        super().__init__()
        obs_dim = math.prod(observation_space.shape)
        self.obs_norm = ObservationNormalizer(observation_space.shape, enabled=normalize)
        if critic == "action":
            check_action_space(
                action_space,
                (gym.spaces.Discrete,),
                "QAC (an action-value critic over discrete actions)",
            )
            self.critic = DiscreteQCritic(obs_dim, int(action_space.n), hidden)
        elif critic == "value":
            self.critic = ValueCritic(obs_dim, hidden)
        else:
            raise ValueError(f'critic must be "value" or "action", got {critic!r}')
        self.actor = policy_for(action_space, obs_dim, hidden)

    def greedy(self, obs: torch.Tensor) -> torch.Tensor:
        """The deterministic action (argmax or mean) for raw observations: what evaluation runs,
        with the normalisation statistics frozen."""
        return self.actor.act(self.obs_norm(obs), deterministic=True)


def flatten_parameters(module: nn.Module) -> tuple[nn.Parameter, torch.Tensor]:
    """Make every parameter of ``module``, and its gradient, a view into one flat tensor.

    The optimiser and gradient clipping then work on one tensor instead of a dozen small ones,
    which on networks this small is most of their cost. Gradients must be zeroed in place
    (``grad.zero_()``), so that backward keeps accumulating into the shared buffer.
    """
    params = list(module.parameters())
    flat = nn.Parameter(torch.cat([p.detach().reshape(-1) for p in params]))
    flat.grad = torch.zeros_like(flat)
    offset = 0
    for p in params:
        n = p.numel()
        p.data = flat.data[offset : offset + n].view_as(p)
        p.grad = flat.grad[offset : offset + n].view_as(p)
        offset += n
    return flat, flat.grad
