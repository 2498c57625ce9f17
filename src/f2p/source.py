"""The package's source as the chapters show it: :func:`show_source` returns a function's or
class's code from the installed package (a :class:`Source`, shown as a highlighted block), so a
chapter shows the code it runs, on the site and in any notebook. Chapters call it as
``f2p.utils.show_source``.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Source:
    """A function's or class's source code, shown by notebooks as a highlighted Python block."""

    name: str
    code: str

    def _repr_markdown_(self) -> str:
        runs = re.findall(r"`+", self.code)
        fence = "`" * max(3, 1 + max(map(len, runs), default=0))
        return f"{fence}python\n{self.code.rstrip()}\n{fence}"

    def __repr__(self) -> str:
        return self.code.rstrip()


def show_source(
    dotted_name: str, first_lines: int | None = None, import_module: bool = True
) -> Source:
    """The source of ``dotted_name`` (a function, class or method, e.g.
    ``"f2p.rl.trpo.conjugate_gradient"`` or ``"f2p.oad.models.IDUCell.forward"``), imported from
    the installed package, so a chapter shows the code it runs, in the site and in any notebook;
    only its ``first_lines`` when given. ``import_module=False`` reads the installed module's
    file instead of importing it: for modules whose optional dependencies are slow to import or
    absent (``f2p.llm.trl_bridge``)."""
    code = _source_from_import(dotted_name) if import_module else _source_from_file(dotted_name)
    lines = code.splitlines(keepends=True)[:first_lines]
    return Source(dotted_name, textwrap.dedent("".join(lines)))


def _source_from_import(dotted_name: str) -> str:
    """The source of a function, class or method, found by importing the longest importable
    module prefix of ``dotted_name`` and following the attributes after it."""
    parts = dotted_name.split(".")
    for split in range(len(parts) - 1, 0, -1):  # the longest importable module prefix
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attribute in parts[split:]:
                obj = getattr(obj, attribute)
            return inspect.getsource(obj)
        except (AttributeError, TypeError, OSError) as err:
            raise ValueError(f"show_source({dotted_name!r}): {err}") from err
    raise ValueError(
        f"show_source: expected 'package.module.name' of a function, class or method, "
        f"got {dotted_name!r}"
    )


def _imported_from(module: ast.AST, name: str) -> str | None:
    """``package.module.name`` where ``module`` (a parsed module) imports ``name`` from (an
    absolute ``from package.module import name``), or ``None``."""
    for child in getattr(module, "body", []):
        if isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
            for alias in child.names:
                if (alias.asname or alias.name) == name:
                    return f"{child.module}.{alias.name}"
    return None


def _source_from_file(dotted_name: str) -> str:
    """The source lines (decorators included) of a function, class or method, found in its
    module's file by parsing it, never importing the module itself (only its parent packages);
    a name the module imports from another module of the package is read in that one's file."""
    parts = dotted_name.split(".")
    for split in range(1, len(parts)):
        spec = importlib.util.find_spec(".".join(parts[:split]))
        if spec is None or spec.origin is None:
            break
        if spec.submodule_search_locations is None:  # a module, not a package: its file
            text = Path(spec.origin).read_text(encoding="utf-8")
            node: ast.AST = ast.parse(text)
            for depth, name in enumerate(parts[split:]):
                found = [
                    child
                    for child in getattr(node, "body", [])
                    if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                    and child.name == name
                ]
                origin = _imported_from(node, name) if depth == 0 else None
                if not found and origin:  # e.g. f2p.utils.Source: read it where it is written
                    return _source_from_file(".".join([origin, *parts[split + 1 :]]))
                if not found:
                    raise ValueError(f"show_source({dotted_name!r}): no {name!r} in {spec.origin}")
                node = found[0]
            start = min([d.lineno for d in node.decorator_list] + [node.lineno])
            return "".join(text.splitlines(keepends=True)[start - 1 : node.end_lineno])
    raise ValueError(f"show_source: no module file found for {dotted_name!r}")
