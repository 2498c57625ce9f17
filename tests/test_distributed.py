"""Data-parallel training (f2p.distributed) with two gloo processes on the CPU: the same update as
one process with the whole batch, a run that learns, and files written by rank 0 only."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from f2p import distributed
from f2p.video.data import ClipTensors
from f2p.video.train import train_classifier

ROOT = Path(__file__).resolve().parents[1]
CLASSES, BATCH, CLIPS = 3, 8, 48


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def toy_data() -> tuple[ClipTensors, ClipTensors]:
    gen = torch.Generator().manual_seed(0)
    clips = torch.randn(CLIPS, 4, 2, 6, 6, generator=gen)
    labels = (clips.mean(dim=(1, 2, 3, 4)) > 0).long() + (clips[:, 0, 0, 0, 0] > 0).long()
    return ClipTensors(clips, labels), ClipTensors(clips[:12], labels[:12])


def toy_model() -> nn.Module:
    """A small network without BatchNorm, whose statistics would differ per shard."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Flatten(0, 1),  # (N*T, C, H, W)
        nn.Conv2d(2, 4, 3),
        nn.ReLU(),
        nn.Flatten(1),
        nn.Unflatten(0, (-1, 4)),  # (N, T, features)
        nn.Flatten(1),
        nn.Linear(4 * 4 * 16, CLASSES),
    )


def train_toy(wrap: bool) -> list[torch.Tensor]:
    train, test = toy_data()
    model = toy_model()
    if not wrap:  # a broken trainer: each process steps on its own shard's gradient
        distributed.wrap = lambda model, here, device="cpu": model
    train_classifier(model, train, test, epochs=2, batch=BATCH, lr=1e-2, progress=False)
    return [p.detach().clone() for p in model.parameters()]


def _worker(rank: int, port: int, wrap: bool, out: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2",
        LOCAL_RANK=str(rank),
    )  # fmt: skip
    torch.set_num_threads(1)
    params = train_toy(wrap)
    torch.save(params, Path(out) / f"rank{rank}.pt")
    torch.distributed.destroy_process_group()


def two_processes(tmp_path: Path, wrap: bool) -> list[list[torch.Tensor]]:
    mp.spawn(_worker, args=(free_port(), wrap, str(tmp_path)), nprocs=2, join=True)
    return [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]


def test_two_processes_make_the_single_process_update(tmp_path):
    single = train_toy(wrap=True)  # one process, batch 8
    ranks = two_processes(tmp_path, wrap=True)  # two processes, 4 clips each per batch
    for rank in ranks:
        for got, want in zip(rank, single, strict=True):
            torch.testing.assert_close(got, want, rtol=0, atol=1e-5)


def test_without_gradient_averaging_the_processes_drift_apart(tmp_path):
    ranks = two_processes(tmp_path, wrap=False)
    single = train_toy(wrap=True)
    gaps = [max((a - b).abs().max().item() for a, b in zip(r, single, strict=True)) for r in ranks]
    assert min(gaps) > 1e-3, gaps


def test_world_reads_torchruns_environment_and_refuses_nonsense(monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    here = distributed.world()
    assert here == distributed.World(1, 2, 1) and not here.main
    assert distributed.shard(torch.arange(8), here).tolist() == [4, 5, 6, 7]
    with pytest.raises(ValueError, match="equal shards"):
        distributed.shard(torch.arange(7), here)
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(ValueError, match="RANK < WORLD_SIZE"):
        distributed.world()
    monkeypatch.setenv("RANK", "one")
    with pytest.raises(ValueError, match="integers"):
        distributed.world()


def test_a_torchrun_training_run_learns_and_only_rank_0_writes(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "F2P_PROFILE": "fast"}
    subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(ROOT / "benchmarks" / "ch02_ddp.py"), "--worker", "--out", str(out),
         "--clips", "320", "--epochs", "4"],
        check=True, capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == ["run.json"]
    run = json.loads((out / "run.json").read_text())
    assert run["processes"] == 2
    assert run["test_accuracy"] > 1.5 / run["classes"], run  # well above chance
