"""Wall-clock timing that counts GPU work (:class:`Timer`, :func:`warm_timings`) and this machine
in words (:func:`machine`), for benchmarks, results and the site. Chapters reach these through
:mod:`f2p.utils`.
"""

from __future__ import annotations

import os
import platform
import re
import time
from pathlib import Path

import torch


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
