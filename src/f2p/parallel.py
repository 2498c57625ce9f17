"""Independent training runs (seeds, variants) in parallel processes.

The RL chapters' ``full`` profile trains dozens of small networks whose every step waits for an
environment on the CPU; on shared cores a second thread slows such a run down
(``benchmarks/ch00_threads.py``), but a second core running *another* run halves the wait.
:func:`map_runs` trains the runs of a comparison ``Profile.processes`` at a time, each in its own
process on one torch thread. Every trainer seeds itself from its ``seed`` argument, so the
results are the same whatever the number of processes; the fast profile runs them one after the
other in the notebook's own process.
"""

from __future__ import annotations

import multiprocessing
import pickle
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import resource_tracker
from typing import Any

from tqdm.auto import tqdm

from f2p import utils


def map_runs(
    function: Callable[..., Any],
    calls: Sequence[tuple],
    processes: int | None = None,
    desc: str | None = None,
) -> list[Any]:
    """``[function(*args) for args in calls]``, ``processes`` calls at a time (default: the
    profile's), in spawned processes on one torch thread each; a progress bar named ``desc``.

    ``function`` must be importable by name in a fresh process: a package function, or a
    ``functools.partial`` of one, not a function defined in a notebook. An exception in a run is
    raised here, once every run has finished.
    """
    processes = utils.profile().processes if processes is None else processes
    if not isinstance(processes, int) or isinstance(processes, bool) or processes < 1:
        raise ValueError(f"processes must be a positive int, got {processes!r}")
    bar = tqdm(total=len(calls), desc=desc, disable=desc is None)
    if processes == 1 or len(calls) < 2:
        results = []
        for args in calls:
            results.append(function(*args))
            bar.update()
        bar.close()
        return results
    try:
        pickle.dumps(function)
    except (pickle.PicklingError, AttributeError, TypeError) as err:
        raise ValueError(
            f"map_runs runs {function!r} in other processes, which import it by name: pass a "
            f"package function or a functools.partial of one ({err})"
        ) from None
    context = multiprocessing.get_context("spawn")  # no forked copies of a kernel's threads
    with ProcessPoolExecutor(
        min(processes, len(calls)), mp_context=context, initializer=utils.set_threads, initargs=(1,)
    ) as pool:
        futures = [pool.submit(function, *args) for args in calls]
        for _ in as_completed(futures):
            bar.update()
    bar.close()
    stop_resource_tracker()
    return [future.result() for future in futures]


def stop_resource_tracker() -> None:
    """Stop the helper process that a spawned pool leaves behind (multiprocessing's resource
    tracker; the next pool starts another). It ignores SIGTERM, so a Jupyter kernel that still
    has it at shutdown spends about 15 s signalling it, and is killed by its client before its
    exit handlers run (``f2p.utils.setup``'s run report among them)."""
    stop = getattr(resource_tracker._resource_tracker, "_stop", None)  # private, Python >= 3.8
    if stop is not None:
        stop()
