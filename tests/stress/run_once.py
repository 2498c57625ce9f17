"""One execution of a chapter for the stress script (``stress.py``), by one of two paths:

    python tests/stress/run_once.py nbclient chapters/06_online_detection/online_detection.md
    python tests/stress/run_once.py nbconvert chapters/06_online_detection/online_detection.md 660

``nbclient`` is the test harness's path (:mod:`f2p_tools.runner`), with every IOPub message the
client processes logged to stderr (time, type, execution state or stream size), so that a stalled
run's log ends with the last messages the client saw. ``nbconvert`` is a reader's path: the
notebook as the site serves it, run by ``python -m nbconvert --execute`` in the chapter's folder.
Both run the fast profile on one torch thread with the network guard, as the tests do. The
per-cell limit in seconds (660 above) defaults to the harness's; the stress script sets it past
its own stall limit, so that the stress script finds a stall, and records the stacks, first.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from f2p_tools.runner import (
    CELL_TIMEOUT_S,
    describe_message,
    execute,
    kernel_env,
    nbconvert_command,
    read_notebook,
)


def via_nbclient(path: Path, log: Path, cell_s: int) -> None:
    def report(msg: dict) -> None:
        print(describe_message(msg), file=sys.stderr)

    execute(path, log, cell_s, on_message=report)


def via_nbconvert(path: Path, log: Path, cell_s: int) -> None:
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".stress-") as folder:
        notebook = Path(folder) / f"{path.stem}.ipynb"
        nbformat.write(read_notebook(path), notebook)
        subprocess.run(
            nbconvert_command(sys.executable, notebook, cell_s),
            cwd=path.parent,
            env=kernel_env(log),
            check=True,
        )


if __name__ == "__main__":
    route, chapter = sys.argv[1], Path(sys.argv[2]).resolve()
    cell_s = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3].isdigit() else CELL_TIMEOUT_S
    runners = {"nbclient": via_nbclient, "nbconvert": via_nbconvert}
    if route not in runners or not chapter.is_file() or len(sys.argv) > 4:
        raise SystemExit(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        runners[route](chapter, Path(tmp) / "network.log", cell_s)
