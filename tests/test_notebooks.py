"""Every chapter notebook runs top to bottom in the fast profile, without the network."""

from __future__ import annotations

import pytest

from notebooks import CHAPTERS, chapter_notebooks, execute, store_in_book_cache

NOTEBOOKS = chapter_notebooks()


def test_chapters_have_notebooks():
    assert NOTEBOOKS, f"no MyST notebooks found under {CHAPTERS}"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(CHAPTERS)) for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, record_property):
    network_log = tmp_path / "network.log"
    nb, seconds = execute(path, network_log)
    record_property("notebook_seconds", round(seconds, 1))
    attempts = network_log.read_text() if network_log.exists() else ""
    assert not attempts, f"{path.name} tried to reach the network:\n{attempts}"
    store_in_book_cache(path, nb, seconds)
