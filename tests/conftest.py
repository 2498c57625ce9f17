"""Session set-up: one torch thread per test process; notebook run times reported at the end."""

from __future__ import annotations

import torch

# pytest-xdist runs two test processes on the two cores: small models run several times slower
# when each process also asks for two threads (measured here: tests/test_rl.py took 6 s alone
# and 117 s beside another busy process).
torch.set_num_threads(1)

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
