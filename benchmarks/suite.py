"""Every chapter's notebook, and the benchmarks that use a GPU, in one profile on one machine:
``make gpu`` runs the ``full`` profile on a CUDA device (issue 20).

Each job (a chapter notebook or a benchmark script) runs in its own process, ``--jobs`` at a
time, with ``cores / jobs`` torch threads each, and reports its wall time, its device and its peak
GPU memory (``torch.cuda.max_memory_allocated``, from ``f2p.utils.run_report``). A notebook's
headline is the text of its "**Reading**" outputs (and its result tables where it has none); a
benchmark's is the rows of the results file it writes. The executed notebooks and the benchmarks'
files are kept under ``--out``; one JSON file sums the run up, and the results page shows it.

    python benchmarks/suite.py --profile full --device cuda    # make gpu
    python benchmarks/suite.py --profile fast --device cpu --only 00_getting_started

A job that fails is recorded with its error and the others go on; the exit status says whether
all passed. Data that needs the internet (binarised MNIST for chapter 07's benchmark) is read from
the data folder (``f2p.generative.mnist.cache_dir``); without it that job is recorded as skipped,
with the reason. The fast profile runs the notebooks only (the benchmarks' budgets are full ones).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

import f2p
from f2p.generative import mnist
from f2p_tools.runner import CHAPTERS, chapter_notebooks, execute  # the tests' notebook runner
from f2p_tools.settings import FULL_CELL_TIMEOUT_S  # execute.timeout in _config.yml

ROOT = Path(__file__).resolve().parents[1]

BENCHMARKS = {  # the benchmarks whose models run on the device, with their full-profile budgets
    "ch02_tsn": [],
    "video_models_03": ["--chapter", "03"],
    "video_models_04": ["--chapter", "04"],
    "video_models_05": ["--chapter", "05"],
    "ch06_online_detection": [],
    "ch07_nade_mnist": ["--dataset", "mnist"],
    "ch11_rollout_speed": [],
}
MNIST = [mnist.cache_dir() / "mnist" / name for name, _ in mnist.FILES.values()]
NEEDS_DATA = {"07_autoregressive": MNIST, "ch07_nade_mnist": MNIST}
"""Jobs whose full profile reads data a machine may not have (a GPU machine without internet)."""
ON_THE_CPU = {"08_actor_critic", "09_ddpg", "10_trpo"}
"""Chapters whose networks stay on the CPU even on a GPU machine: small MLPs stepped with a few
environments at a time, whose every step waits for the environments on the CPU (not measured
on a GPU yet: ``--device-for-rl cuda`` runs them there to compare). They spend their share of the
cores on parallel runs, one thread each (``f2p.parallel.map_runs``, ``F2P_THREADS`` runs at a
time)."""

REPORTING_RUNNER = """\
import runpy, sys, pathlib, f2p.utils
sys.argv = sys.argv[1:]
f2p.utils.setup()  # the profile's threads, the seeds, and the run report at exit
runpy.run_path(sys.argv[0], run_name="__main__")
"""
"""How a benchmark runs under the suite: as its own ``__main__``, after ``f2p.utils.setup``."""


@dataclass
class Job:
    name: str
    kind: str  # "notebook" or "benchmark"
    status: str = "not run"  # "passed", "failed" or "skipped"
    seconds: float | None = None
    device: str | None = None
    gpu: str | None = None
    peak_gpu_bytes: int | None = None
    headline: list[str] = field(default_factory=list)
    error: str | None = None


def notebook_headline(nb: nbformat.NotebookNode) -> list[str]:
    """The "**Reading**" paragraphs a chapter printed, or its result tables if it printed none."""
    texts = [
        output["data"]["text/markdown"].strip()
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if "text/markdown" in output.get("data", {})
    ]
    readings = [t for t in texts if t.startswith("**Reading")]
    return readings or [t for t in texts if t.startswith("|")]


def run_notebook(name: str, profile: str, out: Path, chapters: Path) -> None:
    """Run one chapter notebook (in this process: ``--worker``) and save it executed."""
    path = next(p for p in chapter_notebooks(chapters) if p.parent.name == name)
    nb, _ = execute(path, out / f"{name}.network.log", timeout=FULL_CELL_TIMEOUT_S, profile=profile)
    nbformat.write(nb, out / f"{name}.ipynb")


def run_job(job: Job, args: argparse.Namespace, threads: int) -> Job:
    """Run ``job`` in a child process and fill in its record."""
    out, report = args.out, args.out / f"{job.name}.report.json"
    device = args.device_for_rl if job.name in ON_THE_CPU else args.device
    env = {
        **os.environ,
        "F2P_PROFILE": args.profile,
        "F2P_DEVICE": device,
        "F2P_THREADS": str(threads),
        "OMP_NUM_THREADS": str(threads),
        "F2P_RUN_REPORT": str(report),
    }
    if job.kind == "notebook":
        command = [sys.executable, __file__, "--worker", job.name, "--profile", args.profile]
        command += ["--out", str(out), "--chapters", str(args.chapters)]
    else:
        script = "video_models.py" if job.name.startswith("video_models") else f"{job.name}.py"
        command = [sys.executable, "-c", REPORTING_RUNNER, str(ROOT / "benchmarks" / script)]
        command += BENCHMARKS[job.name] + ["--out", str(out / f"{job.name}.json")]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    job.seconds = round(time.perf_counter() - start, 1)
    (out / f"{job.name}.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode:
        job.status, job.error = "failed", (done.stderr or done.stdout).strip()[-2000:]
        return job
    job.status = "passed"
    if report.is_file():
        found = json.loads(report.read_text(encoding="utf-8"))
        job.device, job.gpu = found["device"], found["gpu"]
        job.peak_gpu_bytes = found["peak_gpu_bytes"]
    if job.kind == "notebook":
        job.headline = notebook_headline(nbformat.read(out / f"{job.name}.ipynb", as_version=4))
    else:
        written = json.loads((out / f"{job.name}.json").read_text(encoding="utf-8"))
        job.headline = [f"{r['quantity']}: {r['ours']:g}" for r in written["rows"]]
    return job


def plan(profile: str, only: list[str] | None, chapters: Path = CHAPTERS) -> list[Job]:
    """The jobs: every chapter notebook, then (full profile: their budgets are the full ones)
    the device benchmarks; ``only`` keeps those named."""
    jobs = [Job(p.parent.name, "notebook") for p in chapter_notebooks(chapters)]
    jobs += [Job(name, "benchmark") for name in BENCHMARKS if profile == "full"]
    if only:
        unknown = set(only) - {j.name for j in jobs}
        if unknown:
            known = [j.name for j in jobs]
            raise SystemExit(f"--only: unknown jobs {sorted(unknown)}; known: {known}")
        jobs = [j for j in jobs if j.name in only]
    for job in jobs:
        needs = NEEDS_DATA.get(job.name, []) if profile == "full" else []
        missing = [str(path) for path in needs if not path.is_file()]
        if missing:  # reported, never silently dropped
            job.status = "skipped"
            job.error = f"needs {', '.join(missing)} (F2P_DATA names the data folder)"
    return jobs


def longest_first(jobs: list[Job], profile: str) -> list[Job]:
    """``jobs`` in the order of their times in the profile's last summary (else the fast
    profile's), longest first and jobs without a time before them, so that no long job starts
    last while the other slots sit idle."""
    recorded = f2p.results.SUITE_DIR / f"{profile}.json"
    if not recorded.is_file():
        recorded = f2p.results.SUITE_DIR / "fast.json"
    seconds = {}
    if recorded.is_file():
        seconds = {j["name"]: j["seconds"] for j in json.loads(recorded.read_text())["jobs"]}
    return sorted(jobs, key=lambda j: -(seconds.get(j.name) or float("inf")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=f2p.utils.PROFILES, default="full")
    parser.add_argument("--device", default="cuda", help="F2P_DEVICE of every job")
    parser.add_argument("--device-for-rl", default="cpu", help="F2P_DEVICE of chapters 08-10")
    parser.add_argument("--jobs", type=int, default=max(1, min(4, (os.cpu_count() or 1) // 4)))
    parser.add_argument("--only", nargs="+", metavar="JOB", help="run only these jobs")
    parser.add_argument(
        "--chapters", type=Path, default=CHAPTERS, help="the folder of chapter notebooks"
    )
    parser.add_argument("--out", type=Path, help="default: _build/suite/<profile>-<device>")
    parser.add_argument("--summary", type=Path, help="default: f2p/data/suite/<profile>.json")
    parser.add_argument("--worker", metavar="CHAPTER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.jobs < 1:
        raise SystemExit(f"--jobs must be >= 1, got {args.jobs}")
    device_kind = args.device.split(":")[0]
    # absolute: the jobs write their run reports from their own working folders
    args.out = (args.out or ROOT / "_build" / "suite" / f"{args.profile}-{device_kind}").resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.worker:
        return run_notebook(args.worker, args.profile, args.out, args.chapters)
    jobs = plan(args.profile, args.only, args.chapters)
    # the fast profile's one thread per job; the full one shares the cores among the jobs
    threads = 1 if args.profile == "fast" else max(1, (os.cpu_count() or 1) // args.jobs)
    target = args.summary or f2p.results.SUITE_DIR / f"{args.profile}.json"
    start = time.perf_counter()

    def summarise() -> None:
        """Write the summary of the jobs so far: a run cut short keeps what finished."""
        summary = {
            "profile": args.profile,
            "device": args.device,
            "machine": f2p.utils.machine(),
            "recorded": datetime.date.today().isoformat(),
            "command": " ".join(["python benchmarks/suite.py", *sys.argv[1:]]),
            "jobs_at_a_time": args.jobs,
            "threads_per_job": threads,
            "wall_seconds": round(time.perf_counter() - start, 1),
            "jobs": [asdict(j) for j in jobs],
        }
        f2p.results.write_json(target, summary)

    to_run = longest_first([j for j in jobs if j.status == "not run"], args.profile)
    with ThreadPoolExecutor(args.jobs) as pool:
        for done in as_completed([pool.submit(run_job, j, args, threads) for j in to_run]):
            job = done.result()
            print(
                f"{job.name:>24}: {job.status} in {job.seconds:.0f} s on {job.device}", flush=True
            )
            summarise()
    summarise()
    print(f"{time.perf_counter() - start:.0f} s in all; summary in {target}")
    if any(j.status == "failed" for j in jobs):
        failed = [j.name for j in jobs if j.status == "failed"]
        raise SystemExit(f"jobs failed: {', '.join(failed)} (their logs are in {args.out})")


if __name__ == "__main__":
    main()
