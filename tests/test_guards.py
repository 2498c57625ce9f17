"""Guards: what must fail does fail.

- a committed chapter holds no outputs (no ``.ipynb`` under ``chapters/``; pages are MyST text),
- a notebook that reaches for the network is caught by the socket guard,
- a cell that stalls fails the run within the per-cell limit, naming the notebook and the cell,
- a list marker inside inline math (raw TeX on the site) is caught in the sources,
- the book build fails on a missing citation, a broken cross-reference and a failing cell.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from f2p_tools.runner import (
    CHAPTERS,
    ROOT,
    CellTimeout,
    chapter_notebooks,
    execute,
    is_myst_notebook,
    read_notebook,
)
from myst_math import check_sources, list_markers_in_math

JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")
NOTEBOOK_HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3 (ipykernel)
  language: python
  name: python3
---
"""


def test_no_notebook_files_or_outputs_are_committed():
    tracked = subprocess.run(
        ["git", "ls-files", "chapters", "book"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    ipynb = [p for p in tracked if p.endswith(".ipynb")]
    assert not ipynb, f"chapters are MyST Markdown; outputs are built, not committed: {ipynb}"


def test_every_chapter_page_with_code_is_an_executed_notebook():
    for page in CHAPTERS.rglob("*.md"):
        text = page.read_text(encoding="utf-8")
        if "{code-cell}" in text:
            assert is_myst_notebook(page), f"{page} has code cells but no kernelspec front matter"
            assert "format_name: myst" in text.split("\n---", 1)[0], f"{page}: not jupytext MyST"
    assert chapter_notebooks()


@pytest.mark.parametrize("page", chapter_notebooks(), ids=lambda p: p.name)
def test_every_code_cell_in_the_source_is_parsed_as_code(page):
    """A fence the parser does not close (e.g. a backtick in a directive's title) silently turns
    the code cells after it into text, which would then never run."""
    parsed = sum(cell.cell_type == "code" for cell in read_notebook(page).cells)
    setup_cell = 1  # the book adds it to every chapter (book/_ext/f2p_book.py)
    assert parsed == page.read_text(encoding="utf-8").count("```{code-cell}") + setup_cell, page


def test_network_guard_catches_a_notebook_that_connects(tmp_path):
    page = tmp_path / "online.md"
    page.write_text(
        NOTEBOOK_HEADER
        + "\n```{code-cell} ipython3\nimport urllib.request\ntry:\n"
        + "    urllib.request.urlopen('http://example.com', timeout=5)\nexcept Exception as err:\n"
        + "    print('caught', type(err).__name__)\n```\n"
    )
    log = tmp_path / "network.log"
    nb, _ = execute(page, log)
    assert "example.com" in log.read_text()
    assert "caught" in nb.cells[0].outputs[0]["text"]


def make_book(folder: Path, page: str) -> Path:
    """A one-page book with the course's own configuration, extensions and bibliography."""
    folder.mkdir()
    shutil.copy(ROOT / "_config.yml", folder / "_config.yml")
    shutil.copytree(ROOT / "book" / "_ext", folder / "book" / "_ext")
    shutil.copytree(ROOT / "book" / "_static", folder / "book" / "_static")
    shutil.copy(ROOT / "book" / "references.bib", folder / "book" / "references.bib")
    (folder / "vendor" / "site").mkdir(parents=True)  # static assets are not needed here
    (folder / "_toc.yml").write_text("format: jb-book\nroot: book/intro\n")
    (folder / "book" / "intro.md").write_text(page)
    return folder


def build(folder: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(JUPYTER_BOOK), "build", str(folder), "-W", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "F2P_PROFILE": "fast", **env},
    )


# A page the build must pass: a citation, a reference and the bibliography. The passing build
# is test_readers_path's built chapter, whose book starts with this page (one build fewer).
GOOD_PAGE = (
    "# Good\n\nSee {cite:t}`schulman2015trpo` and {ref}`a`.\n\n(a)=\n## A\n"
    "\n```{bibliography}\n```\n"
)


@pytest.mark.build
def test_build_fails_on_missing_citation_and_broken_reference(tmp_path):
    page = "# Bad\n\nSee {cite}`no_such_paper` and {ref}`no-such-label`.\n"
    book = make_book(tmp_path / "bad", page + "\n```{bibliography}\n```\n")
    result = build(book)
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "no_such_paper" in log, log[-3000:]
    assert "no-such-label" in log, log[-3000:]


@pytest.mark.build
def test_build_fails_on_a_failing_cell(tmp_path):
    page = (
        NOTEBOOK_HEADER + "\n# Raises\n\n```{code-cell} ipython3\nraise RuntimeError('boom')\n```\n"
    )
    result = build(make_book(tmp_path / "raises", page))
    assert result.returncode != 0
    assert "RuntimeError" in result.stdout + result.stderr


@pytest.mark.build
def test_build_fails_on_stderr_in_a_page(tmp_path):
    """A warning meant for the book's builders (libgomp's, matplotlib's) never reaches a page:
    stderr in a cell's output fails the build, naming the page (issue 39)."""
    page = NOTEBOOK_HEADER + (
        "\n# Warns\n\n```{code-cell} ipython3\nimport sys\n"
        "print('libgomp: Invalid value for environment variable', file=sys.stderr)\n```\n"
    )
    result = build(make_book(tmp_path / "warns", page))
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "stderr was found in the cell outputs" in log and "intro" in log, log[-3000:]


TEX_LEAK = """
```{code-cell} ipython3
x = 1
- 2
```

````{prf:proof}
By the chain rule $a = b$ and
$\\grad V(s) = \\grad \\mu(s)\\, Q
+ \\gamma \\sum_{s'} V(s')$, so the recursion unrolls.

```{math}
a
+ b
```
````
"""


def test_math_guard_catches_a_list_marker_inside_inline_math():
    findings = list_markers_in_math(NOTEBOOK_HEADER + TEX_LEAK, "leak.md")
    assert [(f.line, f.text.split()[0]) for f in findings] == [(20, "+")]
    assert list_markers_in_math(TEX_LEAK.replace("Q\n+", "Q +"), "fixed.md") == []


def test_no_source_page_opens_a_list_inside_inline_math():
    sources = sorted(CHAPTERS.rglob("*.md")) + sorted((ROOT / "book").glob("*.md"))
    findings = check_sources(sources)
    assert not findings, "\n".join(map(str, findings))


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def test_no_source_page_holds_control_characters():
    """A string escape gone wrong ("\\bar" written as "\bar", a backspace) reaches MathJax as
    an invisible character and breaks the formula; sources hold none."""
    sources = sorted(CHAPTERS.rglob("*.md")) + sorted((ROOT / "book").glob("*.md"))
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line!r:.80}"
        for path in sources
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if CONTROL.search(line)
    ]
    assert not found, "\n".join(found)
    assert CONTROL.search("$\x08ar w$") and not CONTROL.search("$\\bar w$\t")


def test_a_stalled_cell_fails_fast_naming_the_notebook_and_cell(tmp_path):
    page = tmp_path / "stalls.md"
    page.write_text(
        NOTEBOOK_HEADER
        + "\n```{code-cell} ipython3\nx = 1\n```\n"
        + "\n```{code-cell} ipython3\nimport time\ntime.sleep(120)\n```\n"
    )
    start = time.perf_counter()
    with pytest.raises(CellTimeout, match=r"stalls.md: code cell 2 of 2 \('import time'\)") as err:
        execute(page, tmp_path / "network.log", timeout=5)
    assert time.perf_counter() - start < 60
    # the evidence, taken while the kernel still ran: its stacks, at the stalled line, and the
    # last messages the client had from it
    kernel_stacks, rest = str(err.value).split("--- the kernel's stacks", 1)[1].split("---", 1)
    assert re.search(r"MainThread\"\n\s+<module> \(\d+\.py:2\)", kernel_stacks), kernel_stacks
    assert "iopub execute_input" in rest.split("the last kernel messages")[1], rest


def test_no_chapter_draws_an_output_widget():
    """``interact`` and the rest of the Output-widget family do nothing on the static site
    (f2p.widgets.precomputed does), and executing them makes nbclient talk on the shell channel
    while it waits for the cell's reply, which stalls other clients than the harness's (issue 24:
    the next test)."""
    family = re.compile(r"\b(interact|interactive|interactive_output|Output)\(")
    for page in CHAPTERS.glob("*/*.md"):
        found = family.findall(page.read_text(encoding="utf-8"))
        assert not found, f"{page}: {found}; use f2p.widgets.precomputed"


def test_a_reply_is_read_at_once_while_an_output_widget_sends_on_the_shell_channel(tmp_path):
    """Issue 24's cause. For an Output widget (what ``widgets.interact`` draws into) nbclient
    sends comm messages on the shell channel while it waits there for the cell's reply; a send
    can use up the socket's wake-up, and nbclient's own client then reads the reply only when
    its wait times out (late in about 6% of such cells, measured by tests/stress/lost_wakeup.py).
    The harness's client looks again every SHELL_POLL_SLICE_S, so no reply waits that long."""
    interact = "widgets.interact(show, k=(0, 5), setting=['a', 'b']);"
    page = tmp_path / "output_widgets.md"
    page.write_text(
        NOTEBOOK_HEADER
        + "\n```{code-cell} ipython3\nimport ipywidgets as widgets\n\n\n"
        + "def show(k=0, setting='a'):\n    print(setting * (k + 1))\n```\n"
        + f"\n```{{code-cell}} ipython3\n{interact}\n```\n" * 100
    )
    seen: list[tuple[float, str]] = []

    def note(msg: dict) -> None:
        state = msg["content"].get("execution_state", "")
        seen.append((time.monotonic(), f"{msg['msg_type']} {state}".strip()))

    execute(page, tmp_path / "network.log", timeout=20, on_message=note)
    kinds = [kind for _, kind in seen]
    assert kinds.count("execute_input") == 101 and kinds.count("comm_open") >= 100
    # from a cell's end (its idle status, sent after its reply) to the next cell's first message
    pairs = zip(seen, seen[1:], strict=False)
    gaps = [round(after[0] - idle[0], 1) for idle, after in pairs if idle[1] == "status idle"]
    assert max(gaps) < 5, f"replies read late: {sorted(gaps)[-5:]} s"


def test_the_book_build_gives_a_fast_profile_cell_minutes_not_the_full_profiles_half_hour(
    monkeypatch,
):
    from types import SimpleNamespace

    from f2p_tools.book import FAST_CELL_TIMEOUT_S, fail_fast_in_the_fast_profile

    for profile, expected in [("fast", FAST_CELL_TIMEOUT_S), ("full", 1800)]:
        monkeypatch.setenv("F2P_PROFILE", profile)
        config = SimpleNamespace(nb_execution_timeout=1800)  # _config.yml's execute.timeout
        fail_fast_in_the_fast_profile(None, config)
        assert config.nb_execution_timeout == expected
