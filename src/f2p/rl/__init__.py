"""Reinforcement learning core shared by chapters 08-10 (actor-critic, DDPG, TRPO).

``envs``          gymnasium ids checked, vectorised and seeded environments
``networks``      MLP actors (categorical, Gaussian, deterministic), critics (V, Q), the
                  actor-critic pair and flat parameter views
``returns``       discounted returns, GAE, importance ratios
``rollout``       the run record every trainer returns (RunHistory) and on-policy rollouts
``actor_critic``  A2C and QAC (chapter 08)
``deterministic`` off-policy deterministic actor-critic (chapter 08, the bridge to DDPG)
``ddpg``          DDPG: replay, target networks, OU/Gaussian exploration (chapter 09)
``trpo``          conjugate gradient, Fisher-vector products, the trust-region step (chapter 10)
``gridworld``     a tabular grid world with exact values, tabular actor-critics (chapter 08)
``replay``        a uniform replay buffer
``evaluate``      deterministic evaluation on a separate seeded environment
``plots``         learning curves over seeds
"""

from f2p.rl.actor_critic import ActorCriticConfig, train_actor_critic
from f2p.rl.deterministic import DeterministicConfig, train_deterministic_ac
from f2p.rl.envs import make_env, make_vec_env
from f2p.rl.evaluate import after_start, collapsed, evaluate, largest_fall, sustained_index
from f2p.rl.replay import ReplayBuffer
from f2p.rl.returns import discounted_returns, gae, importance_ratio
from f2p.rl.rollout import RunHistory

__all__ = [
    "ActorCriticConfig",
    "DeterministicConfig",
    "RunHistory",
    "ReplayBuffer",
    "discounted_returns",
    "evaluate",
    "gae",
    "importance_ratio",
    "make_env",
    "make_vec_env",
    "sustained_index",
    "largest_fall",
    "collapsed",
    "after_start",
    "train_actor_critic",
    "train_deterministic_ac",
]
