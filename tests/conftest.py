"""Session set-up: one torch thread per test process; notebook run times reported at the end;
the package's wheel, built once per test process for the tests that install it."""

from __future__ import annotations

import pytest
import torch

# pytest-xdist runs two test processes on the two cores: small models run several times slower
# when each process also asks for two threads (measured here: tests/test_rl.py took 6 s alone
# and 117 s beside another busy process).
torch.set_num_threads(1)

_notebook_times: dict[str, float] = {}


@pytest.fixture(scope="session")
def wheel(tmp_path_factory):
    """The package's wheel, as the site serves it (tests/test_packaging.py and
    tests/test_readers_path.py install it)."""
    from f2p_tools.book import build_wheel

    return build_wheel(tmp_path_factory.mktemp("wheel"))


def pytest_runtest_logreport(report):
    if report.when == "call":
        for key, value in report.user_properties:
            if key == "notebook_seconds":
                _notebook_times[report.nodeid] = value


def pytest_terminal_summary(terminalreporter):
    if _notebook_times:
        terminalreporter.section("notebook run times (fast profile, seconds)")
        for nodeid, seconds in sorted(_notebook_times.items(), key=lambda kv: -kv[1]):
            terminalreporter.write_line(f"{seconds:8.1f}  {nodeid}")


@pytest.hookimpl(trylast=True)  # after the -m selection, so the halves are the run's
def pytest_collection_modifyitems(items):
    """Put the chapter notebooks (2-4 minutes each) at the head of each worker's half of the
    collection, longest first, dealt alternately: pytest-xdist's work stealing first splits the
    collection into contiguous halves, and a long notebook left for the end would run alone while
    the other worker sits idle. Their lengths are the fast profile's last suite run
    (``f2p/data/suite/fast.json``)."""
    import json

    from f2p.results import SUITE_DIR

    summary = SUITE_DIR / "fast.json"
    seconds = {}
    if summary.is_file():
        seconds = {
            job["name"]: job["seconds"] or 0 for job in json.loads(summary.read_text())["jobs"]
        }
    notebooks = [item for item in items if item.get_closest_marker("notebook")]
    if not notebooks:
        return
    notebooks.sort(key=lambda item: -seconds.get(item.callspec.params["path"].parent.name, 0))
    others = [item for item in items if not item.get_closest_marker("notebook")]
    first, second = notebooks[0::2], notebooks[1::2]
    split = max(0, len(items) // 2 - len(first))
    items[:] = first + others[:split] + second + others[split:]
