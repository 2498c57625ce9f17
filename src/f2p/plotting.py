"""The course's figure style: the widest figure the site shows unshrunk (:data:`FIGURE_WIDTH`),
sizes fitted to it, and the matplotlib style every chapter applies (:func:`f2p.utils.setup`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

FIGURE_WIDTH = 6.7
"""Inches: the widest figure the site shows unshrunk (its content column is 676 px wide at
1280 px, and figures are drawn at 100 dpi), so 10-point text stays at 10 px or more."""


def fit_to_column(width: float, height: float, reserved: float = 0.0) -> tuple[float, float]:
    """A figure size (inches) no wider than :data:`FIGURE_WIDTH` minus ``reserved`` (e.g. room
    for labels outside the axes), scaled down with its aspect kept; smaller sizes are kept."""
    scale = min(1.0, (FIGURE_WIDTH - reserved) / width)
    return scale * width, scale * height


PLOT_STYLE = {
    "figure.facecolor": "white",  # figures stay readable on a dark-mode page
    "savefig.facecolor": "white",
    "axes.facecolor": "white",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.figsize": (FIGURE_WIDTH, 3.6),
    "figure.dpi": 100,
    "font.size": 10,
}


def set_plot_style() -> None:
    """Apply the course's matplotlib style (white background, light grid)."""
    import matplotlib as mpl

    mpl.rcParams.update(PLOT_STYLE)


@contextmanager
def plot_style() -> Iterator[None]:
    """The course style for the figures drawn inside a ``with`` block only."""
    import matplotlib as mpl

    with mpl.rc_context(PLOT_STYLE):
        yield
