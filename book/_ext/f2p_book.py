"""Sphinx extension of the course book.

- ``{f2p-results} benchmarks/results``: renders the benchmark JSON files as one table at build
  time, each file a dependency of the page (changing one rebuilds it); benchmarks named in the
  directive's content that have not run yet are listed with their command.
- A ``.ipynb`` download for every notebook page: the executed notebook that MyST-NB writes is
  offered in the theme's download menu (the theme does this only when launch buttons are on).
- Launch buttons (Binder, Colab) stay configured but off until ``repository.url`` is set.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from f2p import results


class ResultsDirective(SphinxDirective):
    """``{f2p-results} benchmarks/results``: the folder is relative to the book's root. Each line
    of the content, ``chapter | benchmark | command``, names a benchmark to list as "not run yet"
    until its results file exists."""

    required_arguments = 1
    has_content = True

    def run(self) -> list[nodes.Node]:
        folder = Path(self.env.srcdir) / self.arguments[0]
        for path in sorted(folder.glob("*.json")):
            self.env.note_dependency(str(path))
        try:
            expected = [results.Expected.parse(line) for line in self.content if line.strip()]
            table = results.to_markdown(results.load(folder), expected)
        except ValueError as err:
            raise self.error(str(err)) from err
        container = nodes.container()
        self.state.nested_parse(StringList(table.splitlines()), self.content_offset, container)
        return container.children


def offer_ipynb_download(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Copy the executed notebook of a page to ``_sources``; list it in the download menu."""
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if doctree is None or not executed.is_file():
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def launch_buttons_need_repository(app: Sphinx, config: Any) -> None:
    """The theme's launch buttons fail without a repository URL: keep them off until it is set."""
    options = config.html_theme_options
    if not options.get("repository_url"):
        options.pop("launch_buttons", None)


def setup(app: Sphinx) -> dict[str, object]:
    app.add_directive("f2p-results", ResultsDirective)
    app.connect("config-inited", launch_buttons_need_repository)
    app.connect("html-page-context", offer_ipynb_download, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
