"""Looking at clips: a grid of frames over time, and an animation for the notebook."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import torch
from matplotlib import animation

from f2p.utils import fit_to_column

# matplotlib's player draws its buttons with Font Awesome icons loaded from a CDN; the course's
# site makes no external requests, so the icons become plain text symbols
_ICONS = {
    "fa-fast-backward": "⏮",
    "fa-step-backward": "◀|",
    "fa-play fa-flip-horizontal": "◀",
    "fa-pause": "⏸",
    "fa-play": "▶",
    "fa-step-forward": "|▶",
    "fa-fast-forward": "⏭",
    "fa-minus": "−",
    "fa-plus": "+",
}


def _image(frame: torch.Tensor):
    """A (C, H, W) frame as something ``imshow`` draws: RGB if 3 channels, else grey."""
    frame = frame.clamp(0, 1).cpu()
    return frame.permute(1, 2, 0).numpy() if frame.shape[0] == 3 else frame.mean(0).numpy()


def frame_grid(clips: torch.Tensor, titles: list[str], every: int = 1) -> plt.Figure:
    """One row per clip (N, T, C, H, W), one column per ``every``-th frame."""
    n, t = clips.shape[:2]
    steps = list(range(0, t, every))
    size = fit_to_column(1.1 * len(steps), 1.15 * n, reserved=1.0)  # an inch for row titles
    fig, axes = plt.subplots(n, len(steps), figsize=size, squeeze=False)
    for i in range(n):
        for j, s in enumerate(steps):
            axes[i, j].imshow(_image(clips[i, s]), cmap="gray", vmin=0, vmax=1)
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
            if i == 0:
                axes[i, j].set_title(f"t={s}", fontsize=8)
        axes[i, 0].set_ylabel(titles[i], fontsize=8, rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig


def animate(clips: torch.Tensor, titles: list[str], interval: int = 200) -> animation.Animation:
    """An animation of clips (N, T, C, H, W) side by side; show it with
    ``HTML(animation_html(a))``."""
    n, t = clips.shape[:2]
    fig, axes = plt.subplots(1, n, figsize=fit_to_column(1.6 * n, 1.9), squeeze=False)
    images = []
    for ax, clip, title in zip(axes[0], clips, titles, strict=True):
        images.append(ax.imshow(_image(clip[0]), cmap="gray", vmin=0, vmax=1))
        ax.set_title(title, fontsize=8)
        ax.axis("off")

    def draw(s: int):
        for image, clip in zip(images, clips, strict=True):
            image.set_data(_image(clip[s]))
        return images

    anim = animation.FuncAnimation(fig, draw, frames=t, interval=interval, blit=True)
    plt.close(fig)
    return anim


def animation_html(anim: animation.Animation) -> str:
    """The animation as a self-contained HTML player (no external stylesheet)."""
    html = re.sub(r"<link[^>]*font-awesome[^>]*>", "", anim.to_jshtml())
    return re.sub(r'<i class="fa ([^"]*)"></i>', lambda m: _ICONS.get(m.group(1), "·"), html)
