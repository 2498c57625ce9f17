"""Benchmark results: the JSON files that ``benchmarks/`` scripts write into the package
(:data:`RESULTS_DIR`, shipped in the wheel) and that the chapters and the book's results page read
through :func:`load`, so that every number there comes from a run, inside the repository or not.

One file per benchmark, for example ``f2p/data/results/ch07_nade.json``::

    {"chapter": "07", "benchmark": "NADE on binarised MNIST",
     "command": "python benchmarks/ch07_nade.py --profile full",
     "profile": "full", "device": "NVIDIA H100",
     "rows": [{"quantity": "test NLL (nats)", "ours": 88.9, "reference": 88.86,
               "reference_source": "Larochelle and Murray (2011)"}]}

``reference`` (the paper's figure, or a reference implementation's measured in the same run) and
``reference_source`` are optional in a row, and so is ``censored``: a list naming the figures
("ours", "reference") that are only lower bounds, e.g. a median over seeds some of which never
reached a target within the budget (shown as "> value"); everything else is required.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from f2p import papers
from f2p.utils import machine

FIELDS: dict[str, type] = {
    "chapter": str,
    "benchmark": str,
    "command": str,
    "profile": str,
    "device": str,
    "rows": list,
}
OPTIONAL_FIELDS: dict[str, type] = {"machine": str, "recorded": str}
ROW_FIELDS: dict[str, tuple[type, ...]] = {"quantity": (str,), "ours": (int, float)}
OPTIONAL_ROW_FIELDS: dict[str, tuple[type, ...]] = {
    "reference": (int, float),
    "reference_source": (str,),
    "censored": (list,),
}
CENSORABLE = ("ours", "reference")  # a censored figure is a lower bound: shown as "> value"
RESULTS_DIR = Path(__file__).resolve().parent / "data" / "results"
"""Where the benchmarks write and the package reads its results (package data)."""


def validate(result: Any, where: str = "result") -> dict[str, Any]:
    """Return ``result`` if it follows the schema above, else raise ``ValueError`` saying why."""
    if not isinstance(result, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(result).__name__}")
    for key, kind in FIELDS.items():
        if key not in result:
            raise ValueError(f"{where}: missing field {key!r} (required: {', '.join(FIELDS)})")
        if not isinstance(result[key], kind):
            raise ValueError(
                f"{where}: field {key!r} should be a {kind.__name__}, got {result[key]!r:.60}"
            )
    for key, kind in OPTIONAL_FIELDS.items():
        if key in result and not isinstance(result[key], kind):
            raise ValueError(f"{where}: field {key!r} should be a {kind.__name__}")
    unknown = set(result) - set(FIELDS) - set(OPTIONAL_FIELDS)
    if unknown:
        raise ValueError(f"{where}: unknown fields {sorted(unknown)}")
    if not result["rows"]:
        raise ValueError(f"{where}: 'rows' is empty; a benchmark reports at least one quantity")
    for i, row in enumerate(result["rows"]):
        if not isinstance(row, dict):
            raise ValueError(f"{where}: row {i} should be an object, got {row!r:.60}")
        for key, kinds in {**ROW_FIELDS, **OPTIONAL_ROW_FIELDS}.items():
            if key not in row:
                if key in ROW_FIELDS:
                    raise ValueError(f"{where}: row {i} lacks {key!r}")
                continue
            if not isinstance(row[key], kinds) or isinstance(row[key], bool):
                raise ValueError(
                    f"{where}: row {i} field {key!r} has the wrong type: {row[key]!r:.60}"
                )
        unknown = set(row) - set(ROW_FIELDS) - set(OPTIONAL_ROW_FIELDS)
        if unknown:
            raise ValueError(f"{where}: row {i} has unknown fields {sorted(unknown)}")
        wrong = [c for c in row.get("censored", []) if c not in CENSORABLE or c not in row]
        if wrong:
            raise ValueError(
                f"{where}: row {i}: 'censored' lists {wrong}; it may name {CENSORABLE} "
                "where the row has them"
            )
    return result


def write(path: str | Path, result: dict[str, Any]) -> Path:
    """Validate ``result`` and write it to ``path`` atomically (:func:`write_json`)."""
    validate(result, str(path))
    return write_json(path, result)


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` to ``path`` as JSON atomically: a crash leaves no half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_benchmark(
    path: str | Path,
    chapter: str,
    benchmark: str,
    script: str,
    rows: list[dict[str, Any]],
    profile: str = "full",
    device: str = "cpu, 1 torch thread",
) -> Path:
    """Write a benchmark script's results with the usual header (:func:`write`): ``script`` is
    the file under ``benchmarks/`` that reproduces them; the machine and the date are recorded."""
    result = {
        "chapter": chapter,
        "benchmark": benchmark,
        "command": f"python benchmarks/{script}",
        "profile": profile,
        "device": device,
        "machine": machine(),
        "recorded": datetime.date.today().isoformat(),
        "rows": rows,
    }
    written = write(path, result)
    print(f"wrote {written}")
    return written


def load(folder: str | Path = RESULTS_DIR, chapter: str | None = None) -> list[dict[str, Any]]:
    """All results in ``folder`` (``*.json``; by default the package's own), sorted by chapter then
    benchmark name; only ``chapter``'s (e.g. ``"03"``) when it is given.

    A missing folder means no results yet; a file that is not valid JSON or breaks the schema is
    an error naming the file.
    """
    folder = Path(folder)
    results = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not valid JSON ({err})") from err
        results.append(validate(data, str(path)))
    results = [r for r in results if chapter is None or r["chapter"] == chapter]
    return sorted(results, key=lambda r: (r["chapter"], r["benchmark"]))


def format_number(value: float | int | None, lower_bound: bool = False) -> str:
    """A figure for reading: at most 4 significant digits; 10,000 and up in k or M
    (``23669248`` -> ``23.7 M``), thousands separated (``7,873``); ``> x`` for a lower bound."""
    if value is None:
        return "–"
    magnitude = abs(value)
    if magnitude >= 1e6:
        text = f"{value / 1e6:.3g} M"
    elif magnitude >= 1e4:
        text = f"{value / 1e3:.3g} k"
    elif magnitude >= 1000 or float(value).is_integer():
        text = f"{value:,.0f}"
    else:
        text = f"{value:.3g}"
    return f"> {text}" if lower_bound else text


def mean_pm_std(mean: float, std: float) -> str:
    """``0.864 ± 0.055``: the std to the mean's last decimal (3 significant digits)."""
    if mean == 0 or abs(mean) >= 1000:
        return f"{format_number(mean)} ± {format_number(std)}"
    decimals = max(0, 2 - math.floor(math.log10(abs(mean))))
    return f"{mean:.{decimals}f} ± {std:.{decimals}f}"


_PER_METHOD = re.compile(r"^(?P<method>[^:]+): (?P<metric>.+?)(?: \((?P<stat>mean|std)\))?$")


def _method_table(rows: list[dict[str, Any]]) -> tuple[dict, list[str], list[dict]] | None:
    """Rows named ``method: metric [(mean|std)]`` as {method: {metric: cell}} and the metrics in
    order, plus the rows that do not follow the pattern; None when fewer than two methods share a
    metric or a row carries a reference (those files are read quantity by quantity)."""
    if any("reference" in row for row in rows):
        return None
    cells: dict[str, dict[str, dict[str, float]]] = {}
    metrics: list[str] = []
    other = []
    for row in rows:
        match = _PER_METHOD.match(row["quantity"])
        if match is None:
            other.append(row)
            continue
        method, metric = match["method"], match["metric"]
        cells.setdefault(method, {}).setdefault(metric, {})[match["stat"] or "value"] = row["ours"]
        if metric not in metrics:
            metrics.append(metric)
    shared = any(sum(metric in figures for figures in cells.values()) > 1 for metric in metrics)
    if len(cells) < 2 or not shared:
        return None
    return cells, metrics, other


def _cell(figures: dict[str, float] | None) -> str:
    if not figures:
        return "–"
    if "mean" in figures and "std" in figures:
        return mean_pm_std(figures["mean"], figures["std"])
    return format_number(next(iter(figures.values())))


def _quantity_table(rows: list[dict[str, Any]]) -> list[str]:
    with_reference = any("reference" in row for row in rows)
    header = ["quantity", "ours"] + (["reference", "source"] if with_reference else [])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        censored = row.get("censored", [])
        cells = [row["quantity"], format_number(row["ours"], "ours" in censored)]
        if with_reference:
            reference = format_number(row.get("reference"), "reference" in censored)
            cells += [reference, row.get("reference_source", "–")]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _papers_cell(chapter: str, method: str) -> str:
    quoted = [r for name, r in papers.reported(chapter).items() if name.split(",")[0] == method]
    return "; ".join(f"{r.value:g} ({r.measure}; {r.setting})" for r in quoted) or "–"


MAX_COLUMNS = 12
"""a method table with more metric columns than this (and more metrics than methods) is printed
one row per metric: a printed A4 page cannot shrink a wider table far enough to read"""


def benchmark_markdown(result: dict[str, Any], provenance: str = "") -> str:
    """One benchmark for the results page: its title, how and where it ran, and a compact table.
    Files whose rows are ``method: metric (mean|std)`` become one row per method with mean ± std
    (and the papers' figures, :mod:`f2p.papers`, beside them); the others one row per quantity,
    ours beside the reference."""
    where = ", ".join(
        filter(None, [result["device"], result.get("machine"), result.get("recorded"), provenance])
    )
    lines = [
        f"**Chapter {result['chapter']} · {result['benchmark']}**",
        "",
        f"*`{result['command']}`; {result['profile']} profile; {where}.*",
        "",
    ]
    table = _method_table(result["rows"])
    if table is None:
        return "\n".join(lines + _quantity_table(result["rows"]))
    cells, metrics, other = table
    quoted = {method: _papers_cell(result["chapter"], method) for method in cells}
    with_papers = any(cell != "–" for cell in quoted.values())
    if len(metrics) > MAX_COLUMNS and len(metrics) > len(cells):
        # more metrics than a printed page holds across: one row per metric instead
        header = [
            "metric" + ("; the papers' figures in the last row" if with_papers else ""),
            *cells,
        ]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for metric in metrics:
            row = [metric] + [_cell(figures.get(metric)) for figures in cells.values()]
            lines.append("| " + " | ".join(row) + " |")
        if with_papers:
            lines.append("| paper (measure; setting) | " + " | ".join(quoted.values()) + " |")
    else:
        header = ["method", *metrics] + (["paper (measure; setting)"] if with_papers else [])
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for method, figures in cells.items():
            row = [method] + [_cell(figures.get(metric)) for metric in metrics]
            lines.append("| " + " | ".join(row + [quoted[method]] * with_papers) + " |")
    if any("std" in f for figures in cells.values() for f in figures.values()):
        lines += ["", "Each ± is the standard deviation over the benchmark's seeds (ddof = 0)."]
    if other:
        lines += ["", "Also measured: " + "; ".join(
            f"{row['quantity']}: {format_number(row['ours'])}" for row in other
        ) + "."]  # fmt: skip
    return "\n".join(lines)


@dataclass(frozen=True)
class Expected:
    """A benchmark the results page lists even before it has run (e.g. one that needs a GPU)."""

    chapter: str
    benchmark: str
    """the ``benchmark`` title its results file will carry"""
    command: str
    """how to run it"""
    instead: str = ""
    """optional: what ran in its place and what is left to run, shown beside it"""

    @classmethod
    def parse(cls, line: str) -> Expected:
        """``chapter | benchmark | command`` and optionally ``| instead``, as written in the
        results page's directive."""
        parts = [part.strip() for part in line.split("|")]
        if len(parts) not in (3, 4) or not all(parts):
            raise ValueError(f"expected 'chapter | benchmark | command [| instead]', got {line!r}")
        return cls(*parts)


def to_markdown(
    results: list[dict[str, Any]],
    expected: list[Expected] = (),
    provenance: dict[tuple[str, str], str] | None = None,
) -> str:
    """Markdown for the results page, chapter by chapter: each benchmark as
    :func:`benchmark_markdown` renders it (``provenance[(chapter, benchmark)]``, e.g. the commit
    and date of its file, is added to its header line); each ``expected`` benchmark without a
    results file appears as "not run yet" with its command."""
    provenance = provenance or {}
    done = {(r["chapter"], r["benchmark"]) for r in results}
    missing = [e for e in expected if (e.chapter, e.benchmark) not in done]
    if not results and not missing:
        return "*No benchmark results yet: chapters add them as their benchmarks run.*"
    blocks = [
        (e.chapter, f"**Chapter {e.chapter} · {e.benchmark}**: *not run yet*. Run `{e.command}`; "
         "its results file then appears here." + (f" Instead: {e.instead}" if e.instead else ""))
        for e in missing
    ]  # fmt: skip
    blocks += [
        (r["chapter"], benchmark_markdown(r, provenance.get((r["chapter"], r["benchmark"]), "")))
        for r in results
    ]
    return "\n\n".join(block for _, block in sorted(blocks, key=lambda b: b[0]))


SUITE_DIR = RESULTS_DIR.parent / "suite"
"""Where ``benchmarks/suite.py`` keeps each profile's latest summary (``fast.json``,
``full.json``): every chapter's wall time, device and peak GPU memory."""


def _suite_cell(job: dict[str, Any] | None) -> str:
    if job is None:
        return "–"
    if job["status"] != "passed":
        return f"{job['status']}: {job['error'][:80]}" if job.get("error") else job["status"]
    cell = f"{job['seconds']:.0f} s on {job['device']}"
    if job.get("peak_gpu_bytes") is not None:
        cell += f", {job['peak_gpu_bytes'] / 2**30:.1f} GiB peak"
    return cell


def suite_markdown(folder: str | Path = SUITE_DIR) -> str:
    """The latest suite run of each profile side by side: a header line per run (machine, date,
    total wall time, jobs at a time, command) and a table of the jobs' wall time, device and
    peak GPU memory; a profile not run yet is said so, with its command."""
    runs = {}
    for profile in ("fast", "full"):
        path = Path(folder) / f"{profile}.json"
        runs[profile] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    lines = []
    for profile, run in runs.items():
        if run is None:
            lines.append(
                f"- **{profile} profile**: *not run yet*. On a machine with a CUDA GPU, `make gpu` "
                f"(`python benchmarks/suite.py --profile {profile}`) writes it."
            )
            continue
        passed = sum(job["status"] == "passed" for job in run["jobs"])
        lines.append(
            f"- **{profile} profile** on {run['machine']} ({run['recorded']}): {passed} of "
            f"{len(run['jobs'])} jobs passed in {run['wall_seconds'] / 60:.1f} minutes, "
            f"{run['jobs_at_a_time']} at a time with {run['threads_per_job']} torch thread(s) "
            f"each; `{run['command']}`"
        )
    names = list(dict.fromkeys(job["name"] for run in runs.values() if run for job in run["jobs"]))
    if names:
        by_name = {
            profile: {job["name"]: job for job in run["jobs"]} if run else {}
            for profile, run in runs.items()
        }
        lines += ["", "| job | fast profile | full profile |", "|---|---|---|"]
        lines += [
            f"| {name} | {_suite_cell(by_name['fast'].get(name))} "
            f"| {_suite_cell(by_name['full'].get(name))} |"
            for name in names
        ]
    return "\n".join(lines)
