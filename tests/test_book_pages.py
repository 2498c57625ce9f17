"""The book's own pages agree with the chapters: the intro's chapter map (what each chapter builds
on, whose run time it shows) and the sources page; the run-time sentence of chapter headers."""

from __future__ import annotations

import re

from f2p_tools import runtimes as f2p_runtimes
from f2p_tools.runner import CHAPTERS, ROOT

INTRO = (ROOT / "book" / "intro.md").read_text()
MAP_ROW = re.compile(
    r"^\| (?P<num>\d\d) \| \{doc\}`\.\./(?P<doc>chapters/[^`]+)` \|.*\| (?P<builds>[^|]+) \| "
    r"\{f2p-runtime\}`(?P<timed>[^`]+)` \|$",
    flags=re.MULTILINE,
)


def prerequisites(doc: str) -> list[str]:
    """The chapters named in a chapter's **Prerequisites:** paragraph ({ref}`chNN`)."""
    text = (ROOT / f"{doc}.md").read_text()
    paragraph = text.split("**Prerequisites:**", 1)[1].split("**You will learn", 1)[0]
    return sorted(set(re.findall(r"\{ref\}`ch(\d\d)`", paragraph)))


def test_the_chapter_map_lists_every_chapter_with_its_prerequisites_and_its_own_run_time():
    rows = list(MAP_ROW.finditer(INTRO))
    chapters = sorted(str(p.relative_to(ROOT).with_suffix("")) for p in CHAPTERS.glob("*/*.md"))
    assert [row["doc"] for row in rows] == chapters
    for row in rows:
        assert row["timed"] == row["doc"], "each row shows its own chapter's run time"
        listed = [] if row["builds"].strip() == "–" else row["builds"].strip().split(", ")
        assert listed == prerequisites(row["doc"]), row["doc"]


def test_the_sources_page_sends_each_note_to_a_chapter_and_every_chapter_has_a_note():
    page = (ROOT / "book" / "sources.md").read_text()
    rows = [line for line in page.splitlines() if re.match(r"^\| \d+ \|", line)]
    assert len(rows) == 12
    linked = set(re.findall(r"\{doc\}`\.\./(chapters/[^`]+)`", page))
    chapters = {str(p.relative_to(ROOT).with_suffix("")) for p in CHAPTERS.glob("*/*.md")}
    assert linked == chapters - {"chapters/00_getting_started/getting_started"}


def test_chapter_headers_state_the_measured_run_time_the_profile_and_the_machine(monkeypatch):
    monkeypatch.setattr(f2p_runtimes, "build_profile", lambda: "fast")
    monkeypatch.setattr(f2p_runtimes, "build_machine", lambda: "a CPU, 2 CPU cores, no GPU")
    assert f2p_runtimes.runtime_sentence(95.4) == (
        "Runs in about 95 s (1.6 min) in the fast profile on the machine that built this site "
        "(a CPU, 2 CPU cores, no GPU). On a GPU (full profile): not measured yet."
    )
    assert f2p_runtimes.runtime_sentence(None) == "Not timed in this build."
    monkeypatch.setattr(f2p_runtimes, "build_profile", lambda: "full")
    assert "GPU (full profile)" not in f2p_runtimes.runtime_sentence(12)


SYMBOL_BOX = re.compile(
    r"````\{admonition\} Symbols in this chapter\n:class: dropdown\n(?P<body>.*?)\n````\n", re.S
)


def test_chapters_01_to_11_list_their_symbols_once_each():
    """Each chapter after the foundations has a symbols box under its header: a table of
    symbols, none listed twice, linking to the notation page."""
    for path in sorted(CHAPTERS.glob("*/*.md")):
        if path.parent.name.startswith("00"):
            continue
        text = path.read_text()
        box = SYMBOL_BOX.search(text)
        assert box, f"{path.name}: no symbols box"
        assert box.start() < text.index("\n## "), f"{path.name}: the box belongs under the header"
        assert "{doc}`notation page" in box["body"]
        rows = [r for r in box["body"].splitlines() if r.startswith("| $")]
        assert len(rows) >= 4, f"{path.name}: too few symbols listed"
        symbols = [s for r in rows for s in re.findall(r"\$[^$]+\$", r.split(" | ")[0])]
        repeated = {s for s in symbols if symbols.count(s) > 1}
        assert not repeated, f"{path.name}: listed twice: {repeated}"


ENV_VARIABLE = re.compile(r"\bF2P_[A-Z][A-Z0-9_]*\b")
NOT_VARIABLES = {"F2P_FROM"}  # a marker a reader's-path test prints, not a variable


def test_every_f2p_variable_is_in_the_how_to_use_table():
    """Each ``F2P_*`` variable that the package, the tooling, the book, the tests or the
    benchmarks read is a row of the one table in ``book/how_to_use.md``, and each row is read."""
    import yaml

    sources = [
        *ROOT.glob("src/**/*.py"),
        *ROOT.glob("book/**/*.py"),
        *ROOT.glob("tests/**/*.py"),
        *ROOT.glob("benchmarks/*.py"),
        *ROOT.glob("benchmarks/*.sh"),
    ]
    read = {m for path in sources for m in ENV_VARIABLE.findall(path.read_text())}
    # the launch buttons' variables are named after _config.yml's keys (F2P_<KEY>)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    read |= {f"F2P_{key.upper()}" for key in config["launch_buttons"]}
    read -= NOT_VARIABLES
    page = (ROOT / "book" / "how_to_use.md").read_text()
    rows = [line.split("|")[1] for line in page.splitlines() if line.startswith("| `F2P_")]
    documented = {m for row in rows for m in ENV_VARIABLE.findall(row)}
    assert read <= documented, f"read but not in how_to_use.md's table: {sorted(read - documented)}"
    assert documented <= read, f"in the table but read nowhere: {sorted(documented - read)}"
    # the one default the table states as a number is the tooling's (f2p_tools/settings.py)
    from f2p_tools.settings import FAST_CELL_TIMEOUT_S

    (limit,) = [line for line in page.splitlines() if line.startswith("| `F2P_CELL_TIMEOUT`")]
    assert limit.split("|")[3].strip().startswith(f"{FAST_CELL_TIMEOUT_S} "), limit
