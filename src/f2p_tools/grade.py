"""Grade a folder of submissions with a chapter's autograder into one table of scores.

    python book/grade.py <chapter>-autograder.zip submissions/ [--out grades] [--jobs N]

Students submit the zip that the last cell of their notebook writes (``grader.export``): it holds
the notebook and otter's log of their checks. ``otter run`` grades one submission on this machine,
in this environment (no Docker), and writes its scores to ``results.json``; this script runs it on
every ``.zip`` and ``.ipynb`` file in the folder, keeps each run's ``results.json`` and output in
``<out>/<submission>/``, and writes ``<out>/scores.csv``: one row per submission, one column per
question, the total and the points possible, and a note where something needs a look (a bare
notebook instead of the export zip, whose scores otter cannot check against a log; a submission
that could not be graded). It exits with status 1 when a submission could not be graded.

``otter grade`` grades a folder too, but in Docker containers built from the autograder zip
(conda, the package and otter installed into an image first), which needs Docker and, to build
the image, the network; ``otter run`` needs only what ``make assignments`` installed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

SUBMISSIONS = (".zip", ".ipynb")
BARE_NOTEBOOK = (
    "a bare notebook, not the zip that grader.export writes: otter could not check its scores "
    "against the student's log"
)


@dataclass
class Graded:
    """One submission's scores (question -> points) and possible points, or why it has none."""

    submission: Path
    scores: dict[str, float] = field(default_factory=dict)
    possible: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def graded(self) -> bool:
        return bool(self.scores)


def submissions(folder: Path) -> list[Path]:
    """The submissions in ``folder``: its ``.zip`` and ``.ipynb`` files, sorted by name."""
    found = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in SUBMISSIONS)
    stems = [p.stem for p in found]
    twins = sorted({s for s in stems if stems.count(s) > 1})
    if twins:
        raise SystemExit(f"two submissions with one name in {folder}: {twins}; keep one of each")
    return found


def grade_one(autograder: Path, submission: Path, out: Path, threads: int | None = None) -> Graded:
    """``otter run`` on ``submission``; its ``results.json`` and output go into ``out``; with
    ``threads``, the run's kernel uses that many threads."""
    out.mkdir(parents=True, exist_ok=True)
    result = Graded(submission)
    if submission.suffix == ".ipynb":
        result.notes.append(BARE_NOTEBOOK)
    env = dict(os.environ) | ({"OMP_NUM_THREADS": str(threads)} if threads else {})
    start = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "otter", "run", "--no-logo", "-a", str(autograder.resolve()),
         "-o", str(out.resolve()), str(submission.resolve())],
        capture_output=True, text=True, cwd=out, env=env,
    )  # fmt: skip
    result.seconds = time.perf_counter() - start
    (out / "otter-run.log").write_text(run.stdout + run.stderr, encoding="utf-8")
    results = out / "results.json"
    if run.returncode != 0 or not results.is_file():
        last = (run.stderr or run.stdout).strip().splitlines()[-1:] or ["no output"]
        result.notes.append(f"not graded (otter run exited {run.returncode}: {last[0]})")
        return result
    for test in json.loads(results.read_text(encoding="utf-8"))["tests"]:
        if "score" in test:
            result.scores[test["name"]] = float(test["score"])
            result.possible[test["name"]] = float(test["max_score"])
    if not result.scores:
        result.notes.append("not graded (no scores in results.json)")
    return result


def write_table(results: Sequence[Graded], path: Path) -> list[dict[str, str]]:
    """``scores.csv``: submission, one column per question, total, possible, note."""
    questions = sorted({q for r in results for q in r.possible})
    possible = {q: p for r in results for q, p in r.possible.items()}
    rows = []
    for r in results:
        row = {"submission": r.submission.name}
        row |= {q: f"{r.scores[q]:g}" if q in r.scores else "" for q in questions}
        row["total"] = f"{sum(r.scores.values()):g}" if r.graded else ""
        row["possible"] = f"{sum(possible.values()):g}"
        row["note"] = "; ".join(r.notes)
        rows.append(row)
    with path.open("w", newline="", encoding="utf-8") as f:
        columns = ["submission", *questions, "total", "possible", "note"]
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return rows


def grade(autograder: Path, folder: Path, out: Path, jobs: int = 1) -> list[dict[str, str]]:
    """Grade every submission in ``folder``, ``jobs`` at a time; write ``out / "scores.csv"``
    and return its rows."""
    found = submissions(folder)
    if not found:
        raise SystemExit(f"no .zip or .ipynb submissions in {folder}")
    out.mkdir(parents=True, exist_ok=True)
    threads = 1 if jobs > 1 else None  # several kernels at once: one thread each
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(lambda s: grade_one(autograder, s, out / s.stem, threads), found))
    return write_table(results, out / "scores.csv")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("autograder", type=Path, help="the chapter's <chapter>-autograder.zip")
    parser.add_argument("folder", type=Path, help="a folder of submissions (.zip, or .ipynb)")
    parser.add_argument("--out", type=Path, default=Path("grades"), help="default: grades/")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded at a time")
    args = parser.parse_args(argv)
    if not args.autograder.is_file():
        parser.error(f"no autograder zip at {args.autograder}")
    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder (otter run grades one file; this a folder)")
    start = time.perf_counter()
    rows = grade(args.autograder, args.folder, args.out, args.jobs)
    width = max(len(row["submission"]) for row in rows)
    for row in rows:
        score = f"{row['total'] or '-'} / {row['possible']}"
        print(f"{row['submission']:<{width}}  {score:>9}  {row['note']}".rstrip())
    seconds = time.perf_counter() - start
    print(f"{len(rows)} submissions in {seconds:.0f} s -> {args.out / 'scores.csv'}")
    return 1 if any(row["total"] == "" for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
