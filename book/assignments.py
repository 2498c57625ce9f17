"""Assignments for instructors: per chapter, a student notebook, an instructor key and an
otter-grader autograder, cut from the chapter's graded exercises (``make assignments``).

    python book/assignments.py [--out _build/assignments] [CHAPTER ...]   (e.g. 08_actor_critic)

Each chapter's graded exercises are listed in :data:`GRADED`. The exercise's text and its
solution come from the chapter itself, as its reader's notebook renders them (the book's own
converter, f2p_tools.clean_notebooks, found by the cells' ``f2p`` metadata; the built site's
notebooks, else a build of the book that executes nothing: f2p_tools.reader_notebooks), so the
site, the downloads, the key and the student version cannot drift apart, and the students read
the site's numbers and references, not MyST. For each chapter the script
writes an otter-assign source notebook (the key with otter's question, solution and test
markers) and runs ``otter assign`` on it, which writes

    <out>/<chapter>/student/<chapter>.ipynb     stubs raising NotImplementedError, public checks
    <out>/<chapter>/student/<wheel>             the course package, installed by the first cell
    <out>/<chapter>/autograder/<chapter>.ipynb  the instructor key
    <out>/<chapter>/autograder/<chapter>-autograder.zip  for `otter run` (book/grade.py grades a
                                                folder) or Gradescope

The hidden tests compare the student's function with outputs stored when the assignments are
built, on inputs the student does not see, while the package functions that solve the exercise
refuse to run (:mod:`f2p.grading`). The package's wheel, built from this checkout, goes beside
the student notebook and into the autograder zip (``files/``), whose grading image installs it
from there, on the Python of :data:`PYTHON`, so neither needs a release on the package index.

It needs the ``teach`` extra only (``make assignments`` installs nothing else): otter-grader,
and the book's stack, which renders the chapters and builds the wheel; this process imports none
of the book's modules (the rendering runs as ``jupyter-book`` in a process of its own).
"""

from __future__ import annotations

import argparse
import ast
import functools
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import torch
import yaml

import f2p
from f2p import checks, grading
from f2p_tools.reader_notebooks import reader_notebooks
from f2p_tools.settings import TORCH

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
OTTER = "otter-grader>=7,<8"
REQUIREMENT = f"{f2p.__distribution__}=={f2p.__version__}"
WHEEL = f"{f2p.__distribution__.replace('-', '_')}-{f2p.__version__}-py3-none-any.whl"
# The grading image's Python: the one CI tests (.github/workflows, environment.yml); otter's
# default (3.13) is one the package refuses (requires-python in pyproject.toml)
PYTHON = "3.11"
# Where the grading image finds the zip's files/ (Gradescope unpacks the zip there before setup)
IMAGE_FILES = "/autograder/source/files"
# The grading image's requirements beside otter's: PyTorch's CPU build (a plain install on Linux
# pulls the multi-GB CUDA one), and the course package from the wheel in the zip, or from the
# index where the zip's files are not there yet (otter grade's Docker image adds them after setup)
IMAGE_REQUIREMENTS = (
    "--extra-index-url https://download.pytorch.org/whl/cpu",
    TORCH,  # the tested version (the Makefile's)
    f"--find-links {IMAGE_FILES}",
    REQUIREMENT,
)


@dataclass(frozen=True)
class Graded:
    """One auto-graded coding exercise of a chapter.

    ``label`` is the exercise's label in the chapter, whose solution defines ``function``;
    ``reference`` computes the stored outputs on ``cases`` inputs drawn by ``inputs`` (seeded);
    ``refused`` names the implementations a submission may not call while it is graded."""

    label: str
    function: str
    points: int
    inputs: checks.InputMaker
    reference: Callable[..., Any]
    refused: tuple[str, ...]
    hint: str
    cases: int = 12
    rtol: float = 1e-5
    atol: float = 1e-6


def _calibrated_ap(scores: torch.Tensor, targets: torch.Tensor) -> float:
    from f2p.oad.metrics import average_precision

    return average_precision(scores, targets, calibrated=True)


def _reference(dotted_name: str) -> Callable[..., Any]:
    return grading.resolve(dotted_name)[2]


SOFTMAXES = ("torch.softmax", "torch.nn.functional.softmax", "torch.Tensor.softmax")

GRADED: dict[str, list[Graded]] = {
    "00_getting_started": [
        Graded(
            "ch00-ex-softmax",
            "my_softmax",
            2,
            checks._softmax_inputs,
            checks._reference_softmax,
            SOFTMAXES + ("torch.special.softmax",),
            "subtract each row's maximum before exponentiating",
            rtol=1e-6,
        ),
    ],
    "01_two_stream": [
        Graded(
            "ch01-ex-fusion",
            "my_late_fusion",
            2,
            checks._fusion_inputs,
            _reference("f2p.video.models.late_fusion"),
            ("f2p.video.models.late_fusion",),
            "average the two streams' softmax probabilities, not their logits",
        ),
        Graded(
            "ch01-ex-hs-update",
            "my_hs_update",
            3,
            checks._hs_kappa_inputs,
            checks.reference_hs_update_kappa,
            (
                "f2p.checks.reference_hs_update_kappa",
                "f2p.checks.reference_hs_update",
                "f2p.video.flow.horn_schunck",
            ),
            "keep the Laplacian as kappa (u_bar - u): alpha^2 becomes kappa alpha^2 in the "
            "denominator, and nowhere else",
        ),
    ],
    "02_tsn": [
        Graded(
            "ch02-ex-cross-modality",
            "my_cross_modality_weight",
            2,
            checks._cross_modality_inputs,
            checks.reference_cross_modality_weight,
            ("f2p.checks.reference_cross_modality_weight",),
            "average over the RGB axis (dim 1), then repeat that average `channels` times",
        ),
        Graded(
            "ch02-ex-weighted",
            "my_weighted_consensus",
            2,
            checks._consensus_inputs,
            checks.reference_weighted_consensus,
            ("f2p.checks.reference_weighted_consensus",),
            "softmax the weights over the snippets, then a weighted sum over dim 1",
        ),
    ],
    "03_temporal_modelling": [
        Graded(
            "ch03-ex-shift",
            "my_shift",
            3,
            checks._shift_inputs,
            _reference("f2p.video.models.temporal_shift"),
            ("f2p.video.models.temporal_shift",),
            "view the batch as (clips, frames, C, H, W) and fill a zero tensor slice by slice",
            cases=15,
        ),
        Graded(
            "ch03-ex-nonlocal",
            "my_nonlocal",
            2,
            checks._nonlocal_inputs,
            checks.reference_nonlocal,
            ("f2p.checks.reference_nonlocal",),
            "theta @ phi^T gives the (N, n_q, n_k) affinities; softmax over n_k, then times g",
        ),
    ],
    "04_motion_features": [
        Graded(
            "ch04-ex-difference",
            "my_difference",
            2,
            checks._difference_inputs,
            _reference("f2p.video.motion.shifted_difference"),
            ("f2p.video.motion.shifted_difference",),
            "view the batch as clips, subtract along time, leave each clip's last frame at zero",
        ),
        Graded(
            "ch04-ex-excitation",
            "my_excitation",
            2,
            checks._excitation_inputs,
            checks.reference_excitation,
            ("f2p.checks.reference_excitation",),
            "mean of d over (H, W) with keepdim, A = 2 sigmoid(.) - 1, then x + x * A",
        ),
    ],
    "05_3d_vs_2d": [
        Graded(
            "ch05-ex-uniformity",
            "my_uniformity",
            2,
            checks._kernel_inputs,
            _reference("f2p.video.spatiotemporal.temporal_uniformity"),
            ("f2p.video.spatiotemporal.temporal_uniformity",),
            "move the time axis last and flatten the others; then (sum w)^2 / (t sum w^2)",
        ),
        Graded(
            "ch05-ex-mid",
            "my_mid_channels",
            2,
            checks._mid_inputs,
            checks.reference_mid_channels,
            ("f2p.checks.reference_mid_channels",),
            "integer floor division of t k^2 C_in C_out by k^2 C_in + t C_out",
            cases=30,
        ),
    ],
    "06_online_detection": [
        Graded(
            "ch06-ex-cap",
            "my_cap",
            3,
            checks._ap_inputs,
            _calibrated_ap,
            ("f2p.oad.metrics.average_precision",),
            "rank by score; at each positive add TP / (TP + FP / w); divide by the positives",
            cases=20,
        ),
        Graded(
            "ch06-ex-contrastive",
            "my_contrastive",
            3,
            checks._contrastive_inputs,
            checks.reference_contrastive,
            ("f2p.checks.reference_contrastive",),
            "distances to e[:, -1:]; squared distance for the same label, squared hinge "
            "max(0, m - distance) otherwise; average over the chunks not labelled -100",
            cases=15,
        ),
    ],
    "07_autoregressive": [
        Graded(
            "ch07-ex-mask",
            "my_mask",
            2,
            checks._causal_mask_inputs,
            _reference("f2p.generative.pixelcnn.causal_mask"),
            ("f2p.generative.pixelcnn.causal_mask",),
            "rows above the centre are visible; in the centre row, the taps left of it (and the "
            "centre itself for type B)",
        ),
        Graded(
            "ch07-ex-made",
            "my_made_mask",
            2,
            checks._made_inputs,
            checks.reference_made_mask,
            ("f2p.checks.reference_made_mask",),
            "compare degrees_out[:, None] with degrees_in[None, :]: >= inside, > at the output",
            cases=20,
        ),
        Graded(
            "ch07-ex-nade",
            "my_preactivations",
            2,
            checks._nade_inputs,
            checks.reference_nade_preactivations,
            ("f2p.checks.reference_nade_preactivations",),
            "keep a_k before adding column k of W times x_k; a_1 = c",
            cases=10,
        ),
    ],
    "08_actor_critic": [
        Graded(
            "ch08-ex-gae",
            "my_gae",
            3,
            checks._gae_inputs,
            _reference("f2p.rl.returns.gae"),
            ("f2p.rl.returns.gae",),
            "loop backwards in time, carrying the advantage of the step after",
            cases=20,
        ),
        Graded(
            "ch08-ex-returns",
            "my_returns",
            2,
            checks._returns_inputs,
            _reference("f2p.rl.returns.discounted_returns"),
            ("f2p.rl.returns.discounted_returns", "f2p.rl.returns.gae"),
            "run backwards in time: G_t = rewards[t] + gamma G_{t+1} (rewards[t] is r_{t+1})",
        ),
    ],
    "09_ddpg": [
        Graded(
            "ch09-ex-td3",
            "my_td3_target",
            2,
            checks._td3_inputs,
            _reference("f2p.rl.ddpg.td3_target"),
            ("f2p.rl.ddpg.td3_target",),
            "r + gamma (1 - terminated) min(Q1', Q2')",
        ),
        Graded(
            "ch09-ex-soft",
            "my_soft_update",
            2,
            checks._soft_inputs,
            checks.reference_soft_update,
            ("f2p.checks.reference_soft_update", "f2p.rl.ddpg.soft_update"),
            "a convex combination of source and target, with weight tau on the source",
        ),
    ],
    "10_trpo": [
        Graded(
            "ch10-ex-cg",
            "my_cg",
            3,
            checks._cg_inputs,
            checks.krylov_minimiser,
            ("f2p.rl.trpo.conjugate_gradient", "f2p.checks.krylov_minimiser"),
            "start from x = 0 and r = p = b; each iteration steps along p, then makes the next "
            "direction M-conjugate to it",
            cases=20,
            rtol=1e-6,
            atol=1e-8,
        ),
        Graded(
            "ch10-ex-softmax-fisher",
            "my_softmax_fisher",
            1,
            checks._softmax_fisher_inputs,
            checks.reference_softmax_fisher,
            ("f2p.checks.reference_softmax_fisher",),
            "sum over actions of pi_a (e_a - pi)(e_a - pi)^T",
        ),
        Graded(
            "ch10-ex-bandit",
            "my_bandit_step",
            3,
            checks._bandit_inputs,
            checks.reference_bandit_step,
            ("f2p.checks.reference_bandit_step", "f2p.rl.trpo.trust_region_step"),
            "g = mean of A_i (e_{a_i} - pi); x = (F + xi I)^{-1} g; alpha = sqrt(2 delta / "
            "x^T (F + xi I) x); try 0.8^j alpha x for j < 10, keep the first with KL <= delta "
            "and a larger surrogate",
        ),
    ],
    "11_llm_reasoning": [
        Graded(
            "ch11-ex-length-code",
            "my_length_penalty",
            2,
            checks._length_inputs,
            _reference("f2p.llm.losses.length_penalty"),
            ("f2p.llm.losses.length_penalty",),
            "lambda = 0.5 - (len - min) / (max - min) per group; wrong answers keep min(0, lambda);"
            " a group whose lengths are all equal gets 0",
            cases=15,
        ),
        Graded(
            "ch11-ex-loss-code",
            "my_k15_loss",
            3,
            checks._k15_inputs,
            _reference("f2p.llm.losses.k15_loss"),
            ("f2p.llm.losses.k15_loss", "f2p.llm.losses.k15_loss_from_advantages"),
            "r - r_bar per problem (mean over dim 1), minus tau times the log-ratio with the "
            "sampler's log-probabilities detached; square and average",
        ),
    ],
}


# --- reading the chapter ---------------------------------------------------------------------


def chapter_file(chapter: str) -> Path:
    """The MyST notebook of ``chapter`` (its folder name, e.g. ``08_actor_critic``)."""
    found = sorted((CHAPTERS / chapter).glob("*.md"))
    if len(found) != 1:
        raise SystemExit(f"expected one chapter notebook in {CHAPTERS / chapter}, found {found}")
    return found[0]


@functools.cache
def reader_notebook(chapter: str) -> nbformat.NotebookNode:
    """``chapter`` as a reader's notebook: its Markdown rendered by the book's own converter
    (f2p_tools.clean_notebooks), numbers and references as on the site, no MyST, no macros."""
    path = reader_notebooks() / chapter_file(chapter).relative_to(ROOT).with_suffix(".ipynb")
    return nbformat.read(path, as_version=4)


def _region(chapter: str, kind: str, label: str) -> list[nbformat.NotebookNode]:
    cells = [
        c for c in reader_notebook(chapter).cells if c.metadata.get("f2p", {}).get(kind) == label
    ]
    if not cells:
        raise SystemExit(f"no {kind} {label!r} in chapter {chapter}")
    return cells


def exercise_text(chapter: str, label: str) -> str:
    """The exercise labelled ``label`` as the reader's notebook shows it (a titled block)."""
    (cell,) = _region(chapter, "exercise", label)
    return cell.source


def solution_parts(chapter: str, label: str) -> list[tuple[str, str]]:
    """The solution of exercise ``label`` in order, as ("markdown", text) and ("code", source)
    parts; without the reader's pointers to its folded code cells, which the key shows open."""
    parts = [(c.cell_type, c.source) for c in _region(chapter, "solution", label)]
    return [(kind, text) for kind, text in parts if kind == "code" or text.startswith("<details>")]


def solution_code(code: str, function: str | None) -> str:
    """A solution cell without the site's self-check call (``f2p.checks.x(...)``); it must
    define ``function`` when one is named."""
    lines = [line for line in code.splitlines() if not line.startswith("f2p.checks.")]
    solution = "\n".join(lines).strip() + "\n"
    if function is not None and function not in _functions(solution):
        raise SystemExit(f"the solution does not define {function}()")
    return solution


def _functions(code: str) -> dict[str, ast.FunctionDef]:
    return {node.name: node for node in ast.parse(code).body if isinstance(node, ast.FunctionDef)}


def stub(code: str, function: str, hint: str) -> str:
    """``function``'s signature (and docstring) from the solution, with a body that raises
    ``NotImplementedError`` carrying ``hint``."""
    node = _functions(code)[function]
    lines = code.splitlines()
    first = node.body[0]
    has_docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    end = first.end_lineno if has_docstring else first.lineno - 1
    header = "\n".join(lines[node.lineno - 1 : end])
    message = f"write {function}: {hint}"
    return f"{header}\n    raise NotImplementedError({message!r})\n"


def title(text: str) -> str:
    match = re.search(r"^# (.*)$", text, flags=re.MULTILINE)
    if match is None:
        raise SystemExit("no '# ' title in the chapter")
    return match.group(1).strip()


def chapter_number(chapter: str) -> int:
    return int(chapter.split("_")[0])


def exercise_number(chapter: str, label: str) -> str:
    """The exercise's number on the site: "7.2" for the second exercise of chapter 7, "2" in the
    unnumbered chapter 00."""
    (cell,) = _region(chapter, "exercise", label)
    return cell.metadata["f2p"]["number"]


def question_name(chapter: str, label: str) -> str:
    """otter's name for the question: "ex7_2" for Exercise 7.2."""
    return "ex" + exercise_number(chapter, label).replace(".", "_")


# --- writing the key -------------------------------------------------------------------------


def cases(graded: Graded, seed: int, count: int) -> str:
    """``count`` inputs drawn with ``seed`` and the reference's outputs on them, packed."""
    gen = torch.Generator().manual_seed(seed)
    drawn = []
    for _ in range(count):
        args = list(graded.inputs(gen))
        drawn.append((args, graded.reference(*checks._clone(args))))
    return grading.pack_cases(drawn)


def test_cell(graded: Graded, hidden: bool) -> str:
    """An otter exception-based test: the student's function on stored cases (0 points for the
    public one the student can run, all the exercise's points for the hidden one).

    The packed cases are a statement of their own: otter's message for a failed test quotes the
    test's line that raised (one line, as otter rewrites the test), which is then the short
    ``run_cases`` call, not thousands of characters of base64 before the useful line."""
    name = "hidden" if hidden else "public"
    packed = cases(graded, seed=2 if hidden else 1, count=graded.cases if hidden else 3)
    config = {"hidden": hidden, "points": graded.points if hidden else 0}
    return (
        f'""" # BEGIN TEST CONFIG\n{yaml.safe_dump(config)}""" # END TEST CONFIG\n'
        f"def test_{name}({graded.function}):\n"
        "    from f2p.grading import run_cases\n\n"
        f"    cases = {packed!r}\n"
        f"    run_cases(\n        {graded.function},\n        cases,\n"
        f"        refused={graded.refused!r},\n        rtol={graded.rtol!r},\n"
        f"        atol={graded.atol!r},\n    )\n\n\n"
        f"test_{name}({graded.function})\n"
    )


SETUP = """\
# Setup: installs what this notebook needs where it is missing: the course package (from the
# wheel handed out with this notebook when it is in this folder, else from the package index)
# and otter-grader, the client of the checks below.
import importlib.util
import pathlib
import subprocess
import sys

COURSE = {requirement!r}
WHEEL = {wheel!r}
if importlib.util.find_spec("f2p") is None:
    source = WHEEL if pathlib.Path(WHEEL).is_file() else COURSE
    try:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", source], check=True)
    except subprocess.CalledProcessError as err:
        raise RuntimeError(
            f"Could not install {{source}}. Put the file {{WHEEL}}, which came with this "
            "notebook, in the notebook's folder and run this cell again, or ask your instructor."
        ) from err
    importlib.invalidate_caches()
if importlib.util.find_spec("otter") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", {otter!r}], check=True)
    importlib.invalidate_caches()
import f2p

if getattr(f2p, "__distribution__", None) != COURSE.split("==")[0]:
    raise ImportError(
        f"'import f2p' found {{f2p.__file__}}, which is another package named f2p, not this "
        "course's. Uninstall it (pip uninstall f2p), restart the kernel and run this cell again."
    )
if f2p.__version__ != COURSE.split("==")[1]:
    print(f"Note: these exercises were built with {{COURSE}}; you have f2p {{f2p.__version__}}.")
"""


def _setup_code() -> str:
    return SETUP.format(requirement=REQUIREMENT, wheel=WHEEL, otter=OTTER)


ANSWER = (
    "*Your answer to the question above* (read by your instructor; the points of the "
    "autograder are for the code): double-click here and replace this text."
)


def asks_question(text: str) -> bool:
    """Whether an exercise's text asks a question to answer in words (a "?" outside code and
    math), besides the function to write."""
    prose = re.sub(r"`[^`]*`|\$\$.*?\$\$|\$[^$]*\$", "", text, flags=re.DOTALL)
    return "?" in prose


def key_notebook(chapter: str) -> nbformat.NotebookNode:
    """The otter-assign source of ``chapter``: the key, with otter's markers."""
    text = chapter_file(chapter).read_text(encoding="utf-8")
    number, graded = chapter_number(chapter), GRADED[chapter]
    v4 = nbformat.v4
    config = {
        "name": chapter,
        "init_cell": False,
        "check_all_cell": True,
        "export_cell": {"pdf": False},
        "run_tests": False,
        "generate": True,
        "tests": {"files": False, "ok_format": False},
        "requirements": "requirements.txt",  # written beside the source by build()
        "python_version": PYTHON,
        "files": [WHEEL],  # copied there by build(); beside the student notebook and in the zip
    }
    total = sum(g.points for g in graded)
    cells = [
        v4.new_raw_cell("# ASSIGNMENT CONFIG\n" + yaml.safe_dump(config, sort_keys=False)),
        v4.new_markdown_cell(
            f"# Chapter {number} exercises: {title(text)}\n\n"
            f"The graded coding exercises of chapter {number} of *Frames to Policies*, numbered "
            "as on the site "
            f"({len(graded)} exercise{'s' * (len(graded) > 1)}, {total} points). "
            "Read the chapter first. Write each "
            "function where it says `raise NotImplementedError`, then run the check below it: "
            "`grader.check` runs the public tests (a few fixed inputs); the hidden tests, which "
            "carry the points, use other inputs. Calling the course package's own "
            "implementation of the exercise scores nothing."
        ),
        v4.new_code_cell(_setup_code()),
        v4.new_code_cell(f'import otter\n\ngrader = otter.Notebook("{chapter}.ipynb")'),
        v4.new_code_cell("import numpy as np\nimport torch\n\nimport f2p"),
    ]
    for exercise in graded:
        label = exercise.label
        parts = solution_parts(chapter, label)
        solution = next(
            solution_code(code, exercise.function)
            for kind, code in parts
            if kind == "code" and exercise.function in _functions(code)
        )
        key = [
            v4.new_markdown_cell(piece)
            if kind == "markdown"
            else v4.new_code_cell(
                f"# BEGIN SOLUTION NO PROMPT\n{solution_code(piece, None)}# END SOLUTION"
            )
            for kind, piece in parts
        ]
        points = "point" if exercise.points == 1 else "points"
        cells += [
            v4.new_raw_cell(
                f"# BEGIN QUESTION\nname: {question_name(chapter, exercise.label)}\n"
                f"points: {exercise.points}"
            ),
            v4.new_markdown_cell(
                f"*{exercise.points} {points}.*\n\n{exercise_text(chapter, exercise.label)}"
            ),
            v4.new_raw_cell("# BEGIN PROMPT"),
            v4.new_code_cell(stub(solution, exercise.function, exercise.hint)),
            *(
                [v4.new_markdown_cell(ANSWER)]
                if asks_question(exercise_text(chapter, label))
                else []
            ),
            v4.new_raw_cell("# END PROMPT"),
            v4.new_raw_cell("# BEGIN SOLUTION"),
            *key,
            v4.new_raw_cell("# END SOLUTION"),
            v4.new_raw_cell("# BEGIN TESTS"),
            v4.new_code_cell(test_cell(exercise, hidden=False)),
            v4.new_code_cell(test_cell(exercise, hidden=True)),
            v4.new_raw_cell("# END TESTS"),
            v4.new_raw_cell("# END QUESTION"),
        ]
    notebook = v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return notebook


# --- otter assign ----------------------------------------------------------------------------


def build_wheel(folder: Path) -> Path:
    """The course package's wheel, built from this checkout into ``folder`` (offline, from a copy
    of the package's files, so that builds running at once share no ``build/`` folder)."""
    with tempfile.TemporaryDirectory() as tmp:
        project, dist = Path(tmp) / "project", Path(tmp) / "dist"
        skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
        shutil.copytree(ROOT / "src", project / "src", ignore=skip)
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            shutil.copy(ROOT / name, project / name)
        command = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist]
        run = subprocess.run([*command, project], capture_output=True, text=True)
        if run.returncode != 0:
            raise SystemExit(f"building the wheel failed:\n{(run.stdout + run.stderr)[-3000:]}")
        (built,) = dist.glob("*.whl")
        if built.name != WHEEL:
            raise SystemExit(f"built {built.name}, expected {WHEEL}")
        folder.mkdir(parents=True, exist_ok=True)
        return Path(shutil.move(built, folder / WHEEL))


def build(chapter: str, out: Path, wheel: Path | None = None) -> Path:
    """Write ``chapter``'s student, key and autograder under ``out / chapter``; return it. The
    package's ``wheel`` is built when not given."""
    from otter.assign import main as otter_assign

    target = out / chapter
    if target.exists():
        shutil.rmtree(target)
    source = out / ".sources" / chapter / f"{chapter}.ipynb"
    source.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(key_notebook(chapter), source)
    (source.parent / "requirements.txt").write_text("\n".join(IMAGE_REQUIREMENTS) + "\n")
    if wheel is None:
        wheel = build_wheel(out / ".sources")
    shutil.copy(wheel, source.parent / WHEEL)
    otter_assign(str(source), str(target), no_pdfs=True)
    student = target / "student" / f"{chapter}.ipynb"
    notebook = nbformat.read(student, as_version=4)
    notebook.cells = [c for c in notebook.cells if c.cell_type != "code" or c.source.strip()]
    nbformat.write(notebook, student)
    (archive,) = (target / "autograder").glob(f"{chapter}-autograder_*.zip")
    archive.rename(target / "autograder" / f"{chapter}-autograder.zip")
    return target


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", default=sorted(GRADED), help="chapter folders")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "assignments")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.chapters) - set(GRADED))
    if unknown:
        parser.error(f"no graded exercises for {unknown}; chapters: {sorted(GRADED)}")
    start = time.perf_counter()
    wheel = build_wheel(args.out / ".sources")
    for chapter in args.chapters:
        target = build(chapter, args.out, wheel)
        points = sum(g.points for g in GRADED[chapter])
        print(f"{chapter}: {len(GRADED[chapter])} exercises, {points} points -> {target}")
    print(f"{len(args.chapters)} chapters in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
