"""Sphinx extension: the ``{f2p-results}`` directive renders ``benchmarks/results/*.json``.

The table is read at build time, so the results page always shows the latest benchmark files,
and each file is a dependency of the page (changing one rebuilds it).
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from f2p import results


class ResultsDirective(SphinxDirective):
    """``{f2p-results} benchmarks/results``: the folder is relative to the book's root."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        folder = Path(self.env.srcdir) / self.arguments[0]
        for path in sorted(folder.glob("*.json")):
            self.env.note_dependency(str(path))
        try:
            table = results.to_markdown(results.load(folder))
        except ValueError as err:
            raise self.error(str(err)) from err
        container = nodes.container()
        self.state.nested_parse(StringList(table.splitlines()), self.content_offset, container)
        return container.children


def setup(app: Sphinx) -> dict[str, object]:
    app.add_directive("f2p-results", ResultsDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
