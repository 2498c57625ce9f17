"""The built site in a real browser, offline: math typeset, images loaded, widgets rendered.

Runs after `jupyter-book build` (``make test`` does both). Chromium (Debian's ``chromium`` and
``chromium-driver``) loads pages from a local server with every host name but 127.0.0.1 resolved
to nothing, so anything fetched from a CDN would fail, and the test also fails if any resource
came from elsewhere. Screenshots go to ``_build/screenshots/``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from f2p_tools.site_browser import chromium, load, serve

ROOT = Path(__file__).resolve().parents[1]

HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
DEMO = "chapters/00_getting_started/getting_started.html"

pytestmark = pytest.mark.site


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    if not (HTML / "index.html").is_file():
        pytest.fail(f"no built site at {HTML}: run `make book` (or `make test`) first")
    with serve(HTML) as origin:
        yield origin


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    try:
        with chromium() as driver:
            yield driver
    except RuntimeError as err:
        pytest.fail(str(err))


# TeX a reader should never see: a macro (\frac, \grad, ...), \( or \[, $$, or a $ that opens
# math ($\..., $x_...). Matched on the page text once typeset math, code and scripts are removed.
LEAKED_TEX = re.compile(r"\\[A-Za-z]+|\\[(\[]|\$\$|\$\\|\$[A-Za-z]_")


def leaked_tex(browser) -> list[str]:
    """Snippets of TeX left in the visible text of the loaded page after MathJax has run."""
    text = browser.execute_script(
        """
        const main = (document.querySelector('main') || document.body).cloneNode(true);
        main.querySelectorAll('mjx-container, code, pre, script, style, textarea')
            .forEach((e) => e.remove());
        return main.textContent;
        """
    )
    return [
        " ".join(text[max(m.start() - 40, 0) : m.end() + 40].split())
        for m in LEAKED_TEX.finditer(text)
    ]


def external_requests(browser, origin: str) -> list[str]:
    urls = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name);"
    )
    return [u for u in urls if not u.startswith(origin) and not u.startswith("data:")]


def test_demo_page_offline(server, browser):
    load(browser, f"{server}/{DEMO}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight;")
    browser.set_window_size(1280, min(height, 16_000))
    browser.save_screenshot(str(SHOTS / "getting_started.png"))
    browser.set_window_size(1280, 2400)
    state = browser.execute_script(
        """
        const main = document.querySelector('main') || document.body;
        const sol = document.querySelector('.solution.dropdown, .dropdown.solution');
        const imgs = [...main.querySelectorAll('img')];
        return {
          typeset: main.querySelectorAll('mjx-container').length,
          mathErrors: main.querySelectorAll('mjx-merror').length,
          rawTex: main.innerText.includes('\\\\(') || main.innerText.includes('\\\\['),
          images: imgs.length,
          brokenImages: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
          sliders: main.querySelectorAll('.f2p-slider input[type=range]').length,
          solution: sol ? {hidden: sol.classList.contains('toggle-hidden') ||
              [...sol.children].slice(1).every(c => c.offsetParent === null)} : null,
        };
        """
    )
    assert state["typeset"] > 5, f"MathJax typeset only {state['typeset']} formulas"
    assert not state["rawTex"], "raw TeX delimiters are visible: MathJax did not run"
    assert state["mathErrors"] == 0, "MathJax reported errors (an undefined macro?)"
    assert state["images"] >= 3 and not state["brokenImages"], state
    assert state["sliders"] >= 1, f"the precomputed slider is missing: {state}"
    assert state["solution"] is not None, "no solution dropdown found on the demo page"
    assert state["solution"]["hidden"], "the exercise's solution is not collapsed"
    assert external_requests(browser, server) == []


PAGES = [
    "index.html",
    "book/notation.html",
    "book/bibliography.html",
    "book/results.html",
    "chapters/01_two_stream/two_stream.html",
    "chapters/02_tsn/tsn.html",
    "chapters/03_temporal_modelling/temporal_modelling.html",
    "chapters/04_motion_features/motion_features.html",
    "chapters/05_3d_vs_2d/3d_vs_2d.html",
    "chapters/06_online_detection/online_detection.html",
    "chapters/07_autoregressive/autoregressive.html",
    "chapters/08_actor_critic/actor_critic.html",
    "chapters/09_ddpg/ddpg.html",
    "chapters/10_trpo/trpo.html",
    "chapters/11_llm_reasoning/llm_reasoning.html",
]


def site_pages() -> list[str]:
    """Every page of the book (the toc's pages as built), relative to the site root."""
    skip = {"genindex.html", "search.html"}
    return sorted(
        str(page.relative_to(HTML))
        for page in HTML.rglob("*.html")
        if page.name not in skip and not page.relative_to(HTML).parts[0].startswith("_")
    )


def test_every_chapter_is_a_page_of_the_site():
    assert set(PAGES) <= set(site_pages()), set(PAGES) - set(site_pages())


def typeset_problems(browser, server: str) -> list[str]:
    """On the loaded page: MathJax errors, TeX left outside typeset math, and requests that
    left the site (the site must work offline)."""
    problems = []
    if browser.execute_script("return document.querySelectorAll('mjx-merror').length;"):
        problems.append("MathJax reported errors (an undefined macro?)")
    problems += [f"TeX outside typeset math: {leak}" for leak in leaked_tex(browser)]
    outside = external_requests(browser, server)
    problems += [f"fetched from outside the site: {url}" for url in outside]
    return problems


def test_tex_check_fails_on_a_page_that_leaks_tex(browser, tmp_path):
    """The check above on a throwaway book: the chapter-09 defect (a continuation line of inline
    math that starts with '+') shows raw TeX and is caught; the same text in display math is not."""
    from test_guards import build, make_book

    leak = (
        "# Leak\n\nBy the chain rule\n$\\grad V(s) = \\grad\\mu(s)\\, Q(s, a)\n"
        "+ \\gamma \\sum_{s'} V(s')$, where the second term recurses.\n"
    )
    fixed = (
        "# Fixed\n\nBy the chain rule\n\n```{math}\n\\grad V(s) = \\grad\\mu(s)\\, Q(s, a)\n"
        "+ \\gamma \\sum_{s'} V(s')\n```\n\nwhere the second term recurses.\n"
    )
    book = make_book(tmp_path / "leak", leak)
    (book / "book" / "fixed.md").write_text(fixed)
    (book / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n- file: book/fixed\n"
    )
    shutil.rmtree(book / "vendor" / "site")
    shutil.copytree(ROOT / "vendor" / "site", book / "vendor" / "site")  # the vendored MathJax
    result = build(book)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with serve(book / "_build" / "html") as origin:
        load(browser, f"{origin}/book/intro.html")
        leaks = leaked_tex(browser)
        load(browser, f"{origin}/book/fixed.html")
        typeset = browser.execute_script("return document.querySelectorAll('mjx-container').length")
        assert typeset >= 1 and leaked_tex(browser) == []
    assert any("\\gamma" in leak or "\\grad" in leak for leak in leaks), leaks


# Every block that can be wider than the column (code, outputs, tables, math, admonitions and
# proofs) must fit its container or scroll inside a box of its own. Figures are drawn for the
# desktop column: there they must be shown at >= 90% of their drawn width; on a phone (the first
# argument false) at >= 90% of their drawn width or of the column, whichever is smaller.
LAYOUT_CHECK = """
const desktop = arguments[0];
const article = document.querySelector('article.bd-article') || document.querySelector('main');
const scrolls = (el) => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
const inScrollBox = (el) => {
  for (let a = el.parentElement; a && a !== article; a = a.parentElement) {
    if (scrolls(a)) return true;
  }
  return false;
};
const describe = (el) => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} ` +
  `"${(el.textContent || el.getAttribute('alt') || '').trim().slice(0, 50)}"`;
const column = article.clientWidth;
const clipped = [], shrunk = [];
const blocks = 'div.cell_input, div.cell_output, div.highlight, pre, table, div.math, ' +
  'mjx-container[display="true"], div.admonition, div.proof, details';
for (const el of article.querySelectorAll(blocks)) {
  if (el.offsetParent === null) continue;  // hidden (a closed dropdown)
  const box = el.parentElement.getBoundingClientRect(), r = el.getBoundingClientRect();
  const sticksOut = r.right > box.right + 1 || r.left < box.left - 1;
  const clipsInside = el.scrollWidth > el.clientWidth + 1 && !scrolls(el);
  if ((sticksOut || clipsInside) && !inScrollBox(el))
    clipped.push(`${describe(el)}: ${el.scrollWidth}px in ${Math.round(box.width)}px`);
}
for (const img of article.querySelectorAll('img')) {
  if (img.offsetParent === null || img.naturalWidth < 50) continue;
  const shown = img.getBoundingClientRect().width;
  if (shown < 0.9 * (desktop ? img.naturalWidth : Math.min(img.naturalWidth, column)))
    shrunk.push(`${describe(img)} ${img.currentSrc.split('/').pop()}: drawn ` +
                `${img.naturalWidth}px, shown ${Math.round(shown)}px, column ${column}px`);
}
return {clipped, shrunk, page: document.documentElement.scrollWidth, window: window.innerWidth};
"""


def layout_problems(browser, url: str, width: int) -> list[str]:
    """Clipped blocks, shrunk figures and sideways page scrolling of ``url`` at ``width`` px
    (a phone, with a mobile layout, below 600 px; a desktop from 1000 px)."""
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    try:
        load(browser, url)
        found = browser.execute_script(LAYOUT_CHECK, width >= 1000)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    problems = [f"clipped: {c}" for c in found["clipped"]]
    problems += [f"shrunk: {s}" for s in found["shrunk"]]
    if found["page"] > found["window"]:
        problems.append(f"the page scrolls sideways: {found['page']}px in {found['window']}px")
    return problems


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("page", site_pages() or PAGES)
def test_pages_typeset_offline_and_fit_the_column(server, browser, page, width):
    """Every page at a desktop and a phone width, loaded once for both checks: its math typeset
    offline, and nothing clipped, figures shown at the width they were drawn for."""
    problems = layout_problems(browser, f"{server}/{page}", width)
    problems += typeset_problems(browser, server)
    assert not problems, f"{page} at {width}px:\n" + "\n".join(problems)


def test_layout_check_catches_clipped_code_a_wide_equation_and_a_shrunk_figure(browser, tmp_path):
    """A hand-made page with a code block that cannot scroll, a display equation wider than the
    column and a figure drawn at more than twice the column's width: all three are reported on a
    desktop; on a phone the figure fills the column, which is allowed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(16, 2), dpi=100)
    fig.savefig(tmp_path / "wide.png")
    plt.close(fig)
    (tmp_path / "index.html").write_text(
        "<html><body><main><article class='bd-article' style='width:600px'>"
        "<div class='cell_output'><pre style='overflow:hidden'>" + "x" * 400 + "</pre></div>"
        "<div class='math' style='overflow:visible'><span style='display:inline-block;"
        "width:900px'>wide equation</span></div>"
        "<img src='wide.png' style='max-width:100%'>"
        "</article></main></body></html>"
    )
    with serve(tmp_path) as origin:
        problems = layout_problems(browser, f"{origin}/index.html", 1280)
    assert any(p.startswith("clipped: pre") for p in problems), problems
    assert any(p.startswith("clipped: div.math") for p in problems), problems
    assert any(p.startswith("shrunk: img") for p in problems), problems
    with serve(tmp_path) as origin:
        problems = layout_problems(browser, f"{origin}/index.html", 390)
    assert not any(p.startswith("shrunk") for p in problems), problems


def test_results_page_has_a_readable_table_per_chapter_with_the_papers_beside_ours():
    from bs4 import BeautifulSoup

    import f2p

    page = BeautifulSoup((HTML / "book" / "results.html").read_text(), "html.parser")
    article = page.select_one("article")
    tables = article.select_one("section#every-benchmark").find_all("table")
    suite = article.select_one("section#every-chapter-cpu-and-gpu").find_all("table")
    assert len(suite) == 1 and "11_llm_reasoning" in suite[0].get_text()
    results = f2p.results.load()
    assert len(tables) == len(results), "one table per benchmark, so every chapter with results"
    quoting = [r for r in results if f2p.papers.reported(r["chapter"])]
    with_paper = sum("paper" in t.find("tr").get_text() for t in tables)
    assert with_paper <= len(quoting) and {r["chapter"] for r in quoting} == {
        r["chapter"]
        for r, t in zip(results, tables, strict=True)
        if "paper" in t.find("tr").get_text()
    }
    for cell in article.find_all("td"):
        for number in re.findall(r"\d[\d,]*\.?\d*", cell.get_text()):
            digits = number.replace(",", "").replace(".", "").lstrip("0")
            assert len(digits) <= 4, f"{number!r} in {cell.get_text()!r}"


MOVE_SLIDERS = """
const found = [];
for (const widget of document.querySelectorAll('.f2p-slider')) {
  const image = widget.querySelector('img');
  for (const slider of widget.querySelectorAll('input[type=range]')) {
    const before = [image.src, slider.nextElementSibling.textContent];
    const start = slider.value;
    slider.value = String((Number(slider.value) + 1) % (Number(slider.max) + 1));
    slider.dispatchEvent(new Event('input'));
    const after = [image.src, slider.nextElementSibling.textContent];
    found.push({changed: before[0] !== after[0] && before[1] !== after[1], label: after[1]});
    slider.value = start;
    slider.dispatchEvent(new Event('input'));
  }
}
return found;
"""


def test_every_slider_of_the_book_changes_its_figure_without_a_kernel(server, browser):
    """Every precomputed slider on every page: moving it shows another figure and value. Only
    pages whose HTML holds a slider are opened (a slider is static HTML, not drawn by script)."""
    moved = {}
    for page in [p for p in site_pages() if "f2p-slider" in (HTML / p).read_text()]:
        load(browser, f"{server}/{page}", settle_ms=200)
        found = browser.execute_script(MOVE_SLIDERS)
        if found:
            moved[page] = found
            assert all(f["changed"] for f in found), f"{page}: a slider did not change: {found}"
    chapters_with_sliders = {
        p.parent.name for p in (ROOT / "chapters").glob("*/*.md")
        if "widgets.precomputed(" in p.read_text()
    }  # fmt: skip
    assert {Path(page).parent.name for page in moved} == chapters_with_sliders


def test_slider_check_fails_on_a_slider_that_changes_nothing(browser, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from f2p import widgets

    def draw(v: int):
        fig = plt.figure(figsize=(1, 1))
        fig.suptitle(str(v))
        return fig

    html = widgets.precomputed(draw, progress=False, v=[1, 2]).data
    (tmp_path / "index.html").write_text(f"<html><body>{html}</body></html>")
    frozen = re.sub(r"<script>.*?</script>", "", html, flags=re.S)  # no script: nothing moves
    (tmp_path / "frozen.html").write_text(f"<html><body>{frozen}</body></html>")
    with serve(tmp_path) as origin:
        load(browser, f"{origin}/index.html", settle_ms=100)
        assert browser.execute_script(MOVE_SLIDERS) == [{"changed": True, "label": "2"}]
        load(browser, f"{origin}/frozen.html", settle_ms=100)
        assert browser.execute_script(MOVE_SLIDERS) == [{"changed": False, "label": "1"}]


WIDGET_CONTRAST = """
const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
const luminance = ([r, g, b]) => (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
const background = (el) => {
  for (let a = el; a; a = a.parentElement) {
    const c = rgb(getComputedStyle(a).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c;
  }
  return rgb(getComputedStyle(document.body).backgroundColor);
};
return [...document.querySelectorAll('.widget-html-content')].map((el) =>
  Math.abs(luminance(rgb(getComputedStyle(el).color)) - luminance(background(el))));
"""


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_progress_bars_are_legible_in_both_themes(server, browser, theme):
    """tqdm's text (a widget) against whatever background it sits on, after a theme switch."""
    load(browser, f"{server}/chapters/02_tsn/tsn.html", settle_ms=500)
    browser.execute_script(f"document.documentElement.dataset.theme = '{theme}';")
    contrasts = browser.execute_script(WIDGET_CONTRAST)
    assert contrasts, "chapter 02 shows progress bars"
    assert min(contrasts) > 0.4, f"{theme}: text and background luminance differ by {contrasts}"


def test_chapters_number_exercises_theorems_and_equations_per_chapter():
    """Chapters 1-11 are numbered: chapter 07 shows "Exercise 7.1" and "(7.1)", chapter 10
    "Theorem 10.1", and the teaching guide's reference to chapter 07's first exercise reads
    "Exercise 7.1" and leads to it."""
    chapter = (HTML / "chapters/07_autoregressive/autoregressive.html").read_text()
    text = re.sub(r"<[^>]+>", "", chapter)
    assert "Exercise 7.1" in text and 'class="eqno">(7.1)' in chapter
    assert "Theorem 10.1" in re.sub(
        r"<[^>]+>", "", (HTML / "chapters/10_trpo/trpo.html").read_text()
    )
    teaching = (HTML / "book/teaching.html").read_text()
    link = re.search(r'href="([^"]*)#ch07-ex-mask"[^>]*>(.*?)</a>', teaching, flags=re.S)
    assert link is not None, "the teaching guide does not link chapter 07's mask exercise"
    assert link.group(1) == "../chapters/07_autoregressive/autoregressive.html"
    assert re.sub(r"<[^>]+>", "", link.group(2)).strip() == "Exercise 7.1"
    assert 'id="ch07-ex-mask"' in chapter
