"""Packaging: the package a reader installs. One version, the wheel with its results and licence
and the teaching package alone, every chapter's imports from the wheel's dependencies, one
pin of PyTorch, no package in two extras."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml

import f2p
from f2p_tools import book as f2p_book
from f2p_tools.runner import ROOT, read_notebook
from reader_env import chapter_pages, reader_python

PYPROJECT = (ROOT / "pyproject.toml").read_text()


def test_the_version_is_written_once():
    assert 'dynamic = ["version"]' in PYPROJECT and 'attr = "f2p.__version__"' in PYPROJECT
    assert not re.search(r'^version\s*=\s*"', PYPROJECT, flags=re.MULTILINE)
    assert re.fullmatch(r"\d+\.\d+\.\d+", f2p.__version__)
    assert f2p.__distribution__ == "frames-to-policies"
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["version"] == f2p.__version__
    assert f"## {f2p.__version__}" in (ROOT / "CHANGELOG.md").read_text()


def test_the_wheel_ships_the_results_and_reports_the_version(wheel, tmp_path):
    assert wheel.name == f2p_book.WHEEL
    with zipfile.ZipFile(wheel) as zipped:
        names = zipped.namelist()
        metadata = zipped.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    shipped = {Path(n).name for n in names if n.startswith("f2p/data/results/")}
    assert shipped == {p.name for p in f2p.results.RESULTS_DIR.glob("*.json")} and shipped
    assert "Name: frames-to-policies" in metadata and f"Version: {f2p.__version__}" in metadata
    assert any(n.endswith("licenses/LICENSE") for n in names), "the licence travels with the code"
    target = tmp_path / "installed"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    probe = (
        "import f2p; print(f2p.__file__); print(f2p.__version__); "
        "print(len(f2p.results.load(chapter='03')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "PYTHONPATH": str(target)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == [str(target / "f2p" / "__init__.py"), f2p.__version__, "1"]


def imported_modules(docname: str) -> set[str]:
    """Every module a chapter's code cells import (``import a.b``, ``from a.b import c``)."""
    import ast

    modules = set()
    for cell in read_notebook(ROOT / f"{docname}.md").cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join(line for line in cell.source.splitlines() if line.lstrip()[:1] not in "%!")
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Import):
                modules |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules.add(node.module)
    return modules


def f2p_modules(wheel: Path) -> set[str]:
    """Every module of the package in ``wheel``, except ``trl_bridge``, which needs the ``scale``
    extra (Hugging Face TRL) that only chapter 11's optional section uses."""
    with zipfile.ZipFile(wheel) as zipped:
        files = [n for n in zipped.namelist() if n.startswith("f2p/") and n.endswith(".py")]
    found = {n.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for n in files}
    return {m for m in found if not m.endswith(".trl_bridge")}


IMPORT_PROBE = """
import importlib, json, sys
failed = {}
for module in json.loads(sys.argv[1]):
    try:
        importlib.import_module(module)
    except Exception as err:  # noqa: BLE001 (each failure is reported by name)
        failed[module] = f"{type(err).__name__}: {err}"
print(json.dumps(failed))
"""


def test_every_chapter_imports_from_the_wheel_alone(wheel, tmp_path):
    """What the run line tells a reader to install (the wheel and ``jupyterlab``) imports every
    module that any chapter imports, and every module of the package (issue 39: chapter 01 needed
    OpenCV, which only the ``book`` and ``dev`` extras brought)."""
    python = reader_python(tmp_path, wheel)
    target = tmp_path / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
         str(wheel)],
        check=True,
    )  # fmt: skip
    wanted = {m: docname for docname in chapter_pages() for m in imported_modules(docname)}
    wanted |= {m: "the package" for m in f2p_modules(wheel)}
    assert "cv2" in wanted and "f2p.video.train" in wanted, sorted(wanted)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    probe = subprocess.run(
        [python, "-c", IMPORT_PROBE, json.dumps(sorted(wanted))],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(target), "MPLBACKEND": "agg"},
        capture_output=True,
        text=True,
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    failed = json.loads(probe.stdout.strip().splitlines()[-1])
    assert not failed, {f"{wanted[m]}: {m}": why for m, why in failed.items()}


def test_the_wheel_holds_the_teaching_package_alone(wheel):
    """The tooling (``src/f2p_tools``) stays out of the wheel: it needs the repository and the
    ``book`` and ``dev`` extras, which a reader does not have."""
    with zipfile.ZipFile(wheel) as zipped:
        tops = {name.split("/", 1)[0] for name in zipped.namelist()}
    assert tops == {"f2p", f"frames_to_policies-{f2p.__version__}.dist-info"}, sorted(tops)


def test_the_tested_torch_is_pinned_in_one_place():
    """``TORCH`` in the Makefile pins PyTorch for both installs there and for the kit's grading
    image (``f2p_tools.settings.TORCH``); ``environment.yml``, which cannot include it, agrees."""
    from f2p_tools.settings import TORCH

    makefile = (ROOT / "Makefile").read_text()
    assert re.fullmatch(r"torch==\d+\.\d+\.\d+", TORCH)
    assert re.findall(r"torch==[\d.]+", makefile) == [TORCH], "pinned once, as TORCH"
    assert makefile.count("$(TORCH)") == 2  # the development and the teaching environments
    pinned = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"][-1]["pip"]
    assert [p for p in pinned if p.startswith("torch")] == [TORCH]


def test_no_package_is_required_twice():
    """Each requirement is written once: no extra repeats a dependency of the package or a
    requirement of another extra (an extra that needs another one names it)."""
    import tomllib
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads(PYPROJECT)["project"]
    name = canonicalize_name(project["name"])
    lists = {"dependencies": project["dependencies"], **project["optional-dependencies"]}
    owner: dict[str, str] = {}
    for where, requirements in lists.items():
        for requirement in map(Requirement, requirements):
            package = canonicalize_name(requirement.name)
            if package == name:
                continue  # an extra that includes another extra
            assert package not in owner, f"{package} in both {owner[package]} and {where}"
            owner[package] = where
