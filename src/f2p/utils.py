"""Every chapter's first cell, and the names chapters use, from the modules that hold them.

Every chapter starts with :func:`setup` (see chapter 00, "Getting started")::

    import f2p
    prof, dev = f2p.utils.setup()       # profile, threads, seeds, plot style; the device

which does what these lines spell out::

    prof = f2p.utils.profile()          # budgets of this run: fast (CPU, CI) or full (GPU)
    f2p.utils.set_threads(prof.threads) # one torch thread where the cores are shared
    f2p.utils.seed_everything(0)
    dev = f2p.utils.device()

The code is split by concern, and every name stays reachable here as ``f2p.utils.<name>``:

- :mod:`f2p.runtime`: the profile, the device, seeding, threads, bf16 autocast, the run report;
- :mod:`f2p.timing`: :class:`Timer`, :func:`warm_timings`, :func:`machine`;
- :mod:`f2p.plotting`: :data:`FIGURE_WIDTH`, :func:`fit_to_column`, the course's plot style;
- :mod:`f2p.source`: :func:`show_source`, the package's code as the chapters show it.

The environment chooses, the code never hard-codes:

``F2P_PROFILE``  ``fast`` or ``full`` (default: ``full`` when CUDA is available, else ``fast``).
``F2P_DEVICE``   a torch device string such as ``cpu``, ``cuda`` or ``cuda:1`` (default: CUDA if
                 available, else CPU).
``F2P_THREADS``  torch intra-op threads; overrides the profile's choice.
``F2P_PROCESSES`` independent training runs at a time (``f2p.parallel``); overrides the profile's.

The others (``F2P_BF16``, ``F2P_DATA``, ``F2P_RUN_REPORT``, ...) are in the table of
``book/how_to_use.md``.
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path

import torch

from f2p.plotting import FIGURE_WIDTH, PLOT_STYLE, fit_to_column, plot_style, set_plot_style
from f2p.runtime import (
    PROFILES,
    Profile,
    autocast,
    device,
    generator_on,
    positive_int_from_env,
    profile,
    run_report,
    seed_everything,
    set_threads,
    write_run_report,
)
from f2p.source import Source, show_source
from f2p.timing import Timer, machine, warm_timings

__all__ = [
    "FIGURE_WIDTH",
    "PLOT_STYLE",
    "PROFILES",
    "Profile",
    "Source",
    "Timer",
    "autocast",
    "device",
    "fit_to_column",
    "generator_on",
    "machine",
    "plot_style",
    "positive_int_from_env",
    "profile",
    "run_report",
    "seed_everything",
    "set_plot_style",
    "set_threads",
    "setup",
    "show_source",
    "warm_timings",
    "write_run_report",
]


def setup(seed: int = 0) -> tuple[Profile, torch.device]:
    """The first cell of every chapter: read the profile, set its threads, seed everything,
    apply the plot style; return the profile and the device. With ``F2P_RUN_REPORT`` set (by
    ``benchmarks/suite.py``), the process writes :func:`run_report` there when it exits."""
    prof = profile()
    set_threads(prof.threads)
    seed_everything(seed, deterministic=prof.reproducible)
    set_plot_style()
    report = os.environ.get("F2P_RUN_REPORT", "").strip()
    if report:
        atexit.register(write_run_report, Path(report))
    return prof, device()
