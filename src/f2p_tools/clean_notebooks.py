"""Clean notebooks: each chapter as Jupyter, JupyterLab, VS Code and Colab render it.

The site renders MyST; a notebook's Markdown cells are CommonMark with HTML and MathJax, which
show MyST's directives, roles and the book's TeX macros as raw text. So the notebooks a reader
downloads, the ``notebooks`` branch behind the launch buttons and the instructors' kit are not
made from the MyST source but from the chapter's **resolved doctree**: the tree Sphinx renders
the page from, after it has numbered every theorem, exercise and equation and resolved every
reference and citation. :func:`clean_notebook` walks that tree and writes

- sections as headings, each starting a Markdown cell, and code cells where the page has them,
  with the executed outputs the page shows;
- admonitions, theorems, lemmas, propositions and exercises as titled ``<blockquote>`` blocks,
  with the page's numbers ("Theorem 10.1", "Exercise 10.1");
- dropdowns and solutions as ``<details>`` (a solution's code cells start collapsed);
- references, ``{numref}``, ``{eq}`` and citations as the text the page shows ("Theorem 8.1",
  "(9.3)", "Schulman et al. [2015]"), linked to the site when its address is known
  (:func:`site_url`), plain text otherwise;
- display equations with the page's numbers as ``\\tag``, and every macro of the book
  (``mathjax3_config`` in ``_config.yml``) expanded, so no MathJax needs the book's definitions.

Why a walk over the doctree rather than a converter of the MyST text: the numbers and the
citation texts exist only after Sphinx has resolved the whole book, and the doctree is the one
thing the site, the downloads and the kit can share. It is one writer, one node type a method.
"""

from __future__ import annotations

import copy
import html
import os
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from posixpath import dirname, join, normpath
from typing import Any
from urllib.parse import urlsplit

import nbformat
from docutils import nodes

CONTROL_WORD = re.compile(r"\\([A-Za-z]+)")  # a TeX control word (TeX's own tokenizing rule)
MACRO_PASSES = 8  # macros may use macros; the book's nest at most twice


def site_url() -> str:
    """The published site's address with a trailing ``/``, or ``""`` where it is unknown:
    ``F2P_SITE_URL``, else GitHub Pages of ``GITHUB_REPOSITORY`` (a release's site under
    ``/vX.Y.Z/``, as the release workflow publishes it)."""
    explicit = os.environ.get("F2P_SITE_URL", "").strip()
    if explicit:
        return explicit.rstrip("/") + "/"
    slug = os.environ.get("GITHUB_REPOSITORY", "").strip()
    if "/" not in slug:
        return ""
    owner, name = slug.split("/", 1)
    url = f"https://{owner.lower()}.github.io/{name}/"
    if os.environ.get("GITHUB_REF_TYPE") == "tag":
        url += os.environ.get("GITHUB_REF_NAME", "").strip("/") + "/"
    return url


# --- TeX -----------------------------------------------------------------------------------------


def macros_of(config: Any) -> dict[str, tuple[str, int]]:
    """The book's TeX macros, ``name -> (body, number of arguments)``, from ``mathjax3_config``."""
    defined = (getattr(config, "mathjax3_config", None) or {}).get("tex", {}).get("macros", {})
    return {
        name: (body[0], int(body[1])) if isinstance(body, list | tuple) else (body, 0)
        for name, body in defined.items()
    }


def _argument(tex: str, at: int) -> tuple[str, int]:
    """The TeX argument starting at ``at`` (a braced group or one token) and where it ends."""
    while at < len(tex) and tex[at].isspace():
        at += 1
    if at >= len(tex):
        raise ValueError(f"a macro's argument is missing at the end of {tex!r}")
    if tex[at] != "{":
        match = CONTROL_WORD.match(tex, at)
        end = match.end() if match else at + 1
        return tex[at:end], end
    depth = 0
    for end in range(at, len(tex)):
        depth += {"{": 1, "}": -1}.get(tex[end], 0) if tex[end - 1 : end] != "\\" else 0
        if depth == 0:
            return tex[at + 1 : end], end + 1
    raise ValueError(f"unbalanced braces in a macro's argument in {tex!r}")


def expand_macros(tex: str, macros: dict[str, tuple[str, int]]) -> str:
    """``tex`` with every use of ``macros`` replaced by its definition (``#1``... by the
    arguments), repeated while a definition uses another macro."""
    for _ in range(MACRO_PASSES):
        out, at, changed = [], 0, False
        for match in CONTROL_WORD.finditer(tex):
            if match.start() < at or match.group(1) not in macros:
                continue
            body, arity = macros[match.group(1)]
            end = match.end()
            for i in range(1, arity + 1):
                argument, end = _argument(tex, end)
                body = body.replace(f"#{i}", argument)
            if tex[: match.start()].rstrip().endswith(("_", "^")):
                body = "{" + body + "}"  # a macro as a sub- or superscript is one group
            elif tex[end : end + 1].isalpha():
                body += " "  # \E x: keep the control word apart from the next letter
            out += [tex[at : match.start()], body]
            at, changed = end, True
        tex = "".join(out) + tex[at:]
        if not changed:
            return tex
    raise ValueError(f"macros nest deeper than {MACRO_PASSES} levels in {tex!r}")


# --- HTML in raw nodes ------------------------------------------------------------------------


class _LinkRewriter(HTMLParser):
    """Raw HTML with each relative ``href``/``src`` resolved against the page's address on the
    site, or, where that is unknown, the link unwrapped to its text."""

    def __init__(self, resolve) -> None:
        super().__init__(convert_charrefs=False)
        self.resolve, self.out, self.dropped = resolve, [], []

    def handle_starttag(self, tag, attrs) -> None:
        kept = []
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                value = self.resolve(value)
                if value is None:
                    if tag == "a":
                        self.dropped.append(True)
                        return
                    continue
            kept.append((name, value))
        if tag == "a":
            self.dropped.append(False)
        rendered = "".join(
            f" {n}" if v is None else f' {n}="{html.escape(v, quote=True)}"' for n, v in kept
        )
        self.out.append(f"<{tag}{rendered}>")

    def handle_endtag(self, tag) -> None:
        if tag == "a" and self.dropped and self.dropped.pop():
            return
        self.out.append(f"</{tag}>")

    def handle_data(self, data) -> None:
        self.out.append(data)

    def handle_entityref(self, name) -> None:
        self.out.append(f"&{name};")

    def handle_charref(self, name) -> None:
        self.out.append(f"&#{name};")


# --- the writer ----------------------------------------------------------------------------------


@dataclass
class Code:
    """The notebook's code cell ``index`` at this place; ``collapsed`` inside a solution."""

    index: int
    collapsed: bool = False


@dataclass
class Break:
    """A new cell starts here (before each heading, around each exercise and solution). The
    cells up to the next break carry ``region`` in their metadata under ``"f2p"``, e.g.
    ``{"exercise": "ch10-ex-cg"}``: the instructors' kit finds an exercise's text by it."""

    region: dict | None = None


Segment = str | Code | Break

THEOREM_LIKE = ("theorem", "lemma", "proposition", "corollary", "definition", "remark", "example",
                "axiom", "conjecture", "criterion", "property", "observation", "assumption",
                "notation", "algorithm")  # fmt: skip
HIDDEN_INPUT_TAGS = {"hide-input", "remove-input", "hide-cell"}
SKIPPED = (nodes.target, nodes.comment, nodes.substitution_definition, nodes.system_message)


class NotebookWriter:
    """Renders the resolved doctree of chapter ``docname`` as Markdown segments and code-cell
    places (:meth:`segments`)."""

    def __init__(self, docname: str, fignumbers: dict, macros: dict, site: str) -> None:
        self.docname, self.fignumbers, self.macros, self.site = docname, fignumbers, macros, site
        self.depth = 0
        self.in_table = False

    # links ---------------------------------------------------------------------------------

    def page_url(self) -> str:
        return f"{self.site}{self.docname}.html" if self.site else ""

    def resolve(self, uri: str) -> str | None:
        """``uri`` as an absolute address, or None where it is relative and the site unknown."""
        if urlsplit(uri).scheme or uri.startswith("//"):
            return uri
        if not self.site:
            return None
        if uri.startswith("#"):
            return self.page_url() + uri
        path, _, anchor = uri.partition("#")
        target = normpath(join(dirname(self.docname), path)) if path else self.docname + ".html"
        return self.site + target + (f"#{anchor}" if anchor else "")

    def number(self, kind: str, node: nodes.Element) -> str:
        ids = node.get("ids") or [node.get("label", "")]
        return ".".join(map(str, self.fignumbers.get(kind, {}).get(ids[0], ())))

    # inline --------------------------------------------------------------------------------

    def inline(self, node: nodes.Node) -> str:
        if isinstance(node, nodes.Text):
            return self.text(node.astext())
        if isinstance(node, SKIPPED):
            return ""
        if isinstance(node, nodes.math):
            return self.inline_math(node.astext())
        if isinstance(node, nodes.literal):
            return self.code_span(node.astext())
        if isinstance(node, nodes.raw):
            return self.raw_html(node) if node.get("format") == "html" else ""
        if isinstance(node, nodes.image):
            return f"![{self.text(node.get('alt', ''))}]({self.resolve(node['uri']) or ''})"
        inner = "".join(self.inline(child) for child in node.children)
        if isinstance(node, nodes.strong):
            return self.wrap(inner, "**", "strong")
        if isinstance(node, nodes.emphasis):
            return self.wrap(inner, "*", "em")
        if isinstance(node, nodes.reference):
            uri = node.get("refuri") or ("#" + node["refid"] if node.get("refid") else "")
            target = self.resolve(uri) if uri else None
            return f"[{inner}]({target})" if target and inner.strip() else inner
        return inner  # inline, number_reference, abbreviation...: their text

    def text(self, text: str) -> str:
        return re.sub(r"([\\`*_\[\]<>$#|~])", r"\\\1", text).replace("\n", " ")

    @staticmethod
    def wrap(inner: str, mark: str, tag: str) -> str:
        core = inner.strip()
        if not core:
            return inner
        lead, trail = inner[: len(inner) - len(inner.lstrip())], inner[len(inner.rstrip()) :]
        if core[0].isalnum() and core[-1].isalnum():
            body = f"{mark}{core}{mark}"
        else:  # punctuation at an edge: CommonMark's flanking rules may leave the mark open
            body = f"<{tag}>{core}</{tag}>"
        return f"{lead}{body}{trail}"

    @staticmethod
    def code_span(code: str) -> str:
        fence = "`" * (max((len(run) for run in re.findall(r"`+", code)), default=0) + 1)
        pad = " " if code.startswith("`") or code.endswith("`") else ""
        return f"{fence}{pad}{code}{pad}{fence}"

    def tex(self, tex: str) -> str:
        tex = expand_macros(tex, self.macros)
        if self.in_table:  # a pipe table splits cells at every |
            tex = tex.replace("\\|", "\\Vert ").replace("|", "\\vert ")
        return tex

    def inline_math(self, tex: str) -> str:
        return f"${self.tex(tex).strip()}$"

    def raw_html(self, node: nodes.raw) -> str:
        if "<script" in node.astext():
            return ""
        rewriter = _LinkRewriter(self.resolve)
        rewriter.feed(node.astext())
        rewriter.close()
        return "".join(rewriter.out)

    # blocks --------------------------------------------------------------------------------

    def segments(self, node: nodes.Node) -> list[Segment]:
        """``node`` as Markdown blocks, code-cell places and cell breaks, in the page's order."""
        if isinstance(node, SKIPPED) or isinstance(node, nodes.Invisible):
            return []
        kind = node.get("nb_element") if isinstance(node, nodes.Element) else None
        if kind == "cell_code":
            return [Code(int(node["cell_index"]))]
        method = getattr(self, f"block_{type(node).__name__}", None)
        if method is not None:
            return method(node)
        if isinstance(node, nodes.TextElement):  # paragraph-like
            return [self.inline_children(node)]
        return self.children(node)

    def children(self, node: nodes.Node) -> list[Segment]:
        return [segment for child in node.children for segment in self.segments(child)]

    def inline_children(self, node: nodes.Node) -> str:
        return "".join(self.inline(child) for child in node.children).strip()

    def block_section(self, node):
        if not (node.children and isinstance(node[0], nodes.title)):
            return self.children(node)  # a theorem's, exercise's or solution's content
        self.depth += 1
        title, *rest = node.children
        heading = "#" * min(self.depth, 6) + " " + self.inline_children(title)
        found = [Break(), heading, *[s for child in rest for s in self.segments(child)]]
        self.depth -= 1
        return found

    def block_raw(self, node):
        return [self.raw_html(node)] if node.get("format") == "html" else []

    def block_literal_block(self, node):
        code = node.astext()
        fence = "`" * max(3, max((len(r) for r in re.findall(r"`+", code)), default=0) + 1)
        return [f"{fence}{node.get('language', '')}\n{code}\n{fence}"]

    def block_math_block(self, node):
        if node.get("nowrap"):
            return [self.tex(node.astext())]
        parts = [self.tex(part) for part in node.astext().split("\n\n") if part.strip()]
        parts = [f"\\begin{{split}}{p}\\end{{split}}" if "\\\\" in p else p for p in parts]
        body = "\\\\".join(parts)
        if len(parts) > 1:
            body = f"\\begin{{align}}\\begin{{aligned}}{body}\\end{{aligned}}\\end{{align}}"
        number = self.number("displaymath", node) if node.get("ids") else ""
        tag = f"\\tag{{{number}}}" if number else ""
        return [f"$$\n{body.strip()}\n{tag}$$" if tag else f"$$\n{body.strip()}\n$$"]

    def block_bullet_list(self, node):
        return [self.items(node, lambda i: "- ")]

    def block_enumerated_list(self, node):
        start = int(node.get("start", 1))
        return [self.items(node, lambda i: f"{start + i}. ")]

    def items(self, node, marker) -> str:
        rendered = []
        for i, item in enumerate(node.children):
            blocks = self.markdown_only(self.children(item), "a list item")
            body = "\n\n".join(blocks)
            prefix = marker(i)
            indented = body.replace("\n", "\n" + " " * len(prefix))
            rendered.append(prefix + indented)
        loose = any("\n\n" in r for r in rendered)
        return ("\n\n" if loose else "\n").join(rendered)

    def markdown_only(self, segments: list[Segment], where: str) -> list[str]:
        if any(not isinstance(s, str) for s in segments):
            raise ValueError(f"{self.docname}: a code cell or heading inside {where}")
        return [s for s in segments if s]

    def block_table(self, node):
        rows = []
        self.in_table = True
        for row in node.findall(nodes.row):
            cells = []
            for entry in row.children:
                inner = [self.inline_children(p) for p in entry.children]
                cells.append(" <br> ".join(i for i in inner if i))
            rows.append("| " + " | ".join(cells) + " |")
        self.in_table = False
        head = sum(len(list(thead.findall(nodes.row))) for thead in node.findall(nodes.thead))
        if not head:
            rows.insert(0, "| " + " | ".join(" " for _ in rows[0].split(" | ")) + " |")
            head = 1
        width = rows[0].count(" | ") + 1
        rows.insert(head, "|" + "---|" * width)
        return ["\n".join(rows)]

    # titled blocks -------------------------------------------------------------------------

    def titled(self, title: str, body: list[Segment], opening: str, closing: str) -> list[Segment]:
        """``body`` inside ``opening``/``closing`` with ``title`` first. A code cell inside (a
        solution's) ends the block and starts a new one after it: HTML cannot span cells. In a
        ``<details>`` block the code cells start collapsed, as the page shows them."""
        collapsed = opening.startswith("<details")
        out: list[Segment] = []
        run: list[str] = []
        for segment in [*body, None]:
            if isinstance(segment, str):
                if segment:
                    run.append(segment)
                continue
            if run:
                out.append("\n\n".join([opening.format(title=title), *run, closing]))
            elif isinstance(segment, Code) and collapsed:
                out.append(
                    f"*{title}:* in the collapsed code cell below (click its bar to show it)."
                )
            elif segment is None and not out:  # an empty block keeps its title
                out.append("\n\n".join([opening.format(title=title), closing]))
            if isinstance(segment, Code):
                out.append(Code(segment.index, collapsed))
            if out and not title.endswith("(continued)"):
                title = f"{title} (continued)"
            run = []
        return out

    def block_admonition(self, node):
        classes = node.get("classes", [])
        titles = [c for c in node.children if isinstance(c, nodes.title)]
        if "proof" in classes:
            return self.body(node)
        title = self.inline_children(titles[0]) if titles else ""
        if "dropdown" in classes:
            return self.titled(title, self.body(node), DETAILS, "</details>")
        return self.quoted(f"<strong>{title}</strong>", node)

    def body(self, node) -> list[Segment]:
        """``node``'s content without its title."""
        kept = [child for child in node.children if not isinstance(child, nodes.title)]
        return [segment for child in kept for segment in self.segments(child)]

    def quoted(self, head: str, node) -> list[Segment]:
        return self.titled(head, self.body(node), "<blockquote>\n\n{title}", "</blockquote>")

    def theorem_like(self, node, enumerated: bool = True):
        name = node.get("realtype", "").title()
        number = self.number(node.get("countertype", ""), node) if enumerated else ""
        titles = [c for c in node.children if isinstance(c, nodes.title)]
        subtitle = self.inline_children(titles[0]) if titles else ""
        head = f"**{name}{' ' + number if number else ''}**{' ' + subtitle if subtitle else ''}"
        return self.quoted(head, node)

    def block_unenumerable_node(self, node):
        return self.theorem_like(node, enumerated=False)

    def block_exercise_enumerable_node(self, node):
        number = self.number("exercise", node)
        titles = [c for c in node.children if isinstance(c, nodes.title)]
        subtitle = "".join(
            self.inline(c) for t in titles for c in t.children if not isinstance(c, nodes.Text)
        ).strip()
        head = f"**Exercise {number}**" + (f" ({subtitle})" if subtitle else "")
        region = Break({"exercise": node.get("label", ""), "number": number})
        return [region, *self.quoted(head, node), Break()]

    block_exercise_node = block_exercise_enumerable_node

    def block_solution_node(self, node):
        title = node.get("title") or "Solution"
        region = Break({"solution": node.get("target_label", "")})
        return [
            region,
            *self.titled(self.text(title), self.body(node), DETAILS, "</details>"),
            Break(),
        ]


DETAILS = "<details>\n<summary>{title}</summary>"

for _kind in THEOREM_LIKE:
    setattr(NotebookWriter, f"block_{_kind}_node", NotebookWriter.theorem_like)


# --- the notebook --------------------------------------------------------------------------------


def cells_of(segments: list[Segment]) -> list[tuple[str | Code, dict | None]]:
    """Markdown blocks joined into cells, split at each :class:`Break` and code cell; each cell
    with the region it is in."""
    cells: list[tuple[str | Code, dict | None]] = []
    run: list[str] = []
    region = None
    for segment in [*segments, Break()]:
        if isinstance(segment, str):
            if segment.strip():
                run.append(segment.strip("\n"))
            continue
        if run:
            cells.append(("\n\n".join(run), region))
            run = []
        if isinstance(segment, Code):
            cells.append((segment, region))
        else:
            region = segment.region
    return cells


def clean_notebook(
    doctree: nodes.document,
    executed: nbformat.NotebookNode,
    docname: str,
    fignumbers: dict,
    macros: dict,
    site: str = "",
) -> nbformat.NotebookNode:
    """The notebook a reader runs: ``doctree`` (resolved) rendered as Markdown cells, with the
    code cells of ``executed`` (the page's notebook, outputs included) where the page has them.
    Every code cell of ``executed`` must have its place on the page."""
    writer = NotebookWriter(docname, fignumbers, macros, site)
    code_cells = {i: c for i, c in enumerate(executed.cells) if c.cell_type == "code"}
    cells, placed = [], []
    for item, region in cells_of(writer.segments(doctree)):
        metadata = {"f2p": region} if region else {}
        if isinstance(item, str):
            cells.append(nbformat.v4.new_markdown_cell(item, metadata=metadata))
            continue
        if item.index not in code_cells:
            raise ValueError(f"{docname}: the page has code cell {item.index}, the notebook not")
        cell = copy.deepcopy(code_cells[item.index])
        tags = set(cell.metadata.get("tags", []))
        view = {}
        if tags & HIDDEN_INPUT_TAGS or item.collapsed:
            view["source_hidden"] = True
        if item.collapsed:
            view["outputs_hidden"] = True
        if view:
            cell.metadata["jupyter"] = view
        cell.metadata.update(metadata)
        cells.append(cell)
        placed.append(item.index)
    missing = sorted(set(code_cells) - set(placed))
    if missing or len(placed) != len(set(placed)):
        raise ValueError(f"{docname}: code cells {missing} have no place on the page (or repeat)")
    metadata = {k: v for k, v in executed.metadata.items() if k in ("kernelspec", "language_info")}
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=metadata)
    nbformat.validate(notebook)
    return notebook
