"""Frames of a policy acting in a gymnasium task, rendered off-screen, and the strip a page shows
(chapters 09-10: a hopper hopping says more to a newcomer than a learning curve).

MuJoCo renders without a display through EGL: ``MUJOCO_GL=egl`` is set when this module is
imported, unless the reader chose another backend (``osmesa`` where EGL is missing).
"""

from __future__ import annotations

import os
from collections.abc import Callable

os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from f2p.plotting import FIGURE_WIDTH  # noqa: E402
from f2p.rl.envs import check_env_id, clip_action  # noqa: E402


@torch.no_grad()
def policy_frames(
    env_id: str,
    act: Callable[[torch.Tensor], torch.Tensor],
    steps: int,
    every: int = 1,
    seed: int = 0,
    size: tuple[int, int] = (160, 120),
) -> np.ndarray:
    """Every ``every``-th frame of one episode of ``act`` (raw observation -> action; the
    deterministic policy, e.g. ``ActorCritic.greedy``) from the reset with ``seed``, at most
    ``steps`` steps: uint8 array (frames, height, width, 3). Box actions are clipped to bounds."""
    if steps < 1 or every < 1:
        raise ValueError(f"need steps >= 1 and every >= 1, got {steps}, {every}")
    width, height = size
    env = gym.make(check_env_id(env_id), render_mode="rgb_array", width=width, height=height)
    obs, _ = env.reset(seed=seed)
    frames = [env.render()]
    for t in range(1, steps + 1):
        action = act(torch.as_tensor(obs, dtype=torch.float32)[None])[0].numpy()
        action = clip_action(env.action_space, action)
        obs, _, terminated, truncated, _ = env.step(action)
        if t % every == 0:
            frames.append(env.render())
        if terminated or truncated:
            break
    env.close()
    return np.stack(frames)


def frame_strip(frames: np.ndarray, title: str = "", columns: int = 8, dt: float | None = None):
    """The frames in rows of ``columns``, each labelled with its time (``dt`` seconds between
    shown frames) or index: a static picture that needs no kernel to view."""
    rows = -(-len(frames) // columns)
    height, width = frames.shape[1:3]
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(FIGURE_WIDTH, FIGURE_WIDTH / columns * rows * height / width + 0.4),
        squeeze=False,
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(frames):
            ax.imshow(frames[i])
            ax.set_title(f"{i * dt:.2f} s" if dt else f"{i}", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
