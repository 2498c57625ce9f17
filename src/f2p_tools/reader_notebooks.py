"""The chapters as a reader's notebooks (:mod:`f2p_tools.clean_notebooks`), wherever they are
needed: the built site's downloads when they are up to date, else a quick build of the book that
executes nothing (about 20 s), whose notebooks have no outputs. ``make lab`` and the instructors'
kit (``book/assignments.py``) read them from here, so all three use the one conversion.

    python -m f2p_tools.reader_notebooks [OUT]     the notebooks' folder (default _build/reader)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

try:
    import fcntl  # POSIX; elsewhere concurrent quick builds are not serialised
except ImportError:
    fcntl = None

from f2p_tools.settings import ROOT

CONVERTER = Path(__file__).with_name("clean_notebooks.py")  # not imported: it needs docutils

SITE = ROOT / "_build" / "html"
QUICK = ROOT / "_build" / "reader"


def chapter_sources() -> list[Path]:
    return sorted((ROOT / "chapters").glob("*/*.md"))


def _notebooks(site: Path) -> list[Path]:
    return sorted((site / "_sources" / "chapters").glob("*/*.ipynb"))


def up_to_date(site: Path) -> bool:
    """Whether ``site`` has every chapter's notebook, each newer than its source and than the
    converter."""
    found = {p.relative_to(site / "_sources").with_suffix("") for p in _notebooks(site)}
    sources = chapter_sources()
    wanted = {p.relative_to(ROOT).with_suffix("") for p in sources}
    if not wanted <= found:
        return False
    newest = max(p.stat().st_mtime for p in [*sources, CONVERTER])
    return all(p.stat().st_mtime >= newest for p in _notebooks(site))


def quick_build(out: Path = QUICK) -> Path:
    """Build the book into ``out`` without executing any notebook; return its HTML folder."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    extensions = config["sphinx"]["local_extensions"]
    config["sphinx"]["local_extensions"] = {k: str(ROOT / v) for k, v in extensions.items()}
    out.mkdir(parents=True, exist_ok=True)
    (out / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    build = subprocess.run(
        [Path(sys.executable).parent / "jupyter-book", "build", str(ROOT), "--config",
         str(out / "_config.yml"), "--path-output", str(out)],
        capture_output=True, text=True, env={**os.environ, "F2P_PROFILE": "fast"},
    )  # fmt: skip
    html = out / "_build" / "html"
    if build.returncode != 0 or not _notebooks(html):
        raise SystemExit(f"the quick build of the book failed:\n{build.stdout[-3000:]}")
    return html


def reader_notebooks(site: Path = SITE, out: Path = QUICK) -> Path:
    """The folder holding ``chapters/NN_topic/name.ipynb``: the built site's, else an up-to-date
    quick build's, else a new quick build's (one at a time: processes that ask at once wait for
    the first one's)."""
    if up_to_date(site):
        return site / "_sources"
    out.mkdir(parents=True, exist_ok=True)
    with open(out.with_suffix(".lock"), "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        html = out / "_build" / "html"
        return (html if up_to_date(html) else quick_build(out)) / "_sources"


if __name__ == "__main__":
    print(reader_notebooks(out=Path(sys.argv[1]) if len(sys.argv) > 1 else QUICK))
