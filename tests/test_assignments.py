"""The instructors' kit (``make assignments``): for every chapter the key scores full marks, the
student version runs and scores zero, a wrong answer loses exactly its exercise's points, the
package's own implementation scores nothing, and no solution reaches the student.

Grading here runs otter's own test files (``ExceptionTestFile``, from the autograder zip) in this
process on the notebook's executed cells, which is what ``otter run`` does in a kernel; one test
runs ``otter run`` itself end to end."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book"))
import assignments  # noqa: E402

pytest.importorskip("otter", reason="the instructors' kit needs otter-grader (make installs it)")
from otter.test_files.exception_test import ExceptionTestFile  # noqa: E402

from f2p import grading  # noqa: E402

CHAPTERS = sorted(assignments.GRADED)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("assignments")
    assignments.main(["--out", str(out)])
    return out


def notebook(built: Path, chapter: str, version: str) -> nbformat.NotebookNode:
    folder = "student" if version == "student" else "autograder"
    return nbformat.read(built / chapter / folder / f"{chapter}.ipynb", as_version=4)


def run_cells(nb: nbformat.NotebookNode) -> dict[str, Any]:
    """Execute a notebook's code cells in one namespace, as a kernel would, without otter's
    client cells (``grader.check``, export)."""
    env: dict[str, Any] = {"__name__": "__main__"}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        lines = [
            line
            for line in cell.source.splitlines()
            if not line.startswith(("grader.", "grader =", "import otter"))
        ]
        exec(compile("\n".join(lines), "<cell>", "exec"), env)
    return env


def grade(
    built: Path, chapter: str, env: dict[str, Any], messages: list[str] | None = None
) -> dict[str, float]:
    """Each question's score on ``env``, from the autograder zip's (hidden) test files; their
    messages are appended to ``messages``."""
    scores = {}
    archive = built / chapter / "autograder" / f"{chapter}-autograder.zip"
    with zipfile.ZipFile(archive) as zipped:
        for name in sorted(n for n in zipped.namelist() if n.startswith("tests/")):
            path = built / ".tests" / chapter / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(zipped.read(name))
            test = ExceptionTestFile.from_file(str(path))
            test.run(env)
            scores[test.name] = test.score
            if messages is not None:
                messages += [result.message for result in test.test_case_results]
    return scores


def full_marks(chapter: str) -> dict[str, float]:
    return {
        assignments.question_name(chapter, g.label): float(g.points)
        for g in assignments.GRADED[chapter]
    }


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_key_scores_full_marks(built, chapter):
    env = run_cells(notebook(built, chapter, "key"))
    assert grade(built, chapter, env) == full_marks(chapter)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_student_version_runs_and_scores_zero(built, chapter):
    env = run_cells(notebook(built, chapter, "student"))  # raises if a cell fails
    for exercise in assignments.GRADED[chapter]:
        with pytest.raises(NotImplementedError, match=f"write {exercise.function}"):
            env[exercise.function](*exercise.inputs(torch.Generator().manual_seed(0)))
    assert grade(built, chapter, env) == dict.fromkeys(full_marks(chapter), 0.0)


def off_by_one(function: Callable[..., Any]) -> Callable[..., Any]:
    """A deliberately wrong answer: the right one plus 1."""
    return lambda *args: function(*args) + 1


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_a_wrong_answer_loses_exactly_its_exercises_points(built, chapter):
    marks = full_marks(chapter)
    for question, exercise in zip(marks, assignments.GRADED[chapter], strict=True):
        env = run_cells(notebook(built, chapter, "key"))
        env[exercise.function] = off_by_one(env[exercise.function])
        assert grade(built, chapter, env) == {**marks, question: 0.0}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_packages_own_implementation_scores_nothing(built, chapter):
    marks = full_marks(chapter)
    for question, exercise in zip(marks, assignments.GRADED[chapter], strict=True):
        package = grading.resolve(exercise.refused[0])[2]
        env = run_cells(notebook(built, chapter, "key"))
        name = exercise.refused[0]
        wrapped = lambda *args, name=name: grading.resolve(name)[2](*args)  # noqa: E731
        for answer in (package, wrapped):
            env[exercise.function] = answer
            messages: list[str] = []
            assert grade(built, chapter, env, messages) == {**marks, question: 0.0}
            assert any("RefusedImplementation" in m for m in messages), messages


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_student_version_holds_no_solution(built, chapter):
    text = (ROOT / assignments.chapter_file(chapter)).read_text(encoding="utf-8")
    student = notebook(built, chapter, "student")
    shown = "\n".join(cell.source for cell in student.cells)
    stubs = "\n".join(cell.source for cell in student.cells if "NotImplementedError" in cell.source)
    for exercise in assignments.GRADED[chapter]:
        for kind, piece in assignments.solution_parts(text, exercise.label):
            if kind == "markdown":
                assert assignments.plain_markdown(piece)[:60] not in shown
                continue
            for line in assignments.solution_code(piece, None).splitlines():
                if len(line.strip()) > 3 and line not in stubs:
                    assert line not in shown, f"{exercise.label}: solution line {line!r}"
    hidden = json.dumps(student.metadata)
    assert '"hidden": true' not in hidden and "hidden=True" not in hidden


def test_otter_run_grades_the_key_and_the_student_end_to_end(built, tmp_path):
    chapter = "03_temporal_modelling"
    archive = built / chapter / "autograder" / f"{chapter}-autograder.zip"
    scores = {}
    for version, folder in (("key", "autograder"), ("student", "student")):
        out = tmp_path / version
        out.mkdir()
        subprocess.run(
            [sys.executable, "-m", "otter", "run", "-a", str(archive), "-o", str(out),
             str(built / chapter / folder / f"{chapter}.ipynb")],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        results = json.loads((out / "results.json").read_text())
        scores[version] = {t["name"]: t["score"] for t in results["tests"] if "score" in t}
    assert scores == {"key": full_marks(chapter), "student": dict.fromkeys(full_marks(chapter), 0)}


def test_unknown_chapters_are_refused_by_name(capsys):
    with pytest.raises(SystemExit):
        assignments.main(["99_nothing"])
    assert "no graded exercises for ['99_nothing']" in capsys.readouterr().err


def test_the_teaching_guide_lists_every_graded_exercise():
    guide = (ROOT / "book" / "teaching.md").read_text(encoding="utf-8")
    listed = re.findall(r"\{ref\}`(ch\d\d-ex-[\w-]+)`", guide)
    graded = [g.label for chapter in CHAPTERS for g in assignments.GRADED[chapter]]
    assert listed == graded
