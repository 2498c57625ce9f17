"""Sphinx extension of the course book.

- ``{f2p-results}``: renders the benchmark JSON files that ship in the package
  (``f2p.results.RESULTS_DIR``) as one table at build time, each file a dependency of the page
  (changing one rebuilds it); benchmarks named in the directive's content that have not run yet are
  listed with their command.
- **Take-away chapters.** Under its title every chapter page gets one line on running it elsewhere
  and, as its first code cell, :data:`SETUP_CELL`: it does nothing where the course's package is
  importable and installs this build's version anywhere else (Colab, a bare Jupyter).
- **Downloads.** Each notebook page's download menu offers the executed ``.ipynb`` with the
  outputs the page shows (merged from the execution cache), its Markdown rendered from the
  resolved page as Jupyter shows it (:mod:`f2p_tools.clean_notebooks`), and its MyST source,
  both with the setup cell. ``downloads/`` holds the package's wheel, built with the site, one
  archive of all chapters and (``make pdf``) the book as a PDF; ``{f2p-downloads}`` lists them
  on a page.
- **Header buttons.** With a repository known (``repository.url`` in ``_config.yml`` or, in
  GitHub Actions, ``GITHUB_REPOSITORY``): repository, issue and edit buttons, and launch buttons
  (Colab, Binder; JupyterHub when ``launch_buttons.jupyterhub_url`` is set) that open the executed
  notebooks of the ``notebooks`` branch, which the publishing workflow writes. Without one, none.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nbformat
from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

import f2p
from f2p import results
from f2p_tools.clean_notebooks import clean_notebook, macros_of, site_url
from f2p_tools.runtimes import RUNTIME_SLOT
from f2p_tools.settings import FAST_CELL_TIMEOUT_S

PROJECT = Path(f2p.__file__).resolve().parents[2]  # src/f2p/__init__.py: the wheel's sources
DOWNLOADS = "downloads"
NOTEBOOKS_BRANCH = "notebooks"  # executed notebooks at the sources' paths (publishing workflow)
REQUIREMENT = f"{f2p.__distribution__}=={f2p.__version__}"
WHEEL = f"{f2p.__distribution__.replace('-', '_')}-{f2p.__version__}-py3-none-any.whl"
ARCHIVE = f"{f2p.__distribution__}-{f2p.__version__}-chapters.zip"
PDF = f"{f2p.__distribution__}-{f2p.__version__}.pdf"  # f2p_tools.print_pdf (make pdf)

READER_PACKAGES = ("jupyterlab",)  # what the run line asks a reader to install beside the course
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"  # torch without the multi-GB CUDA build

SETUP_CELL = """```{{code-cell}} ipython3
:tags: [hide-input]
# Setup: does nothing where the course's package is installed; anywhere else (Colab, a bare
# Jupyter) it installs the version this page was built with: the site's own wheel, else the index.
import importlib.util
import shutil
import subprocess
import sys

COURSE = "{requirement}"
WHEEL = "{wheel_url}"  # the wheel the site serves ("" where the build did not know its address)
if importlib.util.find_spec("f2p") is None:
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    cpu_only = sys.platform == "linux" and not shutil.which("nvidia-smi")
    if cpu_only and importlib.util.find_spec("torch") is None:  # not the multi-GB CUDA torch
        pip += ["--extra-index-url", "{cpu_index}"]
    sources = [source for source in (WHEEL, COURSE) if source]  # the site's wheel, the index
    if not any(subprocess.run(pip + [source]).returncode == 0 for source in sources):
        raise RuntimeError(
            f"pip could not install {{COURSE}}: see its message above. Download the wheel "
            f"{wheel} from {{WHEEL or 'the downloads/ folder of the site of this notebook'}}, "
            f"run `pip install {wheel}` in this environment, restart the kernel and run "
            "this cell again."
        )
    importlib.invalidate_caches()
import f2p

if getattr(f2p, "__distribution__", None) != COURSE.split("==")[0]:
    raise ImportError(
        f"'import f2p' found {{f2p.__file__}}, which is another package named f2p, not this "
        f"course's. Uninstall it (pip uninstall f2p), restart the kernel and run this cell "
        f"again: it installs {{COURSE}}."
    )
if f2p.__version__ != COURSE.split("==")[1]:
    print(f"Note: this page was built with {{COURSE}}; you have f2p {{f2p.__version__}}.")
```
"""


def setup_cell(site: str | None = None) -> str:
    """:data:`SETUP_CELL` for this build: installing the wheel of the site at ``site`` (by default
    :func:`site_url`), falling back to the package index."""
    site = site_url() if site is None else site
    return SETUP_CELL.format(
        requirement=REQUIREMENT,
        wheel=WHEEL,
        wheel_url=f"{site}{DOWNLOADS}/{WHEEL}" if site else "",
        cpu_index=CPU_TORCH_INDEX,
    )


def release_tag() -> str:
    """``vX.Y.Z`` in a GitHub Actions run for a version tag (the release workflow), else ``""``."""
    name = os.environ.get("GITHUB_REF_NAME", "").strip()
    tag = os.environ.get("GITHUB_REF_TYPE", "").strip() == "tag"
    return name if tag and re.fullmatch(r"v\d+\.\d+\.\d+", name) else ""


FOOTER = (
    f'<p class="f2p-licence">Built with <code>{REQUIREMENT}</code>. Code under the MIT licence; '
    'text and figures under <a href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a>'
    " (see LICENSE).</p>"
)

RUN_IT_YOURSELF = (
    '<p class="f2p-run-it-yourself">▶ <strong>Run this chapter yourself:</strong> download its '
    '<a href="{root}_sources/{docname}.ipynb">notebook with outputs</a> and open it in Colab, or '
    "in JupyterLab, which you install with the course: <code>pip install {readers} {requirement} "
    "--extra-index-url {cpu_index}</code> on a CPU-only machine, or the same without "
    "<code>--extra-index-url …</code> with an NVIDIA GPU (CUDA). The notebook's first cell "
    "installs the course package where it is missing. The <code>.md</code> in the download menu "
    "is its MyST source, which JupyterLab opens as a notebook after <code>pip install jupytext"
    '</code>. Also: <a href="{root}{downloads}/{wheel}">the wheel</a>, '
    '<a href="{root}{downloads}/{archive}">all chapters</a>, '
    '<a href="{root}{downloads}/{pdf}">the book as a PDF</a>.<br>' + RUNTIME_SLOT + "</p>\n"
)


def is_chapter(docname: str) -> bool:
    return docname.startswith("chapters/")


def with_setup_cell(text: str, docname: str) -> str:
    """``text`` (a chapter's MyST notebook) with the "run it yourself" line and
    :data:`SETUP_CELL` inserted under its title (the first ``# `` heading)."""
    match = re.search(r"^# .*\n", text, flags=re.MULTILINE)
    if match is None:
        raise ValueError(f"{docname}: a chapter starts with a '# ' title; found none")
    root = "../" * docname.count("/")
    insert = (
        "\n"
        + RUN_IT_YOURSELF.format(
            root=root,
            docname=docname,
            requirement=REQUIREMENT,
            downloads=DOWNLOADS,
            wheel=WHEEL,
            archive=ARCHIVE,
            pdf=PDF,
            readers=" ".join(READER_PACKAGES),
            cpu_index=CPU_TORCH_INDEX,
        )
        + "\n"
        + setup_cell()
    )
    return text[: match.end()] + insert + text[match.end() :]


def add_setup_cell(app: Sphinx, docname: str, source: list[str]) -> None:
    if is_chapter(docname):
        source[0] = with_setup_cell(source[0], docname)


class ResultsDirective(SphinxDirective):
    """``{f2p-results}``: the package's results. Each line of the content,
    ``chapter | benchmark | command``, names a benchmark to list as "not run yet" until its results
    file exists."""

    has_content = True

    def run(self) -> list[nodes.Node]:
        for path in sorted(results.RESULTS_DIR.glob("*.json")):
            self.env.note_dependency(str(path))
        try:
            expected = [results.Expected.parse(line) for line in self.content if line.strip()]
            table = results.to_markdown(results.load(), expected, committed_in())
        except ValueError as err:
            raise self.error(str(err)) from err
        container = nodes.container()
        self.state.nested_parse(StringList(table.splitlines()), self.content_offset, container)
        return container.children


def committed_in() -> dict[tuple[str, str], str]:
    """``(chapter, benchmark)`` of each results file -> "committed in abc1234 on 2026-12-01" (its
    last commit), where the sources are a git checkout."""
    found = {}
    for path in sorted(results.RESULTS_DIR.glob("*.json")):
        log = subprocess.run(
            ["git", "log", "-1", "--format=%h %cs", "--", str(path)],
            cwd=PROJECT, capture_output=True, text=True,
        )  # fmt: skip
        if log.returncode == 0 and log.stdout.strip():
            commit, date = log.stdout.split()
            result = json.loads(path.read_text())
            found[result["chapter"], result["benchmark"]] = f"committed in {commit} on {date}"
    return found


class DownloadsDirective(SphinxDirective):
    """``{f2p-downloads}``: links to what ``downloads/`` holds (the wheel, the archive of all
    chapters, the PDF of the book from ``make pdf``) and the install command, at this version."""

    def run(self) -> list[nodes.Node]:
        root = "../" * self.env.docname.count("/") + DOWNLOADS
        items = "".join(
            f'<li><a href="{root}/{name}">{label}</a> (<code>{name}</code>)</li>'
            for label, name in (
                ("All chapters as executed notebooks, with their sources", ARCHIVE),
                ("The course package, the wheel this site was built with", WHEEL),
                ("The whole book as one PDF", PDF),
            )
        )
        html = (
            f'<ul class="f2p-downloads">{items}<li>or from the package index, with JupyterLab: '
            f"<code>pip install {' '.join(READER_PACKAGES)} {REQUIREMENT} --extra-index-url "
            f"{CPU_TORCH_INDEX}</code> on a CPU-only machine, without "
            "<code>--extra-index-url …</code> with an NVIDIA GPU (imported as <code>f2p</code>)"
            "</li></ul>"
        )
        return [nodes.raw("", html, format="html")]


def executed_path(app: Sphinx, docname: str) -> Path:
    """Where MyST-NB writes the notebook of ``docname`` (without outputs in ``cache`` mode)."""
    return Path(app.outdir).parent / "jupyter_execute" / f"{docname}.ipynb"


def executed_notebook(app: Sphinx, docname: str) -> nbformat.NotebookNode | None:
    """The notebook of ``docname`` as the page shows it: MyST-NB writes it without outputs in
    ``cache`` mode, so they are merged back from the execution cache."""
    path = executed_path(app, docname)
    if not path.is_file():
        return None
    notebook = nbformat.read(path, as_version=4)
    if app.config.nb_execution_mode == "cache":
        from jupyter_cache import get_cache

        try:
            _, notebook = get_cache(app.config.nb_execution_cache_path).merge_match_into_notebook(
                notebook
            )
        except KeyError:  # not in the cache: a page whose execution was excluded
            pass
    return notebook


def reader_notebook(app: Sphinx, docname: str) -> nbformat.NotebookNode | None:
    """The notebook a reader downloads: the page's executed notebook with its Markdown rendered
    from the resolved page (no MyST, no book macros; :mod:`f2p_tools.clean_notebooks`)."""
    notebook = executed_notebook(app, docname)
    if notebook is None:
        return None
    return clean_notebook(
        app.env.get_and_resolve_doctree(docname, app.builder),
        notebook,
        docname,
        app.env.toc_fignumbers.get(docname, {}),
        macros_of(app.config),
        site_url(),
    )


def offer_downloads(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """List the page's ``.ipynb`` in the download menu (written at the end of the build)."""
    if doctree is not None and executed_path(app, pagename).is_file():
        context["ipynb_source"] = f"{pagename}.ipynb"


def write_downloads(app: Sphinx, exception: Exception | None) -> None:
    """Each chapter's executed ``.ipynb`` and MyST source in ``_sources``; the wheel and the
    archive of all chapters in ``downloads/``."""
    if exception is not None or app.builder.name != "html":
        return
    outdir = Path(app.outdir)
    chapters = sorted(d for d in app.env.found_docs if is_chapter(d))
    archive = outdir / DOWNLOADS / ARCHIVE
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_suffix(".zip.tmp")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zipped:
        for docname in chapters:
            notebook = reader_notebook(app, docname)
            source = with_setup_cell(Path(app.env.doc2path(docname)).read_text("utf-8"), docname)
            files = {f"{docname}.md": source}
            if notebook is not None:
                files[f"{docname}.ipynb"] = nbformat.writes(notebook)
            for name, text in files.items():
                target = outdir / "_sources" / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
                zipped.writestr(name, text)
        zipped.writestr("README.txt", ARCHIVE_README)
    partial.replace(archive)
    if (PROJECT / "pyproject.toml").is_file():  # else a book built beside an installed package
        build_wheel(outdir / DOWNLOADS)


ARCHIVE_README = f"""Frames to Policies: the chapters as executed notebooks, and their sources.

Install the course package and JupyterLab, then open any notebook:

    pip install {READER_PACKAGES[0]} {REQUIREMENT} --extra-index-url {CPU_TORCH_INDEX}
    jupyter lab chapters

(On a machine with an NVIDIA GPU, leave out --extra-index-url ...: pip then installs the CUDA
build of PyTorch. The .md files are the chapters' MyST sources: pip install jupytext to open them.)

(Each notebook's first cell also installs it when it is missing.)
"""


def build_wheel(folder: Path) -> Path:
    """Build the package's wheel into ``folder``: the site serves the code it was built with."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "build",
                "--wheel",
                "--no-isolation",
                "--outdir",
                tmp,
                str(PROJECT),
            ],
            check=True,
            capture_output=True,
        )
        (built,) = Path(tmp).glob("*.whl")
        if built.name != WHEEL:
            raise RuntimeError(f"built {built.name}, expected {WHEEL}")
        return Path(built.replace(folder / WHEEL))


def repository_url(config: Any) -> str:
    """The one place the repository comes from: ``repository.url`` in ``_config.yml``, else the
    ``GITHUB_REPOSITORY`` (``owner/name``) of a GitHub Actions run; empty when neither is set."""
    configured = config.html_theme_options.get("repository_url", "")
    if configured:
        return configured.rstrip("/")
    slug = os.environ.get("GITHUB_REPOSITORY", "")
    return f"https://github.com/{slug}" if slug else ""


def fail_fast_in_the_fast_profile(app: Sphinx, config: Any) -> None:
    """The book's per-cell limit (``execute.timeout``) is sized for the full profile; in the
    fast profile cut it to :data:`FAST_CELL_TIMEOUT_S`."""
    if f2p.utils.profile().name == "fast":
        config.nb_execution_timeout = min(config.nb_execution_timeout, FAST_CELL_TIMEOUT_S)


def configure_header_buttons(app: Sphinx, config: Any) -> None:
    """Turn the repository buttons on when a repository is known; the theme's own launch buttons
    stay off (they would open the ``.md`` sources, which Colab cannot read): see
    :func:`launch_links`."""
    options = config.html_theme_options
    launch = options.pop("launch_buttons", {}) or {}
    app.config.f2p_launch = {  # an empty F2P_* variable counts as unset
        k: os.environ.get(f"F2P_{k.upper()}", "").strip() or v for k, v in launch.items()
    }
    options["extra_footer"] = FOOTER
    url = repository_url(config)
    options["repository_url"] = url
    for button in ("use_repository_button", "use_issues_button", "use_edit_page_button"):
        options[button] = bool(url)


def launch_links(
    repository: str,
    path: str,
    colab_url: str = "",
    binderhub_url: str = "",
    jupyterhub_url: str = "",
    branch: str = NOTEBOOKS_BRANCH,
) -> list[dict[str, str]]:
    """Launch links for the executed notebook at ``path`` of ``branch`` in the GitHub
    ``repository`` (``https://github.com/owner/name``): one per service whose URL is given."""
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+)", repository)
    if match is None:
        raise ValueError(f"launch buttons need a GitHub repository URL, got {repository!r}")
    owner, name = match.groups()
    links = []
    if colab_url:
        links.append(
            ("Colab", f"{colab_url.rstrip('/')}/github/{owner}/{name}/blob/{branch}/{path}")
        )
    if binderhub_url:
        lab = quote(f"lab/tree/{path}", safe="")
        links.append(
            ("Binder", f"{binderhub_url.rstrip('/')}/v2/gh/{owner}/{name}/{branch}?urlpath={lab}")
        )
    if jupyterhub_url:
        query = (
            f"repo={quote(repository, safe='')}&branch={branch}"
            f"&urlpath={quote(f'lab/tree/{name}/{path}', safe='')}"
        )
        links.append(
            ("JupyterHub", f"{jupyterhub_url.rstrip('/')}/hub/user-redirect/git-pull?{query}")
        )
    return [
        {
            "type": "link",
            "text": text,
            "tooltip": f"Launch on {text}",
            "url": url,
            "icon": "fas fa-rocket",
        }
        for text, url in links
    ]


def launch_branch() -> str:
    """The branch the launch buttons open: ``notebooks``, or for a release's site (built on its
    tag, kept under ``/vX.Y.Z/``) that release's ``notebooks-vX.Y.Z``, which the release workflow
    writes, so that its buttons open its own notebooks rather than main's."""
    tag = release_tag()
    return f"{NOTEBOOKS_BRANCH}-{tag}" if tag else NOTEBOOKS_BRANCH


def link_the_book_pdf(context: dict[str, Any]) -> None:
    """The download menu's ``.pdf`` is the theme's browser print dialog; make it the book's PDF
    (``make pdf``) instead."""
    for group in context.get("header_buttons", []):
        for i, button in enumerate(group.get("buttons", [])):
            if button.get("label") == "download-pdf-button":
                group["buttons"][i] = {
                    "type": "link",
                    "url": context["pathto"](f"{DOWNLOADS}/{PDF}", 1),
                    "text": ".pdf (book)",
                    "tooltip": "The whole book as one PDF",
                    "icon": "fas fa-file-pdf",
                    "label": "download-pdf-button",
                }


def add_launch_buttons(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    link_the_book_pdf(context)
    repository = app.config.html_theme_options.get("repository_url", "")
    if not (repository and doctree is not None and is_chapter(pagename)):
        return
    launch = app.config.f2p_launch
    buttons = launch_links(
        repository,
        f"{pagename}.ipynb",
        launch.get("colab_url", ""),
        launch.get("binderhub_url", ""),
        launch.get("jupyterhub_url", ""),
        branch=launch_branch(),
    )
    if buttons:
        context["header_buttons"].append(
            {
                "type": "group",
                "tooltip": "Launch this chapter",
                "icon": "fas fa-rocket",
                "buttons": buttons,
                "label": "launch-buttons",
            }
        )


def one_page_renders_like_the_site(app: Sphinx) -> None:
    """``make pdf`` builds with ``singlehtml``. Sphinx falls back to the ``html`` translation
    handlers only for a builder that has none of its own, and sphinx-exercise registers some for
    ``singlehtml``: so MyST-NB's and sphinx-proof's nodes had no renderer there. Give them the
    ``html`` ones."""
    handlers = app.registry.translation_handlers
    if app.builder.name == "singlehtml":
        for name, visitors in handlers.get("html", {}).items():
            handlers.setdefault("singlehtml", {}).setdefault(name, visitors)


def setup(app: Sphinx) -> dict[str, object]:
    app.add_config_value("f2p_launch", {}, "html")
    app.add_directive("f2p-results", ResultsDirective)
    app.add_directive("f2p-downloads", DownloadsDirective)
    app.connect("config-inited", configure_header_buttons)
    app.connect("config-inited", fail_fast_in_the_fast_profile)
    app.connect("builder-inited", one_page_renders_like_the_site)
    app.connect("source-read", add_setup_cell)
    app.connect("html-page-context", offer_downloads, priority=400)
    app.connect("html-page-context", add_launch_buttons, priority=502)
    app.connect("build-finished", write_downloads)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
