"""Take-away chapters: the package a reader installs, the setup cell every chapter starts with,
the downloads the site offers, and the reader's path (a downloaded notebook run outside this
repository, with ``f2p`` importable only from the site's wheel).

The tests marked ``site`` read the built site (``make book``, then ``make notebooks``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml

import f2p
from notebooks import ROOT, nbconvert_command, read_notebook  # also puts book/_ext on the path

import f2p_book  # isort: skip

SITE = ROOT / "_build" / "html"
# The reader's path runs chapter 00 (12 s; chapter 03, which reads its results table, takes about
# 3 minutes) and then what chapters 03-11 use the package for: its results, its source.
CHAPTER = "chapters/00_getting_started/getting_started"
PYPROJECT = (ROOT / "pyproject.toml").read_text()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return f2p_book.build_wheel(tmp_path_factory.mktemp("wheel"))


def setup_cell_code(site: str = "") -> str:
    """The setup cell's code, for a site published at ``site`` (a URL, or a folder here)."""
    return f2p_book.setup_cell(site).split("\n", 2)[2].rsplit("```", 1)[0]


# --- the package ------------------------------------------------------------------------------


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


# --- the setup cell -----------------------------------------------------------------------------


def test_the_setup_cell_goes_under_the_title():
    page = "---\nkernelspec: {}\n---\n\n(ch09)=\n# 09 · DDPG\n\nText.\n"
    text = f2p_book.with_setup_cell(page, "chapters/09_ddpg/ddpg")
    title, rest = text.split("# 09 · DDPG\n", 1)
    assert title.endswith("(ch09)=\n") and rest.rstrip().endswith("Text.")
    assert rest.index("Run this chapter yourself") < rest.index("```{code-cell} ipython3")
    assert f'COURSE = "{f2p_book.REQUIREMENT}"' in rest
    assert 'href="../../_sources/chapters/09_ddpg/ddpg.ipynb"' in rest
    with pytest.raises(ValueError, match="title"):
        f2p_book.with_setup_cell("no title here\n", "chapters/x/y")


def run_setup_cell(
    tmp_path: Path, python: str | Path = sys.executable, site: str = "", **env: str
) -> subprocess.CompletedProcess:
    script = tmp_path / "setup_cell.py"
    script.write_text(setup_cell_code(site))
    return subprocess.run(
        [str(python), str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )


def test_the_setup_cell_does_nothing_where_the_package_is_installed(tmp_path):
    done = run_setup_cell(tmp_path, PIP_NO_INDEX="1")
    assert done.returncode == 0, done.stderr
    assert "pip" not in done.stdout + done.stderr


def test_the_setup_cell_stops_on_an_unrelated_f2p(tmp_path):
    other = tmp_path / "other" / "f2p"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text('"""FITS 2D/3D physical size analyzer"""\n')
    failed = run_setup_cell(tmp_path, PYTHONPATH=str(other.parent), PIP_NO_INDEX="1")
    assert failed.returncode != 0
    assert "another package named f2p" in failed.stderr and "pip uninstall f2p" in failed.stderr


def test_the_setup_cell_installs_the_sites_wheel_before_a_release(wheel, tmp_path):
    """Before a release the index lacks this version (issue 39): the cell installs the wheel of
    the site it comes from, here a folder standing for the site, with no index at all."""
    site = tmp_path / "site"
    (site / f2p_book.DOWNLOADS).mkdir(parents=True)
    (site / f2p_book.DOWNLOADS / f2p_book.WHEEL).write_bytes(wheel.read_bytes())
    python = reader_python(tmp_path, wheel)
    done = run_setup_cell(tmp_path, python, site=f"{site}/", PIP_NO_INDEX="1")
    assert done.returncode == 0, done.stdout + done.stderr
    where = subprocess.run(
        [python, "-c", "import f2p; print(f2p.__file__, f2p.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert where[0].startswith(str(tmp_path / "reader-venv")) and where[1] == f2p.__version__


def test_the_setup_cell_falls_back_to_the_index_and_says_what_to_do_when_both_fail(wheel, tmp_path):
    python = reader_python(tmp_path, wheel)
    nowhere = f"{tmp_path}/no-site/"
    failed = run_setup_cell(tmp_path, python, site=nowhere, PIP_NO_INDEX="1")
    assert failed.returncode != 0 and "CalledProcessError" not in failed.stderr
    message = failed.stderr.strip().splitlines()[-1]
    assert message.startswith("RuntimeError: pip could not install " + f2p_book.REQUIREMENT)
    assert f2p_book.WHEEL in message and f"{nowhere}{f2p_book.DOWNLOADS}/" in message
    assert "restart the kernel" in message
    done = run_setup_cell(
        tmp_path, python, site=nowhere, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheel.parent)
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_setup_cell_knows_the_sites_address_where_the_build_does(monkeypatch):
    for name in ("F2P_SITE_URL", "GITHUB_REPOSITORY", "GITHUB_REF_TYPE", "GITHUB_REF_NAME"):
        monkeypatch.delenv(name, raising=False)
    assert f2p_book.site_url() == "" and 'WHEEL = ""' in f2p_book.setup_cell()
    monkeypatch.setenv("GITHUB_REPOSITORY", "Someone/frames-to-policies")
    assert f2p_book.site_url() == "https://someone.github.io/frames-to-policies/"
    wheel_url = f"https://someone.github.io/frames-to-policies/downloads/{f2p_book.WHEEL}"
    assert f'WHEEL = "{wheel_url}"' in f2p_book.setup_cell()
    monkeypatch.setenv("GITHUB_REF_TYPE", "tag")
    monkeypatch.setenv("GITHUB_REF_NAME", "v1.2.3")  # the release workflow keeps it under /v1.2.3/
    assert f2p_book.site_url() == "https://someone.github.io/frames-to-policies/v1.2.3/"
    monkeypatch.setenv("F2P_SITE_URL", "https://course.example.org/f2p")
    assert f2p_book.site_url() == "https://course.example.org/f2p/"
    monkeypatch.setenv("F2P_SITE_URL", "")  # empty: unset
    assert f2p_book.site_url() == "https://someone.github.io/frames-to-policies/v1.2.3/"


def test_the_run_line_says_what_to_install_and_links_the_pdf():
    """Jupyter is not in the wheel, a plain pip install on Linux pulls CUDA torch, the .md needs
    jupytext, and the page menu's .pdf was the browser's print dialog (issue 39)."""
    text = f2p_book.with_setup_cell("# 09 · DDPG\n", "chapters/09_ddpg/ddpg")
    line = text.split("<p", 1)[1].split("</p>", 1)[0]
    install = f"pip install jupyterlab {f2p_book.REQUIREMENT} --extra-index-url"
    assert install in line and f2p_book.CPU_TORCH_INDEX in line
    assert "CPU-only" in line and "GPU" in line and "jupytext" in line
    assert f'href="../../{f2p_book.DOWNLOADS}/{f2p_book.PDF}"' in line
    assert f2p_book.READER_PACKAGES == ("jupyterlab",)


# --- the reader's path --------------------------------------------------------------------------


def requirements_of(wheel: Path) -> list[str]:
    """The ``Requires-Dist`` lines of ``wheel`` that a plain ``pip install`` of it installs (no
    extras)."""
    from packaging.requirements import Requirement

    with zipfile.ZipFile(wheel) as zipped:
        name = next(n for n in zipped.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = zipped.read(name).decode()
    found = re.findall(r"^Requires-Dist: (.+)$", metadata, flags=re.MULTILINE)
    return [r for r in found if Requirement(r).marker is None or Requirement(r).marker.evaluate()]


def installed_closure(requirements: list[str]) -> set[str]:
    """The distributions of this environment that ``pip install`` of ``requirements`` would
    bring: the requirements and, recursively, theirs, with the extras they ask for (nbconvert
    asks for ``bleach[css]``, whose ``css`` extra brings tinycss2; markers evaluated)."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: set[tuple[str, str]] = set()  # (distribution, extra or "")
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        requirement, parent_extra = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": parent_extra}):
            continue
        name = canonicalize_name(requirement.name)
        for extra in {"", *requirement.extras} - {e for n, e in seen if n == name}:
            seen.add((name, extra))
            todo += [(Requirement(r), extra) for r in metadata.distribution(name).requires or []]
    return {name for name, _ in seen}


def reader_view(tmp_path: Path, wheel: Path) -> Path:
    """A folder of links to what a reader has after ``pip install`` of the site's wheel and of
    :data:`f2p_book.READER_PACKAGES` (the run line's ``jupyterlab``), taken from this
    environment: the wheel's dependencies and theirs, and nothing else (no ``book`` or ``dev``
    extra, no ``f2p``)."""
    from importlib import metadata

    from packaging.utils import canonicalize_name

    wanted = installed_closure(requirements_of(wheel) + list(f2p_book.READER_PACKAGES) + ["pip"])
    view = tmp_path / "site-packages-view"
    view.mkdir()
    for dist in metadata.distributions():
        if canonicalize_name(dist.metadata["Name"]) not in wanted:
            continue
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops - {"__pycache__"}:
            entry = Path(dist.locate_file(top))
            if entry.exists() and not (view / top).exists():
                (view / top).symlink_to(entry)
    return view


def reader_python(tmp_path: Path, wheel: Path | None = None) -> Path:
    """A virtual environment in which ``f2p`` is not importable and which sees, through a view of
    this environment, only what a reader installs: the dependencies of ``wheel`` (by default the
    site's) and the run line's packages (:func:`reader_view`)."""
    wheel = wheel or SITE / f2p_book.DOWNLOADS / f2p_book.WHEEL
    venv = tmp_path / "reader-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    view = reader_view(tmp_path, wheel)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "view.pth").write_text(f"{view}\n")
    return python


def run_as_a_reader(tmp_path: Path, notebook: nbformat.NotebookNode) -> subprocess.CompletedProcess:
    """Execute ``notebook`` from a folder outside the repository, in the reader's environment,
    pip reaching only the wheel the site serves (the setup cell installs it from there)."""
    python = reader_python(tmp_path)
    folder = tmp_path / "reader"
    folder.mkdir()
    nbformat.write(notebook, folder / "chapter.ipynb")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(SITE / f2p_book.DOWNLOADS),
        F2P_PROFILE="fast",
        F2P_THREADS="1",
        OMP_NUM_THREADS="1",
        MPLBACKEND="module://matplotlib_inline.backend_inline",
    )
    return subprocess.run(
        nbconvert_command(python, "chapter.ipynb", timeout=600),
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )


def downloaded(docname: str) -> nbformat.NotebookNode:
    path = SITE / "_sources" / f"{docname}.ipynb"
    if not path.is_file():
        pytest.skip(f"{path} missing: build the site first (make book)")
    return nbformat.read(path, as_version=4)


def what_other_chapters_use() -> nbformat.NotebookNode:
    """A cell that reads a chapter's results and shows a function's source as chapters 03-11 do,
    and says where ``f2p`` came from."""
    return nbformat.v4.new_code_cell(
        '(benchmark,) = f2p.results.load(chapter="03")\n'
        'assert benchmark["rows"]\n'
        'shown = f2p.utils.show_source("f2p.rl.trpo.conjugate_gradient")\n'
        'assert "def conjugate_gradient" in repr(shown)\n'
        "print('F2P_FROM', f2p.__file__)"
    )


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


@pytest.mark.site
def test_a_downloaded_chapter_runs_outside_the_repository_from_the_sites_wheel(tmp_path):
    notebook = downloaded(CHAPTER)
    notebook.cells.append(what_other_chapters_use())
    done = run_as_a_reader(tmp_path, notebook)
    assert done.returncode == 0, done.stderr[-3000:]
    ran = nbformat.read(tmp_path / "reader" / "chapter.ipynb", as_version=4)
    (line,) = [o["text"] for o in ran.cells[-1].outputs if "F2P_FROM" in o.get("text", "")]
    assert str(tmp_path / "reader-venv") in line and str(ROOT) not in line, line
    # nothing on stderr past the setup cell (whose pip talks): without ipywidgets, tqdm.auto
    # warned "IProgress not found" on import f2p (issue 39)
    stderr = [
        output["text"]
        for cell in ran.cells
        if cell.cell_type == "code" and "COURSE = " not in cell.source
        for output in cell.get("outputs", [])
        if output.get("name") == "stderr"
    ]
    assert not stderr, stderr


@pytest.mark.site
def test_the_readers_path_fails_without_the_setup_cell(tmp_path):
    notebook = downloaded(CHAPTER)
    setup = [i for i, c in enumerate(notebook.cells) if "COURSE = " in c.source]
    assert len(setup) == 1
    del notebook.cells[setup[0]]
    failed = run_as_a_reader(tmp_path, notebook)
    assert failed.returncode != 0 and "No module named 'f2p'" in failed.stderr


@pytest.mark.site
def test_the_readers_path_fails_on_a_repository_relative_path(tmp_path):
    notebook = downloaded(CHAPTER)
    setup = next(i for i, c in enumerate(notebook.cells) if "COURSE = " in c.source)
    notebook.cells.insert(
        setup + 1,
        nbformat.v4.new_code_cell(
            '(benchmark,) = f2p.results.load("../../src/f2p/data/results", chapter="03")'
        ),
    )
    failed = run_as_a_reader(tmp_path, notebook)
    assert failed.returncode != 0 and "not enough values to unpack" in failed.stderr


# --- the downloads ------------------------------------------------------------------------------


def chapter_pages() -> list[str]:
    pages = ROOT.glob("chapters/*/*.md")
    return sorted(p.relative_to(ROOT).with_suffix("").as_posix() for p in pages)


def output_images(notebook: nbformat.NotebookNode) -> int:
    return sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        if "remove-output" not in cell.metadata.get("tags", [])
        for output in cell.get("outputs", [])
    )


@pytest.mark.site
@pytest.mark.parametrize("docname", chapter_pages())
def test_each_download_has_the_outputs_of_its_page(docname):
    notebook = downloaded(docname)
    html = (SITE / f"{docname}.html").read_text()
    shown = [
        c
        for c in notebook.cells
        if c.cell_type == "code" and "remove-cell" not in c.metadata.get("tags", [])
    ]
    assert len(shown) == len(re.findall(r'<div class="cell[ "]', html)), "code cells"
    page_images = len(re.findall(r'<img alt="(?:\.\./)*_images/[0-9a-f]{64}\.png"', html))
    assert output_images(notebook) == page_images, "images"
    assert sum(bool(c.get("outputs")) for c in shown) > 0
    source = (SITE / "_sources" / f"{docname}.md").read_text()
    assert "COURSE = " in source and source.count("{code-cell}") == len(
        [c for c in notebook.cells if c.cell_type == "code"]
    )


@pytest.mark.site
def test_the_site_serves_its_wheel_and_an_archive_of_all_chapters():
    downloads = SITE / f2p_book.DOWNLOADS
    assert (downloads / f2p_book.WHEEL).is_file()
    with zipfile.ZipFile(downloads / f2p_book.ARCHIVE) as zipped:
        names = set(zipped.namelist())
    for docname in chapter_pages():
        assert {f"{docname}.ipynb", f"{docname}.md"} <= names, docname
    index = (SITE / f"{CHAPTER}.html").read_text()
    assert f"{f2p_book.DOWNLOADS}/{f2p_book.WHEEL}" in index and "CC BY 4.0" in index


@pytest.mark.site
def test_the_notebooks_branch_has_every_executed_chapter():
    tree = ROOT / "_build" / "notebooks"
    if not tree.is_dir():
        pytest.skip("run `make notebooks` after the build")
    laid_out = sorted(p.relative_to(tree).with_suffix("").as_posix() for p in tree.rglob("*.ipynb"))
    assert laid_out == chapter_pages()
    assert f2p.__distribution__ in (tree / "requirements.txt").read_text()


# --- launch buttons, workflows, project files ---------------------------------------------------


def test_launch_links_open_the_executed_notebook_on_each_service():
    links = {
        b["text"]: b["url"]
        for b in f2p_book.launch_links(
            "https://github.com/someone/frames-to-policies",
            "chapters/09_ddpg/ddpg.ipynb",
            "https://colab.research.google.com",
            "https://mybinder.org",
            "https://hub.example.org",
        )
    }
    assert links["Colab"] == (
        "https://colab.research.google.com/github/someone/frames-to-policies/blob/notebooks/"
        "chapters/09_ddpg/ddpg.ipynb"
    )
    assert links["Binder"].startswith(
        "https://mybinder.org/v2/gh/someone/frames-to-policies/notebooks?"
    )
    assert "chapters%2F09_ddpg%2Fddpg.ipynb" in links["Binder"]
    assert "branch=notebooks" in links["JupyterHub"]
    assert list(f2p_book.launch_links("https://github.com/a/b", "x.ipynb")) == []
    with pytest.raises(ValueError, match="GitHub repository"):
        f2p_book.launch_links("https://example.org/a", "x.ipynb", "https://colab")


def test_a_release_sites_launch_buttons_open_that_releases_notebooks(monkeypatch):
    """A release's site (kept under /vX.Y.Z/) pointed its buttons at main's notebooks (issue 39):
    it opens the branch its release workflow writes."""
    monkeypatch.delenv("GITHUB_REF_TYPE", raising=False)
    monkeypatch.delenv("GITHUB_REF_NAME", raising=False)
    assert f2p_book.launch_branch() == "notebooks"
    monkeypatch.setenv("GITHUB_REF_TYPE", "tag")
    monkeypatch.setenv("GITHUB_REF_NAME", "v1.2.3")
    assert f2p_book.launch_branch() == "notebooks-v1.2.3"
    (colab,) = f2p_book.launch_links(
        "https://github.com/a/b", "x.ipynb", "https://colab", branch=f2p_book.launch_branch()
    )
    assert colab["url"] == "https://colab/github/a/b/blob/notebooks-v1.2.3/x.ipynb"
    release = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    published = {
        step["with"].get("publish_branch", "gh-pages"): step["with"]["publish_dir"]
        for step in release["jobs"]["build"]["steps"]
        if "actions-gh-pages" in step.get("uses", "")
    }
    assert published["notebooks-${{ github.ref_name }}"] == "_build/notebooks"


def test_contributing_says_how_to_switch_on_pages_and_trusted_publishing():
    text = (ROOT / "CONTRIBUTING.md").read_text()
    section = text.split("## Publishing and releasing", 1)[1].split("\n## ", 1)[0]
    for needed in ("Settings → Pages", "`gh-pages`", "pending publisher", "`release.yml`",
                   "environment `pypi`", "git tag vX.Y.Z", "notebooks-vX.Y.Z"):  # fmt: skip
        assert needed in section, needed
    assert '("Publishing and releasing")' in (ROOT / "book" / "how_to_use.md").read_text()


def test_the_repository_comes_from_config_or_the_ci_environment(monkeypatch):
    class Config:
        html_theme_options: dict = {}

    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    assert f2p_book.repository_url(Config) == ""
    monkeypatch.setenv("GITHUB_REPOSITORY", "someone/frames-to-policies")
    assert f2p_book.repository_url(Config) == "https://github.com/someone/frames-to-policies"
    Config.html_theme_options = {"repository_url": "https://github.com/x/y/"}
    assert f2p_book.repository_url(Config) == "https://github.com/x/y"


WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([\w-]+):", makefile, flags=re.MULTILINE))


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_are_thin_wrappers_around_make_targets(workflow):
    spec = yaml.safe_load(workflow.read_text())
    assert spec["jobs"] and (True in spec or "on" in spec)  # YAML reads `on:` as True
    targets = make_targets()
    for job in spec["jobs"].values():
        for step in job["steps"]:
            assert "uses" in step or "run" in step, step
            if "run" not in step:
                continue
            for target in re.findall(r"\bmake ([\w-]+)", step["run"]):
                assert target in targets, f"{workflow.name}: `make {target}` is not a target"
            commands = [c.strip() for c in re.split(r"&&|\n", step["run"]) if c.strip()]
            for command in commands:
                assert command.startswith(("make ", "sudo make ", "gh release ")), command
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    test_recipe = (ROOT / "Makefile").read_text().split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "$(MAKE) dist notebooks pdf" in test_recipe and "jupyter-book build" in test_recipe


def test_the_check_version_target_rejects_a_wrong_tag():
    ok = subprocess.run(
        ["make", "-s", "check-version", f"TAG=v{f2p.__version__}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = subprocess.run(
        ["make", "-s", "check-version", "TAG=v0.0.0"], cwd=ROOT, capture_output=True, text=True
    )
    assert bad.returncode != 0 and "does not match" in bad.stdout + bad.stderr


CFF_REQUIRED = {"cff-version": str, "message": str, "title": str, "authors": list}
CFF_OPTIONAL = {
    "type": str,
    "abstract": str,
    "version": str,
    "date-released": str,
    "license": str,
    "keywords": list,
    "repository-code": str,
    "url": str,
}


def test_citation_file_follows_the_citation_file_format():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    for key, kind in CFF_REQUIRED.items():
        assert isinstance(citation.get(key), kind), key
    assert set(citation) <= set(CFF_REQUIRED) | set(CFF_OPTIONAL), set(citation)
    assert citation["cff-version"] == "1.2.0" and citation["type"] in ("software", "dataset")
    assert all("name" in a or "family-names" in a for a in citation["authors"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(citation["date-released"]))
    assert citation["license"] == "MIT" and "MIT License" in (ROOT / "LICENSE").read_text()
    assert "CC BY 4.0" in (ROOT / "LICENSE").read_text()
    json.dumps(citation)  # plain data, as the format's JSON schema expects


def test_project_files_exist_for_contributors():
    for name in ("LICENSE", "CITATION.cff", "CONTRIBUTING.md", "CHANGELOG.md"):
        assert (ROOT / name).is_file(), name
    templates = list((ROOT / ".github" / "ISSUE_TEMPLATE").glob("*.md"))
    assert len(templates) >= 2
    for template in templates:
        front = template.read_text().split("---")[1]
        assert {"name", "about"} <= set(yaml.safe_load(front)), template.name


@pytest.mark.parametrize("docname", chapter_pages())
def test_no_chapter_reads_files_by_a_repository_path(docname):
    """A downloaded notebook runs in any folder: no code cell names a path into the repository
    (``../``, ``src/``, ``benchmarks/``) or includes the package's files by path."""
    text = (ROOT / f"{docname}.md").read_text()
    cells = re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, flags=re.DOTALL)
    for cell in cells:
        assert not re.search(r"""["'](\.\./|src/|benchmarks/)""", cell), cell[:200]
    assert "{literalinclude}" not in text, "show the code with f2p.utils.show_source"


@pytest.mark.site
def test_the_site_serves_the_whole_book_as_a_pdf():
    pdf = SITE / f2p_book.DOWNLOADS / f2p_book.PDF
    if not pdf.is_file():
        pytest.skip("run `make pdf` after the build")
    data = pdf.read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert data.startswith(b"%PDF") and pages >= 10 * len(chapter_pages()), pages
    assert f2p_book.PDF in (SITE / "book" / "how_to_use.html").read_text()
    # issue 39: no dead "Show code cell source" toggles; the contents have page numbers
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "Show code cell" not in text
    contents = text.split("\f", 1)[0]
    assert re.search(r"How to use this course\s+\d+\s", contents), contents[:500]


WIDE_PAGE = """<!DOCTYPE html><html><head><link rel="stylesheet" href="f2p.css"></head>
<body><main><div class="f2p-print">
<h2>Chapters at a glance</h2>
<div class="math">{wide}</div>
<table class="table"><tr>{cells}</tr></table>
<p>Text, then a paragraph wider than the page that nothing may scale:</p>
{unfit}
</div></main></body></html>"""


@pytest.mark.site
def test_print_scales_wide_math_and_tables_and_fails_on_what_still_overflows(tmp_path):
    """The print path lays the page out at the printable width, scales display math and tables
    that are too wide (issue 39: about 35 were cut off, with a scrollbar printed under them), and
    refuses to print anything that still runs past the page; poppler reads the result."""
    sys.path.insert(0, str(ROOT / "book"))
    from print_pdf import PRINTABLE_WIDTH_PX, print_page
    from site_browser import serve

    (tmp_path / "f2p.css").write_text((ROOT / "book" / "_static" / "f2p.css").read_text())
    wide = '<span style="display:inline-block;width:1400px">x = ' + "a + " * 80 + "b</span>"
    cells = "".join(f"<td>column{i:02d}_with_a_long_name</td>" for i in range(8))
    (tmp_path / "fits.html").write_text(WIDE_PAGE.format(wide=wide, cells=cells, unfit=""))
    unfit = '<p style="width:1500px;overflow:hidden">' + "word " * 300 + "</p>"
    (tmp_path / "overflows.html").write_text(WIDE_PAGE.format(wide="", cells="", unfit=unfit))
    with serve(tmp_path) as origin:
        report = print_page(f"{origin}/fits.html", tmp_path / "fits.pdf", settle_ms=100)
        with pytest.raises(SystemExit, match="run past the printable area"):
            print_page(f"{origin}/overflows.html", tmp_path / "overflows.pdf", settle_ms=100)
    assert report["scaled"] >= 2 and report["overflowing"] == []
    assert not (tmp_path / "overflows.pdf").exists()
    boxes = subprocess.run(
        ["pdftotext", "-bbox", str(tmp_path / "fits.pdf"), "-"], capture_output=True, text=True
    ).stdout
    right = [float(x) for x in re.findall(r'xMax="([\d.]+)"', boxes)]
    margin = 1.5 / 2.54 * 72  # points
    assert right and max(right) <= 595.3 - margin + 1, (max(right), PRINTABLE_WIDTH_PX)
    assert "column07_with_a_long_name" in boxes  # the table's last column is on the page


@pytest.mark.build
def test_a_built_chapter_has_its_setup_cell_downloads_and_launch_buttons(tmp_path):
    """A throwaway book with one chapter, built as GitHub Actions would build it: the chapter
    page runs the setup cell, offers its executed notebook, and has launch buttons that open it
    on the ``notebooks`` branch of the repository named by ``GITHUB_REPOSITORY``. Its first page
    is the guards' good page: a valid citation and reference pass the build's -W."""
    from test_guards import GOOD_PAGE, build, make_book

    book = make_book(tmp_path / "book", GOOD_PAGE)
    chapter = book / "chapters" / "01_demo" / "demo.md"
    chapter.parent.mkdir(parents=True)
    front = (ROOT / f"{CHAPTER}.md").read_text().split("\n---\n", 1)[0] + "\n---\n"
    chapter.write_text(front + "# 01 · Demo\n\n```{code-cell} ipython3\nprint(6 * 7)\n```\n")
    (book / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n- file: chapters/01_demo/demo\n"
    )
    result = build(book, GITHUB_REPOSITORY="someone/frames-to-policies")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = (book / "_build" / "html" / "chapters" / "01_demo" / "demo.html").read_text()
    colab = "colab.research.google.com/github/someone/frames-to-policies/blob/notebooks/"
    assert colab + "chapters/01_demo/demo.ipynb" in html
    assert "mybinder.org/v2/gh/someone/frames-to-policies/notebooks" in html
    assert "github.com/someone/frames-to-policies/edit/" in html  # the edit button
    assert "Run this chapter yourself" in html and "CC BY 4.0" in html
    # the page menu's .pdf is the book's PDF, not the browser's print dialog (issue 39)
    assert f'href="../../{f2p_book.DOWNLOADS}/{f2p_book.PDF}"' in html
    assert "window.print()" not in html
    intro = (book / "_build" / "html" / "book" / "intro.html").read_text()
    assert "Schulman" in intro and 'href="#a"' in intro  # the citation and reference resolved
    downloaded = book / "_build" / "html" / "_sources" / "chapters" / "01_demo" / "demo.ipynb"
    cells = [c for c in nbformat.read(downloaded, as_version=4).cells if c.cell_type == "code"]
    assert "COURSE = " in cells[0].source and cells[1].outputs[0]["text"] == "42\n"
