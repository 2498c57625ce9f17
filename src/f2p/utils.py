"""Shared utilities: device choice, seeding, run profiles, timing, threads, plot style, and the
package's source as the chapters show it.

Every chapter starts with the same few lines (see chapter 00, "Getting started")::

    import f2p
    prof = f2p.utils.profile()          # budgets of this run: fast (CPU, CI) or full (GPU)
    f2p.utils.set_threads(prof.threads) # one torch thread is fastest for small models
    f2p.utils.seed_everything(0)
    dev = f2p.utils.device()

The environment chooses, the code never hard-codes:

``F2P_PROFILE``  ``fast`` or ``full`` (default: ``full`` when CUDA is available, else ``fast``).
``F2P_DEVICE``   a torch device string such as ``cpu``, ``cuda`` or ``cuda:1`` (default: CUDA if
                 available, else CPU).
``F2P_THREADS``  torch intra-op threads; overrides the profile's choice.
``F2P_PROCESSES`` independent training runs at a time (``f2p.parallel``); overrides the profile's.
"""

from __future__ import annotations

import ast
import atexit
import importlib
import importlib.util
import inspect
import json
import os
import platform
import random
import re
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

PROFILES = ("fast", "full")
T = TypeVar("T")


def device() -> torch.device:
    """The one place where the course chooses a device.

    ``F2P_DEVICE`` overrides the default (CUDA when available, otherwise CPU). An unknown or
    unavailable device is a clear error rather than a silent fallback.
    """
    requested = os.environ.get("F2P_DEVICE", "").strip()
    if not requested:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(requested)
    except RuntimeError as err:
        raise ValueError(
            f"F2P_DEVICE={requested!r} is not a torch device; "
            "expected e.g. 'cpu', 'cuda' or 'cuda:0'"
        ) from err
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"F2P_DEVICE={requested!r} but CUDA is not available on this machine")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"F2P_DEVICE={requested!r} but only "
                f"{torch.cuda.device_count()} CUDA device(s) exist"
            )
    elif dev.type != "cpu":
        raise ValueError(f"F2P_DEVICE={requested!r}: expected a 'cpu' or 'cuda' device")
    return dev


def seed_everything(seed: int, deterministic: bool = True) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA); return a torch generator with that seed.

    With ``deterministic`` the cuDNN autotuner is off and cuDNN picks deterministic kernels, so
    the same seed gives the same numbers on CPU (and, as far as CUDA allows, on a GPU).
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic
    return torch.Generator().manual_seed(seed)


def autocast(device: torch.device | str, enabled: bool | None = None) -> torch.autocast:
    """Mixed precision for a training step on ``device`` when ``enabled`` (``None``: as the run's
    profile says, :attr:`Profile.bf16`): matrix products and convolutions run in bfloat16, while
    the operations autocast keeps in float32 (softmax, log-softmax, cross-entropy and the other
    losses, reductions) stay there; parameters, gradients and optimiser states stay float32.
    bfloat16 has float32's exponent range, so no loss scaling is needed. A no-op when off."""
    enabled = profile().bf16 if enabled is None else enabled
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=enabled)


def generator_on(device: torch.device | str, gen: torch.Generator) -> torch.Generator:
    """A random generator for sampling on ``device``: ``gen`` itself when it is on that kind of
    device (so a CPU run draws the same numbers as always), otherwise a new generator on
    ``device`` seeded by one draw from ``gen`` (reproducible on a given device)."""
    device = torch.device(device)
    if gen.device.type == device.type:
        return gen
    seed = int(torch.randint(2**62, (), generator=gen))
    return torch.Generator(device=device).manual_seed(seed)


@dataclass(frozen=True)
class Profile:
    """The budgets of one run. Notebooks take every size from ``pick`` and never hard-code one."""

    name: str
    """``fast`` (laptop CPU and CI: every notebook well under 3 minutes on 2 cores) or ``full``
    (GPU: the budgets that reach the reference results)."""
    threads: int
    """torch intra-op threads: 1 in the fast profile, whose runs share the machine's cores (with
    every core busy, a second thread makes small models several times slower; on an idle machine
    it gains little: ``benchmarks/ch00_threads.py``)."""
    bf16: bool = False
    """bf16 autocast in the training steps of the video, generative and LLM trainers
    (:func:`autocast`): off in the fast profile, on in the full one where CUDA is."""
    processes: int = 1
    """independent training runs (seeds, variants) trained at a time, each in its own process on
    one thread (:func:`f2p.parallel.map_runs`): 1 in the fast profile, ``threads`` in the full
    one, whose RL chapters train dozens of small networks on the CPU."""

    @property
    def reproducible(self) -> bool:
        """The fast profile picks deterministic cuDNN kernels; the full one lets cuDNN time its
        kernels for each input shape and keep the fastest (``cudnn.benchmark``)."""
        return self.name == "fast"

    def pick(self, fast: T, full: T) -> T:
        """Return the ``fast`` budget in the fast profile and the ``full`` one in the full profile.

        A notebook writes ``steps = prof.pick(fast=300, full=20_000)``: both budgets stand side by
        side where they are used, and the run's profile chooses.
        """
        return fast if self.name == "fast" else full


def positive_int_from_env(variable: str, default: int) -> int:
    """The positive integer that ``variable`` holds, or ``default`` when it is unset or empty."""
    value = os.environ.get(variable, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{variable}={value!r}: expected a positive integer")
    return int(value)


def profile(name: str | None = None) -> Profile:
    """Return the run's profile: ``name`` if given, else ``F2P_PROFILE``, else by hardware.

    The default is ``full`` when CUDA is available and ``fast`` otherwise. The fast profile uses
    one torch thread, the full one torch's default; ``F2P_THREADS`` overrides either. ``F2P_BF16``
    (``0`` or ``1``) overrides the profile's bf16 autocast, ``F2P_PROCESSES`` its number of
    training runs at a time.
    """
    chosen = name if name is not None else os.environ.get("F2P_PROFILE", "").strip().lower()
    if not chosen:
        chosen = "full" if torch.cuda.is_available() else "fast"
    if chosen not in PROFILES:
        raise ValueError(
            f"unknown profile {chosen!r}: expected one of {', '.join(PROFILES)} (set F2P_PROFILE)"
        )
    threads = positive_int_from_env(
        "F2P_THREADS", 1 if chosen == "fast" else torch.get_num_threads()
    )
    bf16 = chosen == "full" and torch.cuda.is_available()
    override = os.environ.get("F2P_BF16", "").strip()
    if override:
        if override not in ("0", "1"):
            raise ValueError(f"F2P_BF16={override!r}: expected 0 or 1")
        bf16 = override == "1"
    processes = positive_int_from_env("F2P_PROCESSES", 1 if chosen == "fast" else threads)
    return Profile(name=chosen, threads=threads, bf16=bf16, processes=processes)


def set_threads(n: int) -> None:
    """Set torch's intra-op thread count (and the BLAS hint for child processes).

    Small models are dominated by per-op overhead: where the cores are shared, one thread beats
    two for the course's models, several times over (``benchmarks/ch00_threads.py`` measures
    it). Inter-op threads can only be set once per process, so they are left alone.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"thread count must be a positive int, got {n!r}")
    torch.set_num_threads(n)
    os.environ["OMP_NUM_THREADS"] = str(n)


def _cuda_sync() -> None:
    """Wait for queued CUDA work (kernels run asynchronously), if CUDA is in use at all."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


class Timer:
    """Wall-clock timer usable as a context manager or by ``start``/``stop``; on a machine using
    CUDA it synchronises at both ends, so GPU work launched inside is counted.

    >>> with Timer() as t:
    ...     _ = sum(range(1000))
    >>> t.seconds >= 0
    True
    """

    def __init__(self) -> None:
        self._start: float | None = None
        self.seconds: float = 0.0

    def start(self) -> Timer:
        _cuda_sync()
        self._start = time.perf_counter()
        return self

    def stop(self) -> float:
        if self._start is None:
            raise RuntimeError("Timer.stop() called before Timer.start()")
        _cuda_sync()
        self.seconds = time.perf_counter() - self._start
        self._start = None
        return self.seconds

    def __enter__(self) -> Timer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def warm_timings(fn, repeats: int = 5, warmup: int = 1) -> list[float]:
    """Seconds taken by each of ``repeats`` calls of ``fn()``, after ``warmup`` untimed calls
    (first-call costs: allocation, caches, lazy imports). Report a median with the range."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats}, {warmup}")
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeats):
        with Timer() as t:
            fn()
        seconds.append(t.seconds)
    return seconds


def machine() -> str:
    """This machine in words, for results and the site: CPU model, cores, GPU."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), flags=re.MULTILINE)
        model = found.group(1).strip() if found else ""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{model or platform.machine()}, {os.cpu_count()} CPU cores, {gpu}"


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


def run_report() -> dict[str, object]:
    """This process's device, its GPU's name and its peak GPU memory (bytes allocated by torch;
    None without CUDA)."""
    cuda = torch.cuda.is_available() and device().type == "cuda"
    return {
        "device": str(device()),
        "gpu": torch.cuda.get_device_name(device()) if cuda else None,
        "peak_gpu_bytes": torch.cuda.max_memory_allocated(device()) if cuda else None,
        "threads": torch.get_num_threads(),
    }


def write_run_report(path: Path) -> None:
    """Write :func:`run_report` to ``path`` as JSON, whole or not at all (written beside it,
    then renamed)."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(run_report()), encoding="utf-8")
    partial.replace(path)


@dataclass(frozen=True)
class Source:
    """A function's or class's source code, shown by notebooks as a highlighted Python block."""

    name: str
    code: str

    def _repr_markdown_(self) -> str:
        runs = re.findall(r"`+", self.code)
        fence = "`" * max(3, 1 + max(map(len, runs), default=0))
        return f"{fence}python\n{self.code.rstrip()}\n{fence}"

    def __repr__(self) -> str:
        return self.code.rstrip()


def show_source(
    dotted_name: str, first_lines: int | None = None, import_module: bool = True
) -> Source:
    """The source of ``dotted_name`` (a function, class or method, e.g.
    ``"f2p.rl.trpo.conjugate_gradient"`` or ``"f2p.oad.models.IDUCell.forward"``), imported from
    the installed package, so a chapter shows the code it runs, in the site and in any notebook;
    only its ``first_lines`` when given. ``import_module=False`` reads the installed module's
    file instead of importing it: for modules whose optional dependencies are slow to import or
    absent (``f2p.llm.trl_bridge``)."""
    code = _source_from_import(dotted_name) if import_module else _source_from_file(dotted_name)
    lines = code.splitlines(keepends=True)[:first_lines]
    return Source(dotted_name, textwrap.dedent("".join(lines)))


def _source_from_import(dotted_name: str) -> str:
    """The source of a function, class or method, found by importing the longest importable
    module prefix of ``dotted_name`` and following the attributes after it."""
    parts = dotted_name.split(".")
    for split in range(len(parts) - 1, 0, -1):  # the longest importable module prefix
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attribute in parts[split:]:
                obj = getattr(obj, attribute)
            return inspect.getsource(obj)
        except (AttributeError, TypeError, OSError) as err:
            raise ValueError(f"show_source({dotted_name!r}): {err}") from err
    raise ValueError(
        f"show_source: expected 'package.module.name' of a function, class or method, "
        f"got {dotted_name!r}"
    )


def _source_from_file(dotted_name: str) -> str:
    """The source lines (decorators included) of a function, class or method, found in its
    module's file by parsing it, never importing the module itself (only its parent packages)."""
    parts = dotted_name.split(".")
    for split in range(1, len(parts)):
        spec = importlib.util.find_spec(".".join(parts[:split]))
        if spec is None or spec.origin is None:
            break
        if spec.submodule_search_locations is None:  # a module, not a package: its file
            text = Path(spec.origin).read_text(encoding="utf-8")
            node: ast.AST = ast.parse(text)
            for name in parts[split:]:
                found = [
                    child
                    for child in getattr(node, "body", [])
                    if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                    and child.name == name
                ]
                if not found:
                    raise ValueError(f"show_source({dotted_name!r}): no {name!r} in {spec.origin}")
                node = found[0]
            start = min([d.lineno for d in node.decorator_list] + [node.lineno])
            return "".join(text.splitlines(keepends=True)[start - 1 : node.end_lineno])
    raise ValueError(f"show_source: no module file found for {dotted_name!r}")
