"""What a reader has: the site's wheel and its dependencies, and nothing of this repository
(a view of this environment), shared by the packaging and reader's-path tests."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

from f2p_tools import book as f2p_book
from f2p_tools.runner import ROOT

SITE = ROOT / "_build" / "html"


# The reader's path runs chapter 00 (12 s; chapter 03, which reads its results table, takes about
# 3 minutes) and then what chapters 03-11 use the package for: its results, its source.
CHAPTER = "chapters/00_getting_started/getting_started"


def chapter_pages() -> list[str]:
    pages = ROOT.glob("chapters/*/*.md")
    return sorted(p.relative_to(ROOT).with_suffix("").as_posix() for p in pages)


def requirements_of(wheel: Path) -> list[str]:
    """The ``Requires-Dist`` lines of ``wheel`` that a plain ``pip install`` of it installs (no
    extras)."""
    from packaging.requirements import Requirement

    with zipfile.ZipFile(wheel) as zipped:
        name = next(n for n in zipped.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = zipped.read(name).decode()
    found = re.findall(r"^Requires-Dist: (.+)$", metadata, flags=re.MULTILINE)
    return [r for r in found if Requirement(r).marker is None or Requirement(r).marker.evaluate()]


def installed_closure(requirements: list[str]) -> set[str]:
    """The distributions of this environment that ``pip install`` of ``requirements`` would
    bring: the requirements and, recursively, theirs, with the extras they ask for (nbconvert
    asks for ``bleach[css]``, whose ``css`` extra brings tinycss2; markers evaluated)."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: set[tuple[str, str]] = set()  # (distribution, extra or "")
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        requirement, parent_extra = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": parent_extra}):
            continue
        name = canonicalize_name(requirement.name)
        for extra in {"", *requirement.extras} - {e for n, e in seen if n == name}:
            seen.add((name, extra))
            todo += [(Requirement(r), extra) for r in metadata.distribution(name).requires or []]
    return {name for name, _ in seen}


def reader_view(tmp_path: Path, wheel: Path) -> Path:
    """A folder of links to what a reader has after ``pip install`` of the site's wheel and of
    :data:`f2p_book.READER_PACKAGES` (the run line's ``jupyterlab``), taken from this
    environment: the wheel's dependencies and theirs, and nothing else (no ``book`` or ``dev``
    extra, no ``f2p``)."""
    from importlib import metadata

    from packaging.utils import canonicalize_name

    wanted = installed_closure(requirements_of(wheel) + list(f2p_book.READER_PACKAGES) + ["pip"])
    view = tmp_path / "site-packages-view"
    view.mkdir()
    for dist in metadata.distributions():
        if canonicalize_name(dist.metadata["Name"]) not in wanted:
            continue
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops - {"__pycache__"}:
            entry = Path(dist.locate_file(top))
            if entry.exists() and not (view / top).exists():
                (view / top).symlink_to(entry)
    return view


def reader_python(tmp_path: Path, wheel: Path | None = None) -> Path:
    """A virtual environment in which ``f2p`` is not importable and which sees, through a view of
    this environment, only what a reader installs: the dependencies of ``wheel`` (by default the
    site's) and the run line's packages (:func:`reader_view`)."""
    wheel = wheel or SITE / f2p_book.DOWNLOADS / f2p_book.WHEEL
    venv = tmp_path / "reader-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    view = reader_view(tmp_path, wheel)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "view.pth").write_text(f"{view}\n")
    return python
