"""Publishing: what the site serves beside the pages (the wheel, the archive, the PDF), the
``notebooks`` branch and the launch buttons that open it, the workflows (thin wrappers around make
targets), the release's version check, and the project files.

The tests marked ``site`` read the built site (``make book``, then ``make notebooks`` and
``make pdf``)."""

from __future__ import annotations

import json
import re
import subprocess
import zipfile

import pytest
import yaml

import f2p
from f2p_tools import book as f2p_book
from f2p_tools.runner import ROOT
from reader_env import CHAPTER, SITE, chapter_pages


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
    from f2p_tools.print_pdf import PRINTABLE_WIDTH_PX, print_page
    from f2p_tools.site_browser import serve

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
