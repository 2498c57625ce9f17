"""The tooling's settings, each written once.

- The per-cell time limit: the full profile's is ``execute.timeout`` in ``_config.yml`` (the book
  build reads it there); the fast profile's is :data:`FAST_CELL_TIMEOUT_S`, which the book build
  (:func:`f2p_tools.book.fail_fast_in_the_fast_profile`) and the notebook runner of the tests
  (:data:`f2p_tools.runner.CELL_TIMEOUT_S`) both use; ``F2P_CELL_TIMEOUT`` overrides the runner's.
- The tested PyTorch: ``TORCH`` in the ``Makefile`` (:data:`TORCH`), which installs it before the
  project; ``environment.yml`` repeats it, as conda cannot include a file.
- Every ``F2P_*`` variable, of the package and of the tooling, is listed with its default in the
  table of ``book/how_to_use.md`` (``tests/test_book_pages.py`` checks that none is missing).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]  # src/f2p_tools/settings.py: the repository
BOOK_CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))

FULL_CELL_TIMEOUT_S = int(BOOK_CONFIG["execute"]["timeout"])
"""Seconds a cell of the full profile may run (``execute.timeout`` in ``_config.yml``)."""

FAST_CELL_TIMEOUT_S = 600
"""Seconds a cell of the fast profile may run, in the book build and in the tests: past that it
has stalled (issue 24), so the run fails then, naming the cell, instead of stalling CI for the
full profile's limit."""


def cell_timeout() -> int:
    """The notebook runner's per-cell limit: ``F2P_CELL_TIMEOUT`` (seconds; empty counts as
    unset), else :data:`FAST_CELL_TIMEOUT_S`."""
    return int(os.environ.get("F2P_CELL_TIMEOUT", "").strip() or FAST_CELL_TIMEOUT_S)


TORCH = re.search(r"^TORCH\s*:=\s*(\S+)", (ROOT / "Makefile").read_text(), re.MULTILINE).group(1)
"""The tested PyTorch, ``torch==X.Y.Z``, as the ``Makefile`` pins it."""
