"""``make lab``: JupyterLab on the course, opening on the chapters as a reader's notebooks.

- ``_build/lab/chapters/``: each chapter's clean notebook (:mod:`f2p_tools.reader_notebooks`),
  rendered as the site renders it (numbers, references, citations, no MyST and no undefined
  macros), with outputs when the site is built. A notebook already there is kept: it may hold
  your work (delete it to get the current one).
- ``chapters/``: the MyST sources, which open as notebooks by default (Jupytext's notebook
  viewer, set in ``book/lab/overrides.json``); edit these to change the course.
- As root (a common container setup) it passes ``--allow-root``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from f2p_tools.reader_notebooks import ROOT, reader_notebooks

SETTINGS = ROOT / "book" / "lab"  # overrides.json: JupyterLab's defaults for this project
WORKSPACE = ROOT / "_build" / "lab"


def lab_command(*extra: str, root: Path = ROOT, settings: Path = SETTINGS) -> list[str]:
    """The ``jupyter lab`` command line: the project's settings, ``--allow-root`` as root."""
    command = [
        str(Path(sys.executable).parent / "jupyter"),
        "lab",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.app_settings_dir={settings}",
        *extra,
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    return command


def lay_out(target: Path = WORKSPACE) -> list[Path]:
    """Copy the reader's notebooks into ``target``, keeping those already there; return the
    kept ones."""
    source = reader_notebooks()
    kept = []
    for notebook in sorted((source / "chapters").glob("*/*.ipynb")):
        out = target / notebook.relative_to(source)
        if out.exists():
            kept.append(out)
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(notebook, out)
    return kept


if __name__ == "__main__":
    for path in lay_out():
        print(f"kept your copy of {path.relative_to(ROOT)} (delete it to get the current one)")
    start = (WORKSPACE / "chapters").relative_to(ROOT).as_posix()
    command = lab_command(f"--LabApp.default_url=/lab/tree/{start}", *sys.argv[1:])
    os.execv(command[0], command)
