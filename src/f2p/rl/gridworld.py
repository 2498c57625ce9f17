"""A small grid world with exact values, and tabular actor-critic algorithms (chapter 08).

The world follows the grid worlds of Zhao's *Mathematical Foundations of Reinforcement Learning*:
the agent moves up, right, down, left or stays; moving into the wall leaves it in place with
reward -1; entering a forbidden cell gives -1 (it may enter), reaching the target +1; every
other move 0. The task is continuing (the target is not terminal) with discount gamma.

Being tabular, everything is exact: for a policy pi (an |S| x |A| matrix),

    v_pi = (I - gamma P_pi)^{-1} r_pi,     q_pi(s, a) = r(s, a) + gamma sum_s' p(s'|s, a) v_pi(s'),

so the reader can watch a critic converge to the truth. Policies are tabular softmaxes
pi(a|s) = softmax(theta[s])_a, for which grad_theta log pi(a|s) = e_a - pi(.|s) in row s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ACTIONS = ((-1, 0), (0, 1), (1, 0), (0, -1), (0, 0))  # up, right, down, left, stay
ACTION_NAMES = ("up", "right", "down", "left", "stay")


@dataclass(frozen=True)
class GridWorld:
    """A deterministic grid world: ``P[s, a]`` is the next state, ``R[s, a]`` the reward."""

    rows: int = 4
    cols: int = 4
    target: tuple[int, int] = (3, 2)
    forbidden: tuple[tuple[int, int], ...] = ((1, 1), (1, 2), (2, 2), (3, 1))
    gamma: float = 0.9
    r_wall: float = -1.0
    r_forbidden: float = -1.0
    r_target: float = 1.0
    P: np.ndarray = field(init=False, repr=False)
    R: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.gamma < 1:
            raise ValueError(f"gamma must lie in [0, 1) for a continuing task, got {self.gamma}")
        for r, c in (self.target, *self.forbidden):
            if not (0 <= r < self.rows and 0 <= c < self.cols):
                raise ValueError(f"cell {(r, c)} lies outside the {self.rows}x{self.cols} grid")
        P = np.zeros((self.n_states, len(ACTIONS)), dtype=int)
        R = np.zeros((self.n_states, len(ACTIONS)))
        for s in range(self.n_states):
            r, c = divmod(s, self.cols)
            for a, (dr, dc) in enumerate(ACTIONS):
                nr, nc = r + dr, c + dc
                if not (0 <= nr < self.rows and 0 <= nc < self.cols):
                    P[s, a], R[s, a] = s, self.r_wall
                    continue
                P[s, a] = nr * self.cols + nc
                if (nr, nc) == self.target:
                    R[s, a] = self.r_target
                elif (nr, nc) in self.forbidden:
                    R[s, a] = self.r_forbidden
        object.__setattr__(self, "P", P)
        object.__setattr__(self, "R", R)

    @property
    def n_states(self) -> int:
        return self.rows * self.cols

    @property
    def n_actions(self) -> int:
        return len(ACTIONS)

    def values(self, pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact v_pi and q_pi by solving the Bellman equation (I - gamma P_pi) v = r_pi."""
        if pi.shape != (self.n_states, self.n_actions):
            raise ValueError(
                f"pi should have shape {(self.n_states, self.n_actions)}, got {pi.shape}"
            )
        P_pi = np.zeros((self.n_states, self.n_states))
        np.add.at(
            P_pi, (np.repeat(np.arange(self.n_states), self.n_actions), self.P.ravel()), pi.ravel()
        )
        r_pi = (pi * self.R).sum(1)
        v = np.linalg.solve(np.eye(self.n_states) - self.gamma * P_pi, r_pi)
        q = self.R + self.gamma * v[self.P]
        return v, q

    def optimal_values(self, tol: float = 1e-10) -> np.ndarray:
        """v* by value iteration."""
        v = np.zeros(self.n_states)
        while True:
            new = (self.R + self.gamma * v[self.P]).max(1)
            if np.abs(new - v).max() < tol:
                return new
            v = new


def softmax_policy(theta: np.ndarray) -> np.ndarray:
    """pi(a|s) = softmax(theta[s])_a, row by row."""
    z = np.exp(theta - theta.max(1, keepdims=True))
    return z / z.sum(1, keepdims=True)


@dataclass
class TabularRun:
    """The trace of a tabular actor-critic run, recorded every ``record_every`` steps."""

    steps: list[int] = field(default_factory=list)
    critic_error: list[float] = field(default_factory=list)
    """RMS error of the critic against the exact values of the *current* policy"""
    mean_value: list[float] = field(default_factory=list)
    """average over states of v_pi for the current policy (the objective, uniform start)"""
    theta: np.ndarray | None = None
    critic: np.ndarray | None = None


ALGORITHMS = ("QAC", "A2C", "off-policy A2C")


def tabular_actor_critic(
    world: GridWorld,
    algorithm: str = "A2C",
    steps: int = 20_000,
    actor_lr: float = 0.1,
    critic_lr: float = 0.1,
    behaviour: np.ndarray | None = None,
    episode_length: int = 50,
    record_every: int = 200,
    seed: int = 0,
) -> TabularRun:
    """One long trajectory of online actor-critic updates (chapter 08: the first three rows of
    its table of actor-critic algorithms).

    - QAC: critic q(s, a) by SARSA, actor theta += lr * grad log pi(a|s) * q(s, a).
    - A2C: critic v(s) by TD(0), actor weighted by the TD error delta (an advantage estimate).
    - off-policy A2C: actions from ``behaviour`` (default uniform); both updates are weighted
      by the importance ratio omega = pi(a|s) / beta(a|s).

    Every ``episode_length`` steps the agent restarts in a uniformly random state (a random
    start state only, not the random first action of exploring starts), so that an on-policy
    agent whose policy turns greedy early still visits every state.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    rng = np.random.default_rng(seed)
    nS, nA, gamma = world.n_states, world.n_actions, world.gamma
    theta = np.zeros((nS, nA))
    critic = np.zeros((nS, nA)) if algorithm == "QAC" else np.zeros(nS)
    if algorithm == "off-policy A2C":
        behaviour = np.full((nS, nA), 1.0 / nA) if behaviour is None else behaviour
        if behaviour.shape != (nS, nA) or np.any(behaviour <= 0):
            raise ValueError(
                "the behaviour policy must be an |S| x |A| matrix of positive probabilities"
            )
    run = TabularRun()
    s = int(rng.integers(nS))
    pi = softmax_policy(theta)
    a = int(rng.choice(nA, p=pi[s]))
    for t in range(steps + 1):
        if t % record_every == 0:
            v_true, q_true = world.values(pi)
            estimate, truth = (critic, q_true) if algorithm == "QAC" else (critic, v_true)
            run.steps.append(t)
            run.critic_error.append(float(np.sqrt(np.mean((estimate - truth) ** 2))))
            run.mean_value.append(float(v_true.mean()))
        if t == steps:
            break
        probs = behaviour[s] if algorithm == "off-policy A2C" else pi[s]
        if algorithm != "QAC":
            a = int(rng.choice(nA, p=probs))
        s_next, r = int(world.P[s, a]), float(world.R[s, a])
        score = -pi[s].copy()
        score[a] += 1.0  # grad_theta[s] log pi(a|s) = e_a - pi(.|s)
        if algorithm == "QAC":
            a_next = int(rng.choice(nA, p=pi[s_next]))
            td = r + gamma * critic[s_next, a_next] - critic[s, a]
            theta[s] += actor_lr * score * critic[s, a]
            critic[s, a] += critic_lr * td
            a = a_next
        else:
            omega = pi[s, a] / probs[a]  # importance ratio pi/beta (1 when on-policy)
            td = r + gamma * critic[s_next] - critic[s]
            theta[s] += actor_lr * omega * td * score
            critic[s] += critic_lr * omega * td
        pi[s] = softmax_policy(theta[s : s + 1])[0]
        s = s_next
        if (t + 1) % episode_length == 0:  # restart in a random state
            s = int(rng.integers(nS))
            if algorithm == "QAC":
                a = int(rng.choice(nA, p=pi[s]))
    run.theta, run.critic = theta, critic
    return run


def td0_evaluation(
    world: GridWorld, pi: np.ndarray, steps: int, lr: float, seed: int = 0
) -> np.ndarray:
    """TD(0) policy evaluation along one trajectory of ``pi``, with a decaying step size
    lr / (1 + visits(s))^0.6 so that it converges; the critic's update alone."""
    rng = np.random.default_rng(seed)
    v = np.zeros(world.n_states)
    visits = np.zeros(world.n_states)
    s = int(rng.integers(world.n_states))
    for _ in range(steps):
        a = int(rng.choice(world.n_actions, p=pi[s]))
        s_next, r = int(world.P[s, a]), float(world.R[s, a])
        visits[s] += 1
        v[s] += lr / visits[s] ** 0.6 * (r + world.gamma * v[s_next] - v[s])
        s = s_next
    return v
