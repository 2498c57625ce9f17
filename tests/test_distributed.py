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


def train_video(wrap: bool = True) -> list[torch.Tensor]:
    train, test = toy_data()
    model = toy_model()
    if not wrap:  # a broken trainer: each process steps on its own shard's gradient
        distributed.wrap = lambda model, here, device="cpu": model
    train_classifier(model, train, test, epochs=2, batch=BATCH, lr=1e-2, progress=False)
    return [p.detach().clone() for p in model.parameters()]


def train_generative() -> list[torch.Tensor]:
    """NADE on 32 random 16-pixel images, minibatches of 8: a per-image mean loss."""
    from f2p import generative as g

    images = torch.bernoulli(torch.full((40, 16), 0.3), generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    model = g.NADE(16, 4)
    g.fit(model, images[:32], images[32:], g.FitConfig(epochs=2, batch_size=8), progress=False)
    return [p.detach().clone() for p in model.parameters()]


def train_llm_warmup() -> list[torch.Tensor]:
    """The GPT warm-up: a mean over response tokens, whose count differs between shards."""
    from f2p.llm.model import GPT, GPTConfig
    from f2p.llm.train import WarmupConfig, warmup

    torch.manual_seed(0)
    model = GPT(GPTConfig(layers=1, heads=2, width=16, context=40))
    warmup(model, WarmupConfig(digits=(1, 2), steps=3, batch=8, lr=1e-2), progress=False)
    return [p.detach().clone() for p in model.parameters()]


def train_detector() -> list[torch.Tensor]:
    """IDN on two short feature streams (its shards weigh their supervised steps equally)."""
    from f2p.oad import data, models, train

    gen = torch.Generator().manual_seed(0)
    labels = [torch.randint(len(data.CLASSES), (24,), generator=gen) for _ in range(2)]
    features = [torch.randn(24, 6, generator=gen) for _ in labels]
    windows = data.ChunkStreams(features, labels).windows(4)
    torch.manual_seed(0)
    model = models.IDN(6, len(data.CLASSES), 8, 8)
    history = train.fit(model, windows, epochs=3, batch=16)
    assert history.loss[-1] < history.loss[0]
    return [p.detach().clone() for p in model.parameters()]


TRAINERS = {
    "video": train_video,
    "generative": train_generative,
    "llm warm-up": train_llm_warmup,
    "online detection": train_detector,
}


# Every two-process run the tests compare, in one pair of processes (one process start, one
# rendezvous); the broken trainer comes last, since it replaces distributed.wrap for good.
RUNS = [*TRAINERS, "video without averaging"]


def _worker(rank: int, port: int, out: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2",
        LOCAL_RANK=str(rank),
    )  # fmt: skip
    torch.set_num_threads(1)
    for run in RUNS:
        params = train_video(wrap=False) if run == "video without averaging" else TRAINERS[run]()
        torch.save(params, Path(out) / f"{run}-rank{rank}.pt")
    torch.distributed.destroy_process_group()


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory) -> dict[str, list[list[torch.Tensor]]]:
    """Per run, each of the two processes' final parameters (half of every batch each)."""
    out = tmp_path_factory.mktemp("ranks")
    mp.spawn(_worker, args=(free_port(), str(out)), nprocs=2, join=True)
    return {run: [torch.load(out / f"{run}-rank{r}.pt") for r in range(2)] for run in RUNS}


@pytest.mark.parametrize("trainer", ["video", "generative", "llm warm-up"])
def test_two_processes_make_the_single_process_update(two_processes, trainer):
    single = TRAINERS[trainer]()  # one process, the whole batch
    for rank in two_processes[trainer]:
        for got, want in zip(rank, single, strict=True):
            torch.testing.assert_close(got, want, rtol=0, atol=1e-5)


def test_the_detectors_processes_stay_identical_and_learn(two_processes):
    first, second = two_processes["online detection"]  # fit asserts the loss fell
    for a, b in zip(first, second, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    single = train_detector()
    gap = max((a - b).abs().max().item() for a, b in zip(first, single, strict=True))
    assert gap < 0.05, gap  # close to one process: only the shards' weights differ


def test_without_gradient_averaging_the_processes_drift_apart(two_processes):
    single = train_video()
    gaps = [
        max((a - b).abs().max().item() for a, b in zip(r, single, strict=True))
        for r in two_processes["video without averaging"]
    ]
    assert min(gaps) > 1e-3, gaps


def test_world_reads_torchruns_environment_and_refuses_nonsense(monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    here = distributed.world()
    assert here == distributed.World(1, 2, 1) and not here.main
    assert distributed.shard(torch.arange(8), here).tolist() == [4, 5, 6, 7]
    assert distributed.shard(torch.arange(7), here).tolist() == [3, 4, 5]  # 6 left out
    with pytest.raises(ValueError, match="at least the number of processes"):
        distributed.shard(torch.arange(1), here)
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
