"""Figures for chapter 07: image grids and training curves (plotting kept apart from training)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from f2p.utils import FIGURE_WIDTH, fit_to_column


def image_grid(
    x: torch.Tensor, height: int, width: int, cols: int = 10, pad: int = 1
) -> torch.Tensor:
    """Tile ``(N, height*width)`` images into one array, ``pad`` grey pixels between them."""
    n = len(x)
    rows = -(-n // cols)
    grid = torch.full((rows * (height + pad) + pad, cols * (width + pad) + pad), 0.5)
    for i, img in enumerate(x.detach().cpu().view(n, height, width)):
        r, c = divmod(i, cols)
        top, left = pad + r * (height + pad), pad + c * (width + pad)
        grid[top : top + height, left : left + width] = img
    return grid


def show_images(
    x: torch.Tensor,
    height: int,
    width: int,
    cols: int = 10,
    title: str = "",
    ax=None,
    boundary: int | None = None,
) -> plt.Axes:
    """Binary images in a grid (grey frames between them). With ``boundary``, a red line under
    the first ``boundary`` pixel rows of every image below the grid's first row (in a completion
    grid: the given rows above it, the sampled ones below)."""
    fig_width, fig_height = fit_to_column(cols * 0.6, max(1, -(-len(x) // cols)) * 0.6)
    ax = ax or plt.subplots(figsize=(fig_width, fig_height + 0.4))[1]
    ax.imshow(image_grid(x, height, width, cols), cmap="gray_r", vmin=0, vmax=1)
    for r in range(1, -(-len(x) // cols)) if boundary else ():
        ax.axhline(r * (height + 1) + boundary + 0.5, color="tab:red", lw=1.2)
    ax.set_title(title)
    ax.axis("off")
    return ax


def training_curves(histories: dict[str, object], ax=None) -> plt.Axes:
    """Validation (solid) and training (dashed) NLL per epoch, one colour per model, and a thin
    vertical line in the model's colour at the epoch whose parameters early stopping kept."""
    ax = ax or plt.subplots(figsize=(FIGURE_WIDTH, 4))[1]
    for i, (name, h) in enumerate(histories.items()):
        color = f"C{i}"
        ax.plot(h.valid_nll, color=color, label=name)
        ax.plot(h.train_nll, color=color, ls="--", alpha=0.6)
        ax.axvline(h.best_epoch, color=color, lw=0.8, alpha=0.4)
    ax.plot([], [], color="gray", label="validation (solid)")
    ax.plot([], [], color="gray", ls="--", label="training (dashed)")
    ax.plot([], [], color="gray", lw=0.8, alpha=0.6, label="kept epoch (vertical)")
    ax.set(
        xlabel="epoch", ylabel="NLL (nats per image)", title="training (dashed) and validation NLL"
    )
    ax.legend(fontsize=7, ncols=2)
    return ax
