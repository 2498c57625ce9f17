"""Run times where readers look for them, generated from the build's own execution records.

- Under each chapter's title (in the "run it yourself" line of :mod:`f2p_tools.book`), an empty
  ``<span class="f2p-runtime"></span>`` is filled with the time that chapter's notebook took when
  this site was built (MyST-NB's execution data: measured when it ran, or when the test suite ran
  it and filled the cache), the profile and the machine.
- ``{nb-exec-table}`` (the execution-status page) is drawn as a table of chapter titles with
  their run time and status, under a line naming the build machine and the profile.
"""

from __future__ import annotations

import datetime
from functools import cache

from docutils import nodes
from myst_nb.ext.execution_tables import ExecutionStatsNode
from myst_nb.sphinx_ import NbMetadataCollector
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform

RUNTIME_SLOT = '<span class="f2p-runtime"></span>'
NOT_MEASURED_ON_GPU = "On a GPU (full profile): not measured yet."


@cache
def build_machine() -> str:
    import f2p

    return f2p.utils.machine()


@cache
def build_profile() -> str:
    import f2p

    return f2p.utils.profile().name


def runtime_sentence(runtime: float | None) -> str:
    """``Runs in about 95 s (fast profile, on …).`` for a chapter header."""
    if runtime is None:
        return "Not timed in this build."
    minutes = f" ({runtime / 60:.1f} min)" if runtime >= 90 else ""
    profile = build_profile()
    gpu = f" {NOT_MEASURED_ON_GPU}" if profile != "full" else ""
    return (
        f"Runs in about {runtime:.0f} s{minutes} in the {profile} profile on the machine that "
        f"built this site ({build_machine()}).{gpu}"
    )


def runtime_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{f2p-runtime}`chapters/02_tsn/tsn```: that page's run time in this build (e.g. in the
    intro's chapter map), filled in by :class:`ChapterRunTime`."""
    return [nodes.inline(rawtext, text.strip(), classes=["f2p-runtime-of"])], []


def _runtime(env, docname: str) -> float | None:
    return (NbMetadataCollector.get_exec_data(env, docname) or {}).get("runtime")


class ChapterRunTime(SphinxPostTransform):
    """Fill the chapter header's run-time slot, and any ``f2p-runtime-of`` span, from the
    execution data of the pages they name."""

    default_priority = 8

    def run(self, **kwargs: object) -> None:
        sentence = runtime_sentence(_runtime(self.env, self.env.docname))
        for raw in list(self.document.findall(nodes.raw)):
            if RUNTIME_SLOT in raw.astext():
                html = raw.astext().replace(
                    RUNTIME_SLOT, f'<span class="f2p-runtime">⏱ {sentence}</span>'
                )
                raw.replace_self(nodes.raw("", html, format="html"))
        for slot in list(self.document.findall(nodes.inline)):
            if "f2p-runtime-of" in slot["classes"]:
                slot[:] = [nodes.Text(self.short(slot.astext()))]

    def short(self, docname: str) -> str:
        if docname not in self.env.found_docs:
            raise ValueError(f"f2p-runtime-of names {docname!r}, which is not a page")
        runtime = _runtime(self.env, docname)
        return "–" if runtime is None else f"{runtime:.0f} s"


def pages_showing_runtimes(app: Sphinx, env) -> list[str]:
    """Re-write the pages that show other pages' run times when any notebook ran again."""
    if not NbMetadataCollector.new_exec_data(env):
        return []
    return [page for page in ("book/intro", "book/teaching") if page in env.found_docs]


def _row(*cells: nodes.Node | str) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        paragraph = nodes.paragraph()
        paragraph += nodes.Text(cell) if isinstance(cell, str) else cell
        row += nodes.entry("", paragraph)
    return row


class ExecutionTable(SphinxPostTransform):
    """Draw ``{nb-exec-table}`` with chapter titles (before MyST-NB's own transform, 8)."""

    default_priority = 7

    def run(self, **kwargs: object) -> None:
        for placeholder in list(self.document.findall(ExecutionStatsNode)):
            placeholder.replace_self(self.table())

    def table(self) -> list[nodes.Node]:
        env = self.env
        header = ("page", "run time (s)", "status", "outputs from", "ran at")
        table = nodes.table(classes=["f2p-execution-table"])
        group = nodes.tgroup(cols=len(header))
        table += group
        group += [nodes.colspec(colwidth=w) for w in (46, 14, 10, 14, 16)]
        group += nodes.thead("", _row(*header))
        body = nodes.tbody()
        group += body
        for docname, metadata in sorted(NbMetadataCollector.get_doc_data(env).items()):
            data = metadata.get("exec_data")
            if not data:
                continue
            link = nodes.reference(
                "", env.titles[docname].astext(), internal=True,
                refuri=self.app.builder.get_relative_uri(env.docname, docname),
            )  # fmt: skip
            ran = datetime.datetime.fromtimestamp(data["mtime"]) if data.get("mtime") else None
            body += _row(
                link,
                "–" if data.get("runtime") is None else f"{data['runtime']:.0f}",
                "✅ passed" if data.get("succeeded") else "❌ failed",
                {"cache": "execution cache"}.get(data.get("method"), str(data.get("method"))),
                ran.strftime("%Y-%m-%d %H:%M") if ran else "",
            )
        machine = nodes.paragraph(text=f"Built on: {build_machine()}; profile: {build_profile()}.")
        return [machine, table]


def setup(app: Sphinx) -> dict[str, object]:
    app.add_role("f2p-runtime", runtime_role)
    app.add_post_transform(ChapterRunTime)
    app.add_post_transform(ExecutionTable)
    app.connect("env-updated", pages_showing_runtimes)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
