"""Run the chapter notebooks (MyST Markdown) as tests, and share their outputs with the book.

Each notebook is read with MyST-NB's own reader, executed by nbclient in its own folder with the
``fast`` profile, one torch thread and sockets blocked, and then stored in the book's execution
cache (jupyter-cache, the one `jupyter-book build` reads in ``cache`` mode): the build that
follows reuses these outputs instead of running every notebook a second time (it can also
execute them itself: the cache saves the second run, the build does not need it).

One runner for all who execute chapters: ``tests/test_notebooks.py``, the GPU suite
(``benchmarks/suite.py``, full profile) and the stress script (``tests/stress``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from queue import Empty

import nbformat
from filelock import FileLock
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_client.client import KernelClient
from myst_nb.core.read import read_myst_markdown_notebook
from myst_parser.config.main import MdParserConfig
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError

from f2p_tools.book import is_chapter, with_setup_cell  # the book's own page text
from f2p_tools.settings import BOOK_CONFIG, ROOT, cell_timeout

CHAPTERS = ROOT / "chapters"
CACHE = ROOT / BOOK_CONFIG["execute"]["cache"]
# Per-cell limit: a cell that runs (or waits for a kernel reply) longer fails the run, naming the
# chapter and cell (f2p_tools.settings: the fast profile's limit; F2P_CELL_TIMEOUT overrides it).
CELL_TIMEOUT_S = cell_timeout()
# How often the client looks for a cell's reply even when nothing woke it (issue 24's cause): see
# PromptClient.
SHELL_POLL_SLICE_S = 0.5
MYST_CONFIG = MdParserConfig(enable_extensions=set(BOOK_CONFIG["parse"]["myst_enable_extensions"]))
GUARD_DIR = ROOT / "tests" / "ipython_guard"  # the kernels' start-up: sockets blocked


def is_myst_notebook(path: Path) -> bool:
    """A chapter page is a notebook when its front matter names a kernel (jupytext MyST format)."""
    head = path.read_text(encoding="utf-8")[:2000]
    return head.startswith("---") and "kernelspec:" in head.split("\n---", 1)[0]


def chapter_notebooks(chapters: Path = CHAPTERS) -> list[Path]:
    """The MyST notebooks under ``chapters`` (the course's chapters unless told another folder)."""
    return sorted(p for p in chapters.rglob("*.md") if is_myst_notebook(p))


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """The notebook exactly as the book build reads it, setup cell included (so the cache keys
    agree and the tests run what the site shows)."""
    text = path.read_text(encoding="utf-8")
    inside = path.resolve().is_relative_to(ROOT)
    docname = path.resolve().relative_to(ROOT).with_suffix("").as_posix() if inside else ""
    if is_chapter(docname):
        text = with_setup_cell(text, docname)
    return read_myst_markdown_notebook(text, config=MYST_CONFIG, path=path)


def kernel_env(network_log: Path, profile: str = "fast") -> dict[str, str]:
    """Environment of the kernel: the profile (fast unless the GPU suite asks for full), one
    thread unless F2P_THREADS says otherwise, the socket guard at start-up."""
    env = dict(os.environ)
    env.update(
        F2P_PROFILE=profile,
        F2P_THREADS=env.get("F2P_THREADS", "").strip() or "1",  # empty counts as unset
        OMP_NUM_THREADS=env.get("F2P_THREADS", "").strip() or "1",
        IPYTHONDIR=str(GUARD_DIR),
        F2P_NETWORK_LOG=str(network_log),
        MPLBACKEND="module://matplotlib_inline.backend_inline",
    )
    return env


def nbconvert_command(python: str | Path, notebook: str | Path, timeout: int) -> list[str]:
    """A reader's way to execute ``notebook`` in place: ``python -m nbconvert --execute``."""
    return [
        str(python),
        "-m",
        "nbconvert",
        "--to",
        "notebook",
        "--execute",
        "--inplace",
        f"--ExecutePreprocessor.timeout={timeout}",
        str(notebook),
    ]


def in_slices(
    get_msg: Callable[..., Awaitable[dict]], slice_s: float
) -> Callable[..., Awaitable[dict]]:
    """``get_msg(timeout)`` that waits in slices of at most ``slice_s`` seconds: each slice ends
    with a fresh look at the socket, so a message whose wake-up was lost is read within a slice.
    ``Empty`` is raised, as before, only once ``timeout`` has passed."""

    async def get_msg_in_slices(timeout: float | None = None) -> dict:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = slice_s if deadline is None else min(slice_s, deadline - time.monotonic())
            try:
                return await get_msg(timeout=max(left, 0.0))
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    return get_msg_in_slices


class PromptClient(NotebookClient):
    """nbclient's client, except that it looks for a cell's reply every ``SHELL_POLL_SLICE_S``.

    Why (issue 24): nbclient stands in for the frontend of an Output widget, the widget that
    ``widgets.interact`` draws into, and sends that widget's state back to the kernel on the
    shell channel while it is waiting for the cell's reply on the same socket. A send can use up
    the socket's wake-up (ZeroMQ signals new messages on an edge-triggered file descriptor), so
    the reply, already there, is not read until the wait times out: the whole per-cell limit,
    or never when there is none (``nbconvert --execute``'s default). The kernel sits idle, having
    replied. ``tests/stress/lost_wakeup.py`` measures it; the chapters draw no Output widgets.
    """

    async def async_start_new_kernel_client(self) -> KernelClient:
        kc = await super().async_start_new_kernel_client()
        kc.shell_channel.get_msg = in_slices(kc.shell_channel.get_msg, SHELL_POLL_SLICE_S)
        return kc


class CellTimeout(RuntimeError):
    """A cell ran (or its reply was awaited) past the per-cell limit."""


def describe_message(msg: dict) -> str:
    """One line per kernel message: time, channel, type, state or stream name, size."""
    content = msg.get("content", {})
    detail = content.get("execution_state") or content.get("name") or ""
    return f"{time.time():.3f} iopub {msg['msg_type']} {detail} {len(json.dumps(content))}B"


def stacks_of(pid: int) -> str:
    """``py-spy dump`` of process ``pid`` (a kernel), or why there is none."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    try:
        dumped = subprocess.run(
            [spy, "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"(no stacks of pid {pid}: {err})"
    return dumped.stdout + dumped.stderr


class StallWitness:
    """Evidence for a cell that passes its limit (issue 24): the last kernel messages the client
    processed and, at 90% of the limit, while the kernel still runs, the kernel's stacks and the
    client's. nbclient shuts the kernel down before it raises its timeout, so the stacks must be
    taken before it does."""

    def __init__(self, client: NotebookClient, limit_s: float) -> None:
        self.client, self.limit_s = client, limit_s
        self.messages: deque[str] = deque(maxlen=40)
        self.evidence = ""
        self.cell_started = time.monotonic()
        self.done = threading.Event()
        self.watcher = threading.Thread(target=self.watch, daemon=True)

    def watch(self) -> None:
        while not self.done.wait(min(1.0, self.limit_s / 20)):
            late = time.monotonic() - self.cell_started > 0.9 * self.limit_s
            if late and not self.evidence:
                self.evidence = self.witness()

    def witness(self) -> str:
        pid = getattr(self.client.km.provisioner, "pid", None) if self.client.km else None
        kernel = stacks_of(pid) if pid else "(no kernel process)"
        frames = sys._current_frames()
        client = "\n".join(
            f"thread {t.name}:\n" + "".join(traceback.format_stack(frames[t.ident]))
            for t in threading.enumerate()
            if t.ident in frames and t is not threading.current_thread()
        )
        return (
            f"--- the kernel's stacks (pid {pid})\n{kernel}\n--- the client's threads\n{client}"
            "\n--- the last kernel messages the client processed\n" + "\n".join(self.messages)
        )


def execute(
    path: Path,
    network_log: Path,
    timeout: int = CELL_TIMEOUT_S,
    on_message: Callable[[dict], None] | None = None,
    profile: str = "fast",
) -> tuple[nbformat.NotebookNode, float]:
    """Execute the notebook at ``path`` in its own folder; return it and its run time. A cell
    that takes longer than ``timeout`` seconds raises :class:`CellTimeout` naming the notebook,
    the cell and its first line. ``on_message`` sees every IOPub message the client processes
    (the stress script logs them); ``profile`` is the run's (``full`` in the GPU suite)."""
    nb = read_notebook(path)
    client = PromptClient(
        nb,
        timeout=timeout,
        kernel_name=nb.metadata.get("kernelspec", {}).get("name", "python3"),
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
        record_timing=False,  # timing metadata would change the cache key the book looks up
    )
    running: list[int] = []
    witness = StallWitness(client, timeout)

    def cell_starts(cell: object, cell_index: int) -> None:
        running.append(cell_index)
        witness.cell_started, witness.evidence = time.monotonic(), ""

    client.on_cell_start = cell_starts
    process = client.process_message

    def process_and_report(msg: dict, cell: object, cell_index: int) -> object:
        witness.messages.append(describe_message(msg))
        if on_message is not None:
            on_message(msg)
        return process(msg, cell, cell_index)

    client.process_message = process_and_report
    client.km = client.create_kernel_manager()
    start = time.perf_counter()
    witness.watcher.start()
    try:
        client.execute(env=kernel_env(network_log, profile))
    except CellTimeoutError as err:
        code = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
        cell = nb.cells[running[-1]]
        first_line = (cell.source.strip().splitlines() or [""])[0][:60]
        raise CellTimeout(
            f"{path.name}: code cell {code.index(running[-1]) + 1} of {len(code)} "
            f"({first_line!r}) passed the {timeout} s per-cell limit "
            f"({time.perf_counter() - start:.0f} s into the run)\n{witness.evidence}"
        ) from err
    finally:
        witness.done.set()
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
