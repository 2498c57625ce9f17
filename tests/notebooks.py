"""Run the chapter notebooks (MyST Markdown) as tests, and share their outputs with the book.

Each notebook is read with MyST-NB's own reader, executed by nbclient in its own folder with the
``fast`` profile, one torch thread and sockets blocked, and then stored in the book's execution
cache (jupyter-cache, the one `jupyter-book build` reads in ``cache`` mode): the build that
follows reuses these outputs instead of running every notebook a second time.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import yaml
from filelock import FileLock
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from myst_nb.core.read import read_myst_markdown_notebook
from myst_parser.config.main import MdParserConfig
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
BOOK_CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
CACHE = ROOT / BOOK_CONFIG["execute"]["cache"]
CELL_TIMEOUT_S = BOOK_CONFIG["execute"]["timeout"]
MYST_CONFIG = MdParserConfig(enable_extensions=set(BOOK_CONFIG["parse"]["myst_enable_extensions"]))
GUARD_DIR = Path(__file__).resolve().parent / "ipython_guard"


def is_myst_notebook(path: Path) -> bool:
    """A chapter page is a notebook when its front matter names a kernel (jupytext MyST format)."""
    head = path.read_text(encoding="utf-8")[:2000]
    return head.startswith("---") and "kernelspec:" in head.split("\n---", 1)[0]


def chapter_notebooks() -> list[Path]:
    return sorted(p for p in CHAPTERS.rglob("*.md") if is_myst_notebook(p))


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """The notebook exactly as the book build reads it (so the cache keys agree)."""
    return read_myst_markdown_notebook(
        path.read_text(encoding="utf-8"), config=MYST_CONFIG, path=path
    )


def kernel_env(network_log: Path) -> dict[str, str]:
    """Environment of the kernel: fast profile, one thread, the socket guard at start-up."""
    env = dict(os.environ)
    env.update(
        F2P_PROFILE="fast",
        F2P_THREADS=env.get("F2P_THREADS", "1"),
        OMP_NUM_THREADS=env.get("F2P_THREADS", "1"),
        IPYTHONDIR=str(GUARD_DIR),
        F2P_NETWORK_LOG=str(network_log),
        MPLBACKEND="module://matplotlib_inline.backend_inline",
    )
    return env


def execute(path: Path, network_log: Path) -> tuple[nbformat.NotebookNode, float]:
    """Execute the notebook at ``path`` in its own folder; return it and its run time."""
    nb = read_notebook(path)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name=nb.metadata.get("kernelspec", {}).get("name", "python3"),
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
        record_timing=False,  # timing metadata would change the cache key the book looks up
    )
    client.km = client.create_kernel_manager()
    start = time.perf_counter()
    client.execute(env=kernel_env(network_log))
    return nb, time.perf_counter() - start


def store_in_book_cache(path: Path, nb: nbformat.NotebookNode, seconds: float) -> None:
    """Put the executed notebook where `jupyter-book build` (cache mode) looks for it."""
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(CACHE) + ".lock"):  # pytest-xdist workers share one SQLite database
        get_cache(str(CACHE)).cache_notebook_bundle(
            CacheBundleIn(nb, str(path), data={"execution_seconds": seconds}),
            check_validity=False,
            overwrite=True,
        )
