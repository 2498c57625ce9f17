"""Empty ``F2P_*`` and ``OMP_*`` variables count as unset (issue 39).

``f2p`` imports this module first, before torch: an empty ``OMP_NUM_THREADS`` (or any empty
OpenMP variable) makes the OpenMP runtime that torch loads print ``libgomp: Invalid value for
environment variable OMP_NUM_THREADS`` to stderr, in the kernel and in every child process, and
that line ended up on three pages of the course. Dropping them from ``os.environ`` here means
neither the runtime nor any process started afterwards (kernels of the book build, training runs
of ``f2p.parallel``) sees them. ``f2p.utils`` also reads every ``F2P_*`` variable as unset when
it is empty or blank.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

PREFIXES = ("F2P_", "OMP_")


def drop_empty_variables(environ: MutableMapping[str, str] = os.environ) -> list[str]:
    """Remove every ``F2P_*`` and ``OMP_*`` variable whose value is empty or blank from
    ``environ``; return their names."""
    empty = sorted(k for k, v in environ.items() if k.startswith(PREFIXES) and not v.strip())
    for name in empty:
        del environ[name]
    return empty


drop_empty_variables()
