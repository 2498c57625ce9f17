"""Report the run time of each notebook at the end of the session."""

from __future__ import annotations

_notebook_times: dict[str, float] = {}


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
