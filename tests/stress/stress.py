"""Execute chapters many times, two at a time, by both paths, to reproduce the intermittent
notebook stalls (issue 24) on purpose. Not part of CI: ``make stress`` (or this script).

    python tests/stress/stress.py 06 --runs 50                  # chapter 06, 50 executions
    python tests/stress/stress.py 03 04 05 10 --runs 20         # the chapters with widgets

Runs alternate between the test harness's nbclient and ``nbconvert --execute``
(``run_once.py``), ``--parallel`` at a time. A run that passes ``--stall-after`` seconds is a
stall: before killing it, the script records ``py-spy dump`` of the client and of every process
under it (the kernel among them) and the end of the run's log, which for nbclient runs lists the
last kernel messages the client processed. Everything goes to ``--out``: one log per run,
``stall-<n>.txt`` per stall, and ``summary.json`` with counts and times per chapter and path.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from f2p_tools.runner import stacks_of  # the harness's py-spy dump

HERE = Path(__file__).resolve().parent
CHAPTERS = HERE.parents[1] / "chapters"

ROUTES = ("nbclient", "nbconvert")


@dataclass
class Run:
    number: int
    chapter: Path
    route: str
    log: Path
    process: subprocess.Popen | None = None
    started: float = 0.0
    seconds: float = 0.0
    outcome: str = "pending"  # passed, failed, stalled
    details: list[str] = field(default_factory=list)


def chapter_path(name: str) -> Path:
    """``06`` or a path to a MyST notebook."""
    path = Path(name)
    if path.suffix == ".md" and path.is_file():
        return path.resolve()
    found = sorted(CHAPTERS.glob(f"{name}_*/*.md"))
    if len(found) != 1:
        raise SystemExit(f"chapter {name!r}: expected a number such as 06 or a .md path")
    return found[0]


def dump_stacks(pid: int) -> str:
    """``py-spy dump`` of ``pid`` and its descendants (a kernel is a child of its client)."""
    try:
        processes = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return "(the run ended before its stacks could be read)\n"
    parts = []
    for process in processes:
        try:
            command = " ".join(process.cmdline())[:160]
        except psutil.Error:
            continue
        parts.append(f"=== pid {process.pid}: {command}\n{stacks_of(process.pid)}")
    return "\n".join(parts)


def start(run: Run, stall_after: float) -> None:
    """Launch ``run`` with a per-cell limit past ``stall_after``: a stalled cell is then found
    here, with its stacks, rather than ended by the cell limit without them."""
    cell_s = str(int(stall_after) + 60)
    run.started = time.perf_counter()
    run.process = subprocess.Popen(
        [sys.executable, str(HERE / "run_once.py"), run.route, str(run.chapter), cell_s],
        stdout=run.log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def finish(run: Run, stall_after: float, out: Path) -> bool:
    """Whether ``run`` is over (passed, failed, or stalled and then killed)."""
    run.seconds = time.perf_counter() - run.started
    code = run.process.poll()
    if code is not None:
        run.outcome = "passed" if code == 0 else "failed"
        return True
    if run.seconds < stall_after:
        return False
    run.outcome = "stalled"
    tail = run.log.read_text(errors="replace").splitlines()[-60:]
    report = out / f"stall-{run.number}.txt"
    report.write_text(
        f"{run.chapter.name} via {run.route}: no end after {run.seconds:.0f} s\n\n"
        f"--- stacks\n{dump_stacks(run.process.pid)}\n--- last lines of the log\n"
        + "\n".join(tail)
        + "\n"
    )
    run.details.append(str(report))
    for process in [*psutil.Process(run.process.pid).children(recursive=True), run.process]:
        try:
            process.kill()
        except (psutil.Error, ProcessLookupError):
            pass
    run.process.wait()
    return True


def summarise(runs: list[Run]) -> dict:
    summary: dict = {}
    for run in runs:
        key = f"{run.chapter.stem} via {run.route}"
        entry = summary.setdefault(key, {"passed": 0, "failed": 0, "stalled": 0, "seconds": []})
        entry[run.outcome] += 1
        entry["seconds"].append(round(run.seconds, 1))
    for entry in summary.values():
        entry["median_s"] = statistics.median(entry["seconds"])
        entry["max_s"] = max(entry["seconds"])
    return summary


def stress(
    chapters: list[Path], runs: int, parallel: int, stall_after: float, out: Path
) -> list[Run]:
    """``runs`` executions of each chapter, alternating routes, ``parallel`` at a time."""
    out.mkdir(parents=True, exist_ok=True)
    queue = [
        Run(n, chapter, ROUTES[i % 2], out / f"run-{n}.log")
        for n, (i, chapter) in enumerate(((i, c) for c in chapters for i in range(runs)), start=1)
    ]
    done: list[Run] = []
    active: list[Run] = []
    while queue or active:
        while queue and len(active) < parallel:
            active.append(queue.pop(0))
            start(active[-1], stall_after)
        time.sleep(1)
        for run in [r for r in active if finish(r, stall_after, out)]:
            active.remove(run)
            done.append(run)
            print(
                f"[{len(done)}/{len(done) + len(active) + len(queue)}] {run.chapter.stem} "
                f"via {run.route}: {run.outcome} in {run.seconds:.0f} s",
                flush=True,
            )
    (out / "summary.json").write_text(json.dumps(summarise(done), indent=2) + "\n")
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="+", help="chapter numbers (06) or .md paths")
    parser.add_argument("--runs", type=int, default=20, help="executions per chapter")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--stall-after", type=float, default=900, help="seconds per run")
    parser.add_argument("--out", type=Path, default=Path("_build/stress"))
    args = parser.parse_args()
    if args.runs < 1 or args.parallel < 1 or args.stall_after <= 0:
        parser.error("--runs, --parallel and --stall-after must be positive")
    done = stress(
        [chapter_path(c) for c in args.chapters],
        args.runs,
        args.parallel,
        args.stall_after,
        args.out,
    )
    print(json.dumps(summarise(done), indent=2))
    sys.exit(0 if all(r.outcome == "passed" for r in done) else 1)


if __name__ == "__main__":
    main()
