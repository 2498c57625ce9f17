"""Environments for the RL chapters (08-10): gymnasium ids checked, vectorised, seeded.

Vector environments reset a finished sub-environment in the same step (``SAME_STEP`` autoreset):
the observation returned is the first of the new episode, and the last observation of the
finished one is in ``info["final_obs"]``, which the rollout needs to bootstrap a *truncated*
episode (chapter 08, GAE with time limits).
"""

from __future__ import annotations

import difflib
import importlib.util

import gymnasium as gym
import numpy as np


def check_env_id(env_id: str) -> str:
    """Return ``env_id`` if gymnasium knows it; otherwise raise with the closest known ids."""
    if env_id not in gym.registry:
        close = difflib.get_close_matches(env_id, list(gym.registry), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"unknown environment id {env_id!r}{hint}")
    if is_mujoco(env_id) and importlib.util.find_spec("mujoco") is None:
        raise ModuleNotFoundError(
            f"{env_id} is a MuJoCo task and needs the mujoco package, which the course installs "
            "as an extra: pip install 'frames-to-policies[mujoco]'"
        )
    return env_id


def is_mujoco(env_id: str) -> bool:
    """Whether gymnasium's ``env_id`` is one of its MuJoCo tasks (Hopper, Walker2d, ...)."""
    return str(gym.registry[env_id].entry_point).startswith("gymnasium.envs.mujoco")


def make_env(env_id: str, seed: int) -> gym.Env:
    """One environment, reset with ``seed`` (used for evaluation)."""
    env = gym.make(check_env_id(env_id))
    env.reset(seed=seed)
    env.action_space.seed(seed)
    return env


VECTORIZATIONS = ("sync", "async")


def make_vec_env(
    env_id: str,
    num_envs: int,
    seed: int,
    vectorization: str = "sync",
    max_episode_steps: int | None = None,
) -> gym.vector.VectorEnv:
    """``num_envs`` copies, same-step autoreset, episode statistics recorded: stepped in turn
    in this process (``sync``), or each in its own process, stepped at once (``async``).
    ``max_episode_steps`` replaces the task's time limit (None: the registered one).

    Sub-environment i is seeded with ``seed + i``. ``sync`` is the default because it was faster
    for every environment of the course, measured by ``benchmarks/ch08_vector_envs.py`` (a
    classic-control step takes microseconds, less than the processes' messages cost).
    """
    if num_envs < 1:
        raise ValueError(f"num_envs must be at least 1, got {num_envs}")
    if vectorization not in VECTORIZATIONS:
        raise ValueError(f"vectorization must be one of {VECTORIZATIONS}, got {vectorization!r}")
    envs = gym.make_vec(
        check_env_id(env_id),
        num_envs=num_envs,
        vectorization_mode=vectorization,
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
        disable_env_checker=True,  # the checker's per-step wrapper only costs time here
        **({} if max_episode_steps is None else {"max_episode_steps": max_episode_steps}),
    )
    envs = gym.wrappers.vector.RecordEpisodeStatistics(envs)
    envs.reset(seed=seed)
    envs.action_space.seed(seed)
    return envs


def check_action_space(space: gym.Space, supported: tuple[type, ...], method: str) -> None:
    """Raise a clear error if ``method`` cannot act in ``space``."""
    if not isinstance(space, supported):
        names = " or ".join(s.__name__ for s in supported)
        raise ValueError(f"{method} needs a {names} action space, got {space}")


def clip_action(space: gym.Space, action: np.ndarray) -> np.ndarray:
    """``action`` clipped to the bounds of a Box ``space`` (what the environment is given; the
    policy's unclipped sample is what its log-probability is of), unchanged for other spaces."""
    if isinstance(space, gym.spaces.Box):
        return np.clip(action, space.low, space.high)
    return action


def bootstrap_observations(next_obs: np.ndarray, ended: np.ndarray, info: dict) -> np.ndarray:
    """The state after each step, for bootstrapping: ``next_obs``, except that a sub-environment
    that just finished an episode (and was reset in the same step) contributes the last state of
    that episode, from ``info["final_obs"]``."""
    out = next_obs.copy()
    for i in np.flatnonzero(ended):
        out[i] = info["final_obs"][i]
    return out


def finished_returns(info: dict) -> list[float]:
    """Undiscounted returns of the episodes that finished in this step (RecordEpisodeStatistics)."""
    if "_episode" not in info:
        return []
    return [float(info["episode"]["r"][i]) for i in np.flatnonzero(info["_episode"])]
