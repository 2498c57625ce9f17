"""A uniform replay buffer (chapters 08-09): a ring of the last ``capacity`` transitions."""

from __future__ import annotations

import torch


class ReplayBuffer:
    """Stores transitions (s, a, r, s', terminated) in preallocated tensors on ``device``.

    When full, each new transition overwrites the oldest; ``sample`` draws a minibatch uniformly
    (with replacement) from what is stored.
    """

    def __init__(
        self, capacity: int, obs_dim: int, act_dim: int, device: torch.device | str = "cpu"
    ) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity, self.size, self.next = capacity, 0, 0
        self.obs = torch.zeros(capacity, obs_dim, device=device)
        self.actions = torch.zeros(capacity, act_dim, device=device)
        self.rewards = torch.zeros(capacity, device=device)
        self.next_obs = torch.zeros(capacity, obs_dim, device=device)
        self.terminated = torch.zeros(capacity, device=device)

    def add(self, obs, actions, rewards, next_obs, terminated) -> None:
        """Add a batch of B transitions (first axis B), wrapping around at capacity."""
        batch = len(obs)
        idx = (self.next + torch.arange(batch)) % self.capacity
        for store, value in zip(
            (self.obs, self.actions, self.rewards, self.next_obs, self.terminated),
            (obs, actions, rewards, next_obs, terminated),
            strict=True,
        ):
            value = torch.as_tensor(value, dtype=torch.float32, device=store.device)
            if value.shape[1:] != store.shape[1:] or len(value) != batch:
                expected = (batch, *store.shape[1:])
                raise ValueError(f"expected a batch of shape {expected}, got {tuple(value.shape)}")
            store[idx.to(store.device)] = value
        self.next = (self.next + batch) % self.capacity
        self.size = min(self.size + batch, self.capacity)

    def sample(
        self, batch_size: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, ...]:
        """A uniform minibatch (s, a, r, s', terminated) of ``batch_size`` stored transitions."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = torch.randint(self.size, (batch_size,), generator=generator).to(self.obs.device)
        return (
            self.obs[idx],
            self.actions[idx],
            self.rewards[idx],
            self.next_obs[idx],
            self.terminated[idx],
        )
