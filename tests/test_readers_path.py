"""The reader's path: the setup cell every chapter starts with, the run line under its title, the
downloads the site offers, and a downloaded notebook run outside this repository, with ``f2p``
importable only from the site's wheel.

The tests marked ``site`` read the built site (``make book``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import f2p
from f2p_tools import book as f2p_book
from f2p_tools.runner import ROOT, nbconvert_command
from reader_env import CHAPTER, SITE, chapter_pages, reader_python


def setup_cell_code(site: str = "") -> str:
    """The setup cell's code, for a site published at ``site`` (a URL, or a folder here)."""
    return f2p_book.setup_cell(site).split("\n", 2)[2].rsplit("```", 1)[0]


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


@pytest.mark.parametrize("docname", chapter_pages())
def test_no_chapter_reads_files_by_a_repository_path(docname):
    """A downloaded notebook runs in any folder: no code cell names a path into the repository
    (``../``, ``src/``, ``benchmarks/``) or includes the package's files by path."""
    text = (ROOT / f"{docname}.md").read_text()
    cells = re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, flags=re.DOTALL)
    for cell in cells:
        assert not re.search(r"""["'](\.\./|src/|benchmarks/)""", cell), cell[:200]
    assert "{literalinclude}" not in text, "show the code with f2p.utils.show_source"


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
