"""The stress script of issue 24 (``tests/stress/stress.py``) on two tiny notebooks: one that
passes, and one that sleeps past the stall limit, for which it must record the stacks of the
client and the kernel and the last kernel messages, and kill the run."""

from __future__ import annotations

import json
from pathlib import Path

from stress import stress  # tests/stress/stress.py (tests/ is on the path under pytest)

FRONT = (
    "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
    "kernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n\n"
)


def notebook(folder: Path, name: str, code: str) -> Path:
    path = folder / f"{name}.md"
    path.write_text(FRONT + f"# {name}\n\n```{{code-cell}} ipython3\n{code}\n```\n")
    return path


def test_a_stalled_run_is_recorded_with_its_stacks_and_last_messages_and_killed(tmp_path):
    quick = notebook(tmp_path, "quick", "print(6 * 7)")
    stuck = notebook(tmp_path, "stuck", "import time\ntime.sleep(600)")
    out = tmp_path / "out"
    runs = stress.stress([quick, stuck], runs=1, parallel=2, stall_after=25, out=out)
    outcome = {r.chapter.stem: r for r in runs}
    assert outcome["quick"].outcome == "passed", outcome["quick"].log.read_text()[-2000:]
    assert outcome["stuck"].outcome == "stalled" and outcome["stuck"].seconds < 60
    report = (out / f"stall-{outcome['stuck'].number}.txt").read_text()
    assert "ipykernel_launcher" in report, report[:2000]  # the kernel's stacks were taken
    assert "iopub status busy" in report  # and the log ends with the kernel's messages
    assert not stress.psutil.pid_exists(outcome["stuck"].process.pid)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stuck via nbclient"]["stalled"] == 1
    assert summary["quick via nbclient"]["passed"] == 1
