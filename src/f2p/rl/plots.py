"""Learning curves over seeds (chapters 08-10): the mean and the spread (min to max)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from f2p.utils import FIGURE_WIDTH


def learning_curves(
    curves: dict[str, list[tuple[list[int], list[float]]]],
    ax: plt.Axes | None = None,
    ylabel: str = "evaluation return",
) -> plt.Axes:
    """``curves[label]`` holds one (steps, values) pair per seed, all with the same steps."""
    ax = ax or plt.subplots(figsize=(FIGURE_WIDTH, 3.8))[1]
    for i, (label, runs) in enumerate(curves.items()):
        steps = np.asarray(runs[0][0])
        values = np.array([v for _, v in runs])
        seeds = "1 seed" if len(runs) == 1 else f"mean of {len(runs)} seeds, min to max shaded"
        ax.plot(steps, values.mean(0), color=f"C{i}", label=f"{label} ({seeds})")
        ax.fill_between(steps, values.min(0), values.max(0), color=f"C{i}", alpha=0.2)
    ax.set(xlabel="environment steps", ylabel=ylabel)
    ax.legend(fontsize=8)
    return ax
