"""The notebook a reader runs reads like the page (issue 41): the converter on a hand-made page,
the site's downloads free of MyST and of the book's macros with the page's numbers, a download
rendered by JupyterLab in Chromium, and ``make lab``'s settings."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
import yaml
from docutils import nodes
from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser
from docutils.utils import new_document

from f2p_tools import clean_notebooks as convert
from f2p_tools.lab import lab_command
from f2p_tools.site_browser import chromium

ROOT = Path(__file__).resolve().parents[1]

SITE = ROOT / "_build" / "html"
CHAPTERS = sorted(
    p.relative_to(ROOT).with_suffix("").as_posix() for p in ROOT.glob("chapters/*/*.md")
)
BOOK_MACROS = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"][
    "mathjax3_config"
]["tex"]["macros"]

# What Jupyter shows raw: MyST directive fences and options, roles, targets; the book's macros.
RAW_MYST = {
    "directive": re.compile(r"^\s*(`{3,}|:{3,})\s*\{[\w:-]+\}", re.M),
    "option": re.compile(r"^\s*:(class|label|name|tags|title|nowrap|open|width|align):", re.M),
    "role": re.compile(r"\{[\w:-]+\}`"),
    "target": re.compile(r"^\(\S+\)=\s*$", re.M),
    "macro": re.compile(r"\\(" + "|".join(BOOK_MACROS) + r")(?![A-Za-z])"),
}


def raw_myst(text: str) -> dict[str, int]:
    found = {name: len(pattern.findall(text)) for name, pattern in RAW_MYST.items()}
    return {name: count for name, count in found.items() if count}


# --- the converter ------------------------------------------------------------------------------


def test_macros_expand_with_arguments_nesting_and_as_scripts():
    macros = {
        "E": (r"\mathbb{E}", 0),
        "btheta": (r"\boldsymbol{\theta}", 0),
        "grad": (r"\nabla", 0),
        "norm": (r"\lVert #1 \rVert_{#2}", 2),
        "twice": (r"\E\E", 0),
        "R": (r"\mathbb{R}", 0),
    }
    expand = convert.expand_macros
    assert expand(r"\E_{x}[f]", macros) == r"\mathbb{E}_{x}[f]"
    assert expand(r"\grad_\btheta J", macros) == r"\nabla_{\boldsymbol{\theta}} J"
    assert expand(r"\norm{x + y}2", macros) == r"\lVert x + y \rVert_{2}"
    assert expand(r"\twice", macros) == r"\mathbb{E}\mathbb{E}"
    assert expand(r"\Ex \Rightarrow \R^n", macros) == r"\Ex \Rightarrow \mathbb{R}^n"
    assert expand(r"\E x", macros) == r"\mathbb{E} x"
    with pytest.raises(ValueError, match="argument is missing"):
        expand(r"\norm", macros)


def test_every_book_macro_expands_to_tex_jupyter_knows():
    macros = convert.macros_of(
        type("Config", (), {"mathjax3_config": {"tex": {"macros": BOOK_MACROS}}})
    )
    used = " ".join(f"\\{name}" + "{a}" * arity for name, (_, arity) in macros.items())
    assert not raw_myst(convert.expand_macros(used, macros))


def a_page() -> tuple[nodes.document, nbformat.NotebookNode, dict]:
    """A resolved page by hand: a section with a link, math, a numbered equation, a theorem, a
    code cell, an exercise with a solution holding a code cell, and a dropdown."""
    from sphinx_exercise.nodes import exercise_enumerable_node, solution_node
    from sphinx_proof.nodes import theorem_node

    def cell(index: int, source: str) -> nodes.container:
        return nodes.container("", nodes.literal_block(source, source), nb_element="cell_code",
                               cell_index=index)  # fmt: skip

    doc = new_document("page", get_default_settings(Parser))
    section = nodes.section(ids=["intro"])
    section += nodes.title("", "Intro")
    section += nodes.paragraph("", "", nodes.Text("See "),
        nodes.reference("", "Theorem 3.1", refuri="../08_x/y.html#thm", internal=True),
        nodes.Text(" and "), nodes.math("", r"\E x"), nodes.Text(" (costs $5 * 2)."))  # fmt: skip
    section += nodes.math_block("", r"a = \btheta", ids=["equation-x"], number=1, nowrap=False)
    theorem = theorem_node(ids=["thm"], label="thm", countertype="theorem", realtype="theorem")
    theorem += nodes.title("", " (Name)")
    theorem += nodes.paragraph("", "It holds.")
    section += theorem
    section += cell(1, "x = 1")
    exercise = exercise_enumerable_node(ids=["ex"], label="ex")
    exercise += nodes.title("", "")
    exercise += nodes.paragraph("", "Do it.")
    section += exercise
    solution = solution_node(target_label="ex", title="Solution to Exercise 3.1")
    solution += [cell(2, "print(1)"), nodes.paragraph("", "Because.")]
    section += solution
    dropdown = nodes.admonition(classes=["dropdown"])
    dropdown += [nodes.title("", "More"), nodes.paragraph("", "Hidden.")]
    section += dropdown
    doc += section
    printed = nbformat.v4.new_output("stream", text="1\n")
    executed = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Intro {ref}`x`"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("print(1)", outputs=[printed]),
    ])  # fmt: skip
    numbers = {"displaymath": {"equation-x": (3, 2)}, "theorem": {"thm": (3, 1)},
               "exercise": {"ex": (3, 1)}}  # fmt: skip
    return doc, executed, numbers


def convert_page(site: str = "") -> nbformat.NotebookNode:
    doc, executed, numbers = a_page()
    macros = {"E": (r"\mathbb{E}", 0), "btheta": (r"\boldsymbol{\theta}", 0)}
    return convert.clean_notebook(doc, executed, "chapters/03_x/x", numbers, macros, site)


def test_a_page_becomes_cells_with_its_numbers_and_no_myst():
    notebook = convert_page()
    kinds = [c.cell_type for c in notebook.cells]
    assert kinds == ["markdown", "code", "markdown", "markdown", "code", "markdown", "markdown"]
    text = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert text.startswith("# Intro\n\nSee Theorem 3.1 and $\\mathbb{E} x$ (costs \\$5 \\* 2).")
    assert "$$\na = \\boldsymbol{\\theta}\n\\tag{3.2}$$" in text
    assert "**Theorem 3.1** (Name)" in text and "It holds." in text
    assert "**Exercise 3.1**" in text
    assert "<details>\n<summary>More</summary>\n\nHidden.\n\n</details>" in text
    assert "](" not in text  # no site known: no link that would break outside it
    assert not raw_myst(text)


def test_solutions_fold_and_every_cell_says_which_exercise_it_belongs_to():
    notebook = convert_page()
    solution_code = notebook.cells[4]
    assert solution_code.source == "print(1)" and solution_code.outputs[0].text == "1\n"
    assert solution_code.metadata["jupyter"] == {"source_hidden": True, "outputs_hidden": True}
    assert notebook.cells[1].metadata.get("jupyter") is None  # a page's own cell stays open
    regions = [c.metadata.get("f2p") for c in notebook.cells]
    exercise, solution = {"exercise": "ex", "number": "3.1"}, {"solution": "ex"}
    assert regions == [None, None, exercise, solution, solution, solution, None]
    assert notebook.cells[5].source.startswith("<details>\n<summary>Solution to Exercise 3.1 (con")


def test_links_point_at_the_site_when_its_address_is_known():
    text = convert_page(site="https://o.github.io/r/").cells[0].source
    assert "[Theorem 3.1](https://o.github.io/r/chapters/08_x/y.html#thm)" in text


def test_a_code_cell_the_page_does_not_place_is_an_error():
    doc, executed, numbers = a_page()
    executed.cells.append(nbformat.v4.new_code_cell("lost = True"))
    with pytest.raises(ValueError, match=r"code cells \[3\] have no place"):
        convert.clean_notebook(doc, executed, "chapters/03_x/x", numbers, {}, "")


def test_the_site_address_comes_from_the_environment(monkeypatch):
    for name in ("F2P_SITE_URL", "GITHUB_REPOSITORY", "GITHUB_REF_TYPE", "GITHUB_REF_NAME"):
        monkeypatch.delenv(name, raising=False)
    assert convert.site_url() == ""
    monkeypatch.setenv("GITHUB_REPOSITORY", "Owner/course")
    assert convert.site_url() == "https://owner.github.io/course/"
    monkeypatch.setenv("GITHUB_REF_TYPE", "tag")
    monkeypatch.setenv("GITHUB_REF_NAME", "v1.2.0")
    assert convert.site_url() == "https://owner.github.io/course/v1.2.0/"
    monkeypatch.setenv("F2P_SITE_URL", "https://example.org/book")
    assert convert.site_url() == "https://example.org/book/"


# --- make lab ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_lab_opens_the_chapters_as_jupytext_notebooks_even_as_root(tmp_path):
    port = free_port()
    command = lab_command("--no-browser", f"--port={port}", "--IdentityProvider.token=",
                          f"--ServerApp.runtime_dir={tmp_path}", root=tmp_path)  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/lab/api/settings/@jupyterlab/docmanager-extension:plugin"
    try:
        for _ in range(120):
            if server.poll() is not None:
                pytest.fail(f"jupyter lab stopped: {server.stderr.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    settings = json.load(answer)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("jupyter lab did not answer within 60 s")
    finally:
        server.terminate()
        server.wait(timeout=30)
    viewers = settings["schema"]["properties"]["defaultViewers"]["default"]
    assert viewers == {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}


# --- the site's downloads (after the book build) ----------------------------------------------


def downloaded(docname: str) -> nbformat.NotebookNode:
    path = SITE / "_sources" / f"{docname}.ipynb"
    if not path.is_file():
        pytest.fail(f"{path} missing: build the site first (make book)")
    return nbformat.read(path, as_version=4)


def markdown_of(notebook: nbformat.NotebookNode) -> str:
    return "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")


def page_numbers(docname: str) -> tuple[list[str], list[str]]:
    """The page's equation numbers and its numbered heads ("Theorem 10.1"), in order."""
    page = (SITE / f"{docname}.html").read_text(encoding="utf-8")
    equations = re.findall(r'<span class="eqno">\(([\d.]+)\)', page)
    heads = re.findall(r'<span class="caption-number">(\w+ [\d.]+) </span>', page)
    return equations, heads


@pytest.mark.site
@pytest.mark.parametrize("docname", CHAPTERS)
def test_every_download_is_free_of_myst_and_numbered_as_its_page(docname):
    notebook = downloaded(docname)
    text = markdown_of(notebook)
    assert not raw_myst(text), raw_myst(text)
    equations, heads = page_numbers(docname)
    assert re.findall(r"\\tag\{([\d.]+)\}", text) == equations
    assert re.findall(r"\*\*(\w+ [\d.]+)\*\*", text) == heads
    assert notebook.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.site
def test_jupyterlab_renders_a_downloaded_chapter_like_its_page(tmp_path):
    """Chapter 10 (math-heavy) in JupyterLab in headless Chromium: no MyST on screen, no MathJax
    error, and the page's theorem heads and numbered equations."""
    docname = "chapters/10_trpo/trpo"
    (tmp_path / "root").mkdir()
    nbformat.write(downloaded(docname), tmp_path / "root" / "chapter.ipynb")
    settings = tmp_path / "settings"  # every cell rendered, not only those scrolled into view
    settings.mkdir()
    (settings / "overrides.json").write_text(
        json.dumps({"@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"}})
    )
    port = free_port()
    command = lab_command("--no-browser", f"--port={port}", "--IdentityProvider.token=",
                          f"--ServerApp.runtime_dir={tmp_path}", root=tmp_path / "root",
                          settings=settings)  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    equations, heads = page_numbers(docname)
    try:
        with chromium() as browser:
            for _ in range(60):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=2)
                    break
                except OSError:
                    time.sleep(0.5)
            browser.get(f"http://127.0.0.1:{port}/lab/tree/chapter.ipynb")
            shown = {}
            for _ in range(120):  # until every Markdown cell and its math are rendered
                shown = browser.execute_script(RENDERED)
                if shown["labelled"] >= len(equations) and shown["cells"] > 20:
                    break
                time.sleep(0.5)
            time.sleep(2)
            shown = browser.execute_script(RENDERED)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert shown["errors"] == 0, "MathJax could not typeset some math"
    assert shown["labelled"] == len(equations), (shown["labelled"], equations)
    assert not raw_myst(shown["text"]), raw_myst(shown["text"])
    for head in heads:
        assert head in shown["text"], head


RENDERED = """
const md = [...document.querySelectorAll('.jp-MarkdownCell .jp-RenderedMarkdown')];
return {cells: md.length, text: md.map((e) => e.innerText).join('\\n'),
        math: document.querySelectorAll('.jp-MarkdownCell mjx-container').length,
        errors: document.querySelectorAll('mjx-merror, .MathJax_Error').length,
        labelled: document.querySelectorAll('.jp-MarkdownCell mjx-mlabeledtr').length};
"""
