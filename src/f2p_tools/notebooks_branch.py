"""Lay out the built site's executed notebooks for the ``notebooks`` branch, where the launch
buttons (Colab, Binder, JupyterHub) open them: each ``chapters/NN_topic/name.ipynb`` at its
source's path, and a ``requirements.txt`` from which Binder installs the course's package.

    python -m f2p_tools.notebooks_branch _build/html _build/notebooks     (make notebooks)
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat

import f2p
from f2p_tools.book import DOWNLOADS, WHEEL, site_url  # the wheel the site serves


def requirement() -> str:
    """The site's wheel when the site's address is known (``F2P_SITE_URL``, or GitHub Pages of
    ``GITHUB_REPOSITORY``, a release's under ``/vX.Y.Z/``), else the version on the package
    index."""
    site = site_url()
    return f"{site}{DOWNLOADS}/{WHEEL}" if site else f"{f2p.__distribution__}=={f2p.__version__}"


def lay_out(site: Path, target: Path) -> list[Path]:
    """Copy ``site``'s executed chapter notebooks into ``target``; return them. Each must have
    outputs (a notebook without any is a build that did not merge them: an error)."""
    notebooks = sorted((site / "_sources" / "chapters").glob("*/*.ipynb"))
    if not notebooks:
        raise SystemExit(f"{site}: no executed chapter notebooks; run `make book` first")
    if target.exists():
        shutil.rmtree(target)
    copied = []
    for path in notebooks:
        notebook = nbformat.read(path, as_version=4)
        if not any(cell.get("outputs") for cell in notebook.cells):
            raise SystemExit(f"{path}: a downloaded notebook without outputs")
        out = target / path.relative_to(site / "_sources")
        out.parent.mkdir(parents=True, exist_ok=True)
        copied.append(Path(shutil.copy2(path, out)))
    (target / "requirements.txt").write_text(
        "# Binder installs the course's package (CPU torch keeps the image small)\n"
        "--extra-index-url https://download.pytorch.org/whl/cpu\n"
        f"{requirement()}\n"
    )
    (target / "README.md").write_text(
        f"# Frames to Policies: executed notebooks ({f2p.__version__})\n\n"
        "Written by the publishing workflow from the built site; the sources are on `main`.\n"
    )
    return copied


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    copied = lay_out(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"{len(copied)} executed notebooks in {sys.argv[2]}")
