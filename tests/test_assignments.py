"""The instructors' kit (``make assignments``): for every chapter the key scores full marks, the
student version runs and scores zero, a wrong answer loses exactly its exercise's points, the
package's own implementation scores nothing, and no solution reaches the student; the kit is
built with the ``teach`` extra alone, ships the package's wheel to the student and into the
grading image, on a Python the package supports; a folder of submissions is graded into one table.

Grading here runs otter's own test files (``ExceptionTestFile``, from the autograder zip) in this
process on the notebook's executed cells, which is what ``otter run`` does in a kernel; one test
runs ``otter run`` itself end to end, on three submissions, through ``book/grade.py``."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import types
import zipfile
from collections.abc import Callable
from importlib.metadata import metadata
from pathlib import Path
from typing import Any

import nbformat
import pytest
import torch
import yaml
from packaging.specifiers import SpecifierSet

import f2p
from f2p_tools import grade as batch  # book/grade.py's code

ROOT = Path(__file__).resolve().parents[1]
KIT = ROOT / "book" / "assignments.py"


def load_kit() -> types.ModuleType:
    """``book/assignments.py`` as the module ``assignments``, its folder left off ``sys.path``."""
    spec = importlib.util.spec_from_file_location("assignments", KIT)
    module = sys.modules["assignments"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


assignments = load_kit()

pytest.importorskip("otter", reason="the instructors' kit needs otter-grader (make installs it)")
import otter  # noqa: E402
from otter.test_files.exception_test import ExceptionTestFile  # noqa: E402

from f2p import grading  # noqa: E402

CHAPTERS = sorted(assignments.GRADED)

# Top-level modules of the other extras (book, dev, bench, scale): `make assignments` installs the
# package with its `teach` extra alone, so building the kit may not import any of them.
OTHER_EXTRAS = (
    "sphinx", "docutils", "jupyter_book", "myst_nb", "myst_parser", "sphinx_book_theme",
    "sphinx_proof", "sphinx_exercise", "sphinxcontrib", "sphinx_design", "jupyterlab", "pytest",
    "xdist", "selenium", "stable_baselines3", "sb3_contrib", "trl", "transformers", "datasets",
    "accelerate",
)  # fmt: skip
WITHOUT_OTHER_EXTRAS = """\
import importlib.abc
import runpy
import sys


class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {refused!r}:
            raise ImportError(f"{{name}} is not in the teach extra")


sys.meta_path.insert(0, Refuse())
sys.argv[0] = {kit!r}
runpy.run_path({kit!r}, run_name="__main__")
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Every chapter's kit, built in a process that cannot import the other extras' modules."""
    out = tmp_path_factory.mktemp("assignments")
    script = WITHOUT_OTHER_EXTRAS.format(refused=set(OTHER_EXTRAS), kit=str(KIT))
    subprocess.run([sys.executable, "-c", script, "--out", str(out)], check=True, timeout=600)
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
def test_the_kit_reads_like_the_site(built, chapter):
    """The student's and the key's Markdown is the reader's notebook's (issue 41): no MyST, no
    book macros, the exercises numbered as on the site."""
    from test_clean_notebooks import raw_myst

    for version in ("student", "key"):
        cells = notebook(built, chapter, version).cells
        text = "\n".join(c.source for c in cells if c.cell_type == "markdown")
        assert not raw_myst(text), (version, raw_myst(text))
        for exercise in assignments.GRADED[chapter]:
            assert f"**Exercise {assignments.exercise_number(chapter, exercise.label)}**" in text


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_student_version_holds_no_solution(built, chapter):
    student = notebook(built, chapter, "student")
    shown = "\n".join(cell.source for cell in student.cells)
    stubs = "\n".join(cell.source for cell in student.cells if "NotImplementedError" in cell.source)
    for exercise in assignments.GRADED[chapter]:
        for kind, piece in assignments.solution_parts(chapter, exercise.label):
            if kind == "markdown":
                assert piece[:60] not in shown
                continue
            for line in assignments.solution_code(piece, None).splitlines():
                if len(line.strip()) > 3 and line not in stubs:
                    assert line not in shown, f"{exercise.label}: solution line {line!r}"
    hidden = json.dumps(student.metadata)
    assert '"hidden": true' not in hidden and "hidden=True" not in hidden


def export(nb: nbformat.NotebookNode, chapter: str, zip_path: Path, work: Path) -> Path:
    """What a student hands in: the zip ``grader.export`` writes from their saved notebook."""
    work.mkdir(parents=True)
    nbformat.write(nb, work / f"{chapter}.ipynb")
    cwd = Path.cwd()
    os.chdir(work)
    try:
        otter.Notebook(f"{chapter}.ipynb").export(
            f"{chapter}.ipynb", export_path=str(zip_path), pdf=False, display_link=False
        )
    finally:
        os.chdir(cwd)
    return zip_path


def test_a_folder_of_three_submissions_is_graded_into_one_table(built, tmp_path):
    """book/grade.py runs ``otter run`` on each submission of a folder: the key and a wrong
    answer as export zips, the untouched student version as a bare notebook (flagged)."""
    chapter = "03_temporal_modelling"
    archive = built / chapter / "autograder" / f"{chapter}-autograder.zip"
    key = notebook(built, chapter, "key")
    wrong = notebook(built, chapter, "key")
    code = [i for i, c in enumerate(wrong.cells) if c.cell_type == "code"]
    nonlocal_cell = max(i for i in code if "def my_nonlocal" in wrong.cells[i].source)
    wrong.cells.insert(
        nonlocal_cell + 1,
        nbformat.v4.new_code_cell(
            "right = my_nonlocal\n\n\ndef my_nonlocal(*args):\n    return right(*args) + 1\n"
        ),
    )
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    export(key, chapter, submissions / "key.zip", tmp_path / "key")
    export(wrong, chapter, submissions / "wrong.zip", tmp_path / "wrong")
    shutil.copy(built / chapter / "student" / f"{chapter}.ipynb", submissions / "student.ipynb")

    out = tmp_path / "grades"
    assert batch.main([str(archive), str(submissions), "--out", str(out)]) == 0
    with (out / "scores.csv").open(newline="") as f:
        table = {row.pop("submission"): row for row in csv.DictReader(f)}
    assert table == {
        "key.zip": {"ex3_2": "3", "ex3_3": "2", "total": "5", "possible": "5", "note": ""},
        "wrong.zip": {"ex3_2": "3", "ex3_3": "0", "total": "3", "possible": "5", "note": ""},
        "student.ipynb": {
            "ex3_2": "0", "ex3_3": "0", "total": "0", "possible": "5", "note": batch.BARE_NOTEBOOK
        },
    }  # fmt: skip
    assert "No log found" in (out / "student" / "otter-run.log").read_text()
    scores = {}
    for version, name in (("key", "key"), ("student", "student")):
        results = json.loads((out / name / "results.json").read_text())
        scores[version] = {t["name"]: t["score"] for t in results["tests"] if "score" in t}
    assert scores == {"key": full_marks(chapter), "student": dict.fromkeys(full_marks(chapter), 0)}


def test_batch_grading_refuses_a_file_for_a_folder(built, capsys):
    archive = built / "00_getting_started" / "autograder" / "00_getting_started-autograder.zip"
    with pytest.raises(SystemExit):
        batch.main([str(archive), str(archive)])
    assert "is not a folder" in capsys.readouterr().err


def test_the_grading_image_installs_the_shipped_wheel_on_a_supported_python(built, tmp_path):
    """The autograder zip's environment.yml asks for a Python that the package supports and
    finds the package in the zip itself (no release on the index needed): its requirement and
    find-links, pointed at the unpacked zip, resolve offline for that Python."""
    requires = metadata(f2p.__distribution__)["Requires-Python"]
    for chapter in CHAPTERS:
        source = tmp_path / chapter
        with zipfile.ZipFile(built / chapter / "autograder" / f"{chapter}-autograder.zip") as z:
            z.extractall(source)
        environment = yaml.safe_load((source / "environment.yml").read_text())
        (python,) = [d for d in environment["dependencies"] if str(d).startswith("python=")]
        version = python.removeprefix("python=")
        assert version in SpecifierSet(requires), f"{chapter}: {python} against {requires}"
        assert (source / "files" / assignments.WHEEL).is_file()
        assert (built / chapter / "student" / assignments.WHEEL).is_file()
    pip = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    package = f2p.__distribution__
    lines = [
        line.replace(assignments.IMAGE_FILES, str(source / "files"))
        for line in pip
        if line.startswith("--find-links") or line.startswith(package)
    ]
    assert f"{package}=={f2p.__version__}" in lines
    (tmp_path / "requirements.txt").write_text("\n".join(lines) + "\n")
    run = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--isolated", "--dry-run", "--no-index",
         "--no-deps", "--ignore-installed", "--only-binary=:all:", "--python-version", version,
         "-r", str(tmp_path / "requirements.txt")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"Would install {package}-{f2p.__version__}" in run.stdout


def setup_cell(built: Path, chapter: str) -> str:
    student = notebook(built, chapter, "student")
    return next(c.source for c in student.cells if "find_spec" in c.source)


def test_the_students_setup_cell_installs_the_wheel_beside_the_notebook(
    built, tmp_path, monkeypatch
):
    """Where f2p is missing, the student's first cell installs the wheel handed out with the
    notebook when it is in the notebook's folder, the index's release otherwise, and a failed
    install names the wheel."""
    import importlib.util

    code = setup_cell(built, "00_getting_started")
    installed: list[list[str]] = []

    def pip(command, check):
        installed.append(command[command.index("--quiet") + 1 :])
        if not Path(installed[-1][0]).exists() and "fail" in os.environ.get("F2P_TEST_PIP", ""):
            raise subprocess.CalledProcessError(1, command)

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "f2p" else real(name, *a)
    )
    monkeypatch.setattr(subprocess, "run", pip)
    monkeypatch.chdir(tmp_path)
    exec(code, {})
    assert installed == [[assignments.REQUIREMENT]]
    (tmp_path / assignments.WHEEL).write_bytes(b"")
    exec(code, {})
    assert installed[-1] == [assignments.WHEEL]
    (tmp_path / assignments.WHEEL).unlink()
    monkeypatch.setenv("F2P_TEST_PIP", "fail")
    with pytest.raises(RuntimeError, match=re.escape(assignments.WHEEL)):
        exec(code, {})


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_a_failed_check_says_what_is_wrong_without_the_packed_cases(built, chapter):
    """The checks a student runs (``grader.check``, from the notebook's metadata) and the
    autograder's: a wrong answer's message is the test's short line and what differs."""
    student = notebook(built, chapter, "student")
    env = run_cells(notebook(built, chapter, "key"))
    for exercise in assignments.GRADED[chapter]:
        env[exercise.function] = off_by_one(env[exercise.function])
    messages: list[str] = []
    for source in student.metadata["otter"]["tests"].values():
        test = ExceptionTestFile.from_metadata(source, f"{chapter}.ipynb")
        test.run(env)
        messages += [result.message for result in test.test_case_results]
    grade(built, chapter, env, messages)
    assert len(messages) == 3 * len(assignments.GRADED[chapter])  # public; public and hidden
    for message in messages:
        assert re.search(r"^\w+Error: ", message, flags=re.MULTILINE), message
        assert len(message) < 600, message[:300]
        assert not re.search(r"[A-Za-z0-9+/=]{200}", message), message[:300]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_a_written_question_has_a_place_for_the_answer(built, chapter):
    """An exercise that also asks a question in words (ex3_3: how the cost grows) gets an
    answer cell under the student's function."""
    cells = notebook(built, chapter, "student").cells
    for exercise in assignments.GRADED[chapter]:
        asked = assignments.asks_question(assignments.exercise_text(chapter, exercise.label))
        stub = next(i for i, c in enumerate(cells) if f"write {exercise.function}:" in c.source)
        answer = cells[stub + 1]
        has_place = answer.cell_type == "markdown" and answer.source == assignments.ANSWER
        assert has_place == asked, (exercise.label, answer.source)


def test_the_written_questions_are_found():
    """The exercises whose texts ask a question besides the code (6 on today's chapters)."""
    asked = [
        g.label
        for chapter in CHAPTERS
        for g in assignments.GRADED[chapter]
        if assignments.asks_question(assignments.exercise_text(chapter, g.label))
    ]
    assert "ch03-ex-nonlocal" in asked and "ch00-ex-softmax" not in asked
    assert not assignments.asks_question("return `x if y else z` or $a ? b$; check it.")


def test_the_docs_grade_a_folder_with_the_batch_command():
    """The pages that tell instructors how to grade name book/grade.py, and none tells them to
    give `otter run` a folder (it grades one submission: IsADirectoryError)."""
    for page in ("README.md", "book/how_to_use.md", "book/teaching.md"):
        text = (ROOT / page).read_text(encoding="utf-8")
        assert "book/grade.py" in text, page
        assert not re.search(r"otter run -a \S+ submissions/", text), page
    assert "grader.export" in (ROOT / "book" / "how_to_use.md").read_text(encoding="utf-8")


def test_make_assignments_installs_the_teach_extra_alone():
    """`make assignments` installs the package with its teach extra (and torch, pinned first),
    not the whole development environment; the kit's build needs nothing else (``built``)."""
    run = subprocess.run(
        ["make", "-n", "-B", "-C", str(ROOT), "assignments"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    installs = [line for line in run.stdout.splitlines() if " install " in line]
    assert installs, run.stdout
    for line in installs:
        assert line.endswith(("--upgrade pip", "torch==2.13.0", "-e '.[teach]'")), line
    assert "book/assignments.py" in run.stdout


def test_unknown_chapters_are_refused_by_name(capsys):
    with pytest.raises(SystemExit):
        assignments.main(["99_nothing"])
    assert "no graded exercises for ['99_nothing']" in capsys.readouterr().err


def test_the_teaching_guide_lists_every_graded_exercise():
    guide = (ROOT / "book" / "teaching.md").read_text(encoding="utf-8")
    listed = re.findall(r"\{ref\}`(ch\d\d-ex-[\w-]+)`", guide)
    graded = [g.label for chapter in CHAPTERS for g in assignments.GRADED[chapter]]
    assert listed == graded
