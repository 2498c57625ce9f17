"""A source-level check for one MyST pitfall: a list marker inside inline math.

Inline math that spans lines (``$a\n+ b$``) is split by the Markdown parser when a continuation
line starts with ``+``, ``-``, ``*`` or ``1.``: that line opens a list item, the ``$`` span is
never closed, and the page shows raw TeX. This module finds such lines in the sources, before the
build. Code blocks, ``{math}`` directives and ``$$`` display blocks are skipped (their lines are
not parsed as Markdown); prose inside directives such as ``{prf:proof}`` is checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})\s*(\S*)")
# Fences whose body is not Markdown prose: code, math, included files, raw output.
VERBATIM = re.compile(
    r"^(\{(code-cell|code|code-block|math|literalinclude|raw|eval-rst)\}|[\w+-]*)$"
)
LIST_MARKER = re.compile(r"^\s*([+*-]|\d+[.)])(\s|$)")
INLINE_CODE = re.compile(r"`+[^`]*`+")
DOLLAR = re.compile(r"(?<!\\)\$\$?")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: list marker inside inline math: {self.text.strip()}"


def list_markers_in_math(text: str, path: str = "<text>") -> list[Finding]:
    """Lines that start with a list marker while a ``$``/``$$`` span opened earlier in the same
    paragraph is still open."""
    findings: list[Finding] = []
    lines = text.splitlines()
    start = 0
    if lines and lines[0].strip() == "---":  # front matter
        start = next((i + 1 for i in range(1, len(lines)) if lines[i].strip() == "---"), 0)
    directives: list[str] = []  # open fences of directives whose body is prose
    fence: str | None = None  # closing marker of the verbatim block we are in
    display = False  # inside a $$ ... $$ block that starts a line
    open_math = False
    for number, line in enumerate(lines[start:], start=start + 1):
        if fence is not None:
            if line.strip().startswith(fence) and not line.strip()[len(fence) :].strip():
                fence = None
            continue
        match = FENCE.match(line)
        if match:
            open_math = False
            marker, info = match.groups()
            if not info and marker in directives:  # closes the innermost prose directive
                while directives.pop() != marker:
                    pass
            elif VERBATIM.match(info):
                fence = marker
            else:
                directives.append(marker)
            continue
        stripped = line.strip()
        if display:
            display = not stripped.endswith("$$")
            continue
        if stripped.startswith("$$") and not open_math:
            display = not (len(stripped) > 2 and stripped.endswith("$$"))
            continue
        if not stripped:
            open_math = False
            continue
        if open_math and LIST_MARKER.match(line):
            findings.append(Finding(path, number, line))
        for _ in DOLLAR.finditer(INLINE_CODE.sub("", line)):
            open_math = not open_math
    return findings


def check_sources(paths: list[Path]) -> list[Finding]:
    return [
        finding
        for path in paths
        for finding in list_markers_in_math(path.read_text(encoding="utf-8"), str(path))
    ]
