"""f2p.parallel: independent runs in spawned processes give what one process gives, in order."""

from __future__ import annotations

from functools import partial

import psutil
import pytest
import torch

from f2p import parallel, utils
from f2p.rl import ddpg

TINY = ddpg.DDPGConfig(
    total_steps=120, learning_starts=40, hidden=(8,), batch_size=8, eval_every=60,
    eval_episodes=1,
)  # fmt: skip


def test_runs_in_processes_match_runs_in_turn_call_by_call():
    train = partial(ddpg.train_ddpg, device="cpu", progress=False)
    calls = [(TINY, 0), (TINY, 1)]
    in_turn = parallel.map_runs(train, calls, processes=1)
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    at_once = parallel.map_runs(train, calls, processes=2)
    # nothing left behind: a Jupyter kernel signals its leftover children for 15 s at shutdown
    # (multiprocessing's resource tracker ignores SIGTERM) and is killed before its exit handlers
    assert {child.pid for child in psutil.Process().children(recursive=True)} <= before
    assert in_turn[0][1].eval_returns != in_turn[1][1].eval_returns  # the seeds differ
    for (agent_a, history_a), (agent_b, history_b) in zip(in_turn, at_once, strict=True):
        assert history_a.eval_returns == history_b.eval_returns  # and in the calls' order
        for a, b in zip(agent_a.parameters(), agent_b.parameters(), strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_a_failing_run_is_raised_and_a_notebook_function_refused():
    with pytest.raises(ValueError, match="invalid literal for int"):
        parallel.map_runs(int, [("1",), ("one",)], processes=2)
    with pytest.raises(ValueError, match="import it by name: pass a package function"):
        parallel.map_runs(lambda seed: seed, [(0,), (1,)], processes=2)
    with pytest.raises(ValueError, match="processes must be a positive int, got 0"):
        parallel.map_runs(int, [("1",)], processes=0)


def test_the_profile_runs_one_at_a_time_when_fast_and_one_per_thread_when_full(monkeypatch):
    monkeypatch.delenv("F2P_PROCESSES", raising=False)
    monkeypatch.setenv("F2P_THREADS", "3")
    assert utils.profile("fast").processes == 1
    assert utils.profile("full").processes == 3
    monkeypatch.setenv("F2P_PROCESSES", "2")
    assert utils.profile("fast").processes == 2
    monkeypatch.setenv("F2P_PROCESSES", "many")
    with pytest.raises(ValueError, match="F2P_PROCESSES='many': expected a positive integer"):
        utils.profile("full")
