"""Every chapter notebook runs top to bottom in the fast profile, without the network."""

from __future__ import annotations

import pytest

from f2p_tools.runner import CHAPTERS, chapter_notebooks, execute, store_in_book_cache

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
    stderr = [
        f"code cell {i}: {output['text'][:300]}"
        for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code")
        for output in cell.get("outputs", [])
        if output.get("name") == "stderr"
    ]
    assert not stderr, f"{path.name} writes to stderr, which its page would show:\n" + "\n".join(
        stderr
    )
    store_in_book_cache(path, nb, seconds)
