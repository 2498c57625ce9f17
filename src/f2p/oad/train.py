"""Training, streaming inference and evaluation of the online detectors (chapter 06)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from f2p import distributed
from f2p.oad import metrics
from f2p.oad.data import IGNORE, ChunkStreams, Windows


@dataclass
class FitHistory:
    loss: list[float] = field(default_factory=list)
    seconds: float = 0.0


def fit(
    model: nn.Module,
    train: Windows,
    epochs: int = 10,
    batch: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
    device="cpu",
    progress: bool = False,
) -> FitHistory:
    """Adam on ``model.loss`` over shuffled windows, one-cycle learning rate, gradients
    clipped to norm 1 (recurrent nets need it). Under ``torchrun`` each process trains on its
    share of every batch with gradients averaged (:mod:`f2p.distributed`); each share's loss is
    the mean over its own supervised steps, so the shares are weighted equally where one process
    would weight them by their steps (they differ only for windows at a stream's ends)."""
    here, device, objective = distributed.prepare(model, device, method="loss")
    model.train()
    gen = torch.Generator().manual_seed(seed)  # the same permutation in every process
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * -(-len(train) // batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=steps)
    history = FitHistory()
    tick = time.perf_counter()
    xs, ys, lengths = (t.to(device) for t in (train.x, train.y, train.lengths))  # moved once
    for _ in tqdm(range(epochs), desc=type(model).__name__, disable=not progress or not here.main):
        total = torch.zeros((), dtype=torch.float64, device=device)  # read once per epoch
        for idx in torch.randperm(len(train), generator=gen).split(batch):
            idx = distributed.shard(idx, here).to(device)
            loss = objective(xs[idx], ys[idx], lengths[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            total += loss.detach().double() * len(idx)
        history.loss.append(distributed.total(float(total), here, device) / len(train))
    history.seconds = time.perf_counter() - tick
    return history


@torch.no_grad()
def predict(model: nn.Module, windows: Windows, batch: int = 1024, device="cpu") -> torch.Tensor:
    """Class probabilities of every window's current chunk (N, K+1)."""
    model.to(device).eval()
    out = [
        model(windows.x[i : i + batch].to(device), windows.lengths[i : i + batch].to(device))
        for i in range(0, len(windows), batch)
    ]
    return torch.softmax(torch.cat(out), -1).cpu()


@torch.no_grad()
def stream_scores(model: nn.Module, features: torch.Tensor, length: int) -> torch.Tensor:
    """Online inference on one stream (L, D): the score of chunk t uses chunks <= t only."""
    labels = torch.zeros(len(features), dtype=torch.long)
    return predict(model, ChunkStreams([features], [labels]).windows(length))


@dataclass
class Evaluation:
    map: float
    """per-frame mAP over the action classes (THUMOS'14 protocol)"""
    mcap: float
    """mean calibrated AP (TVSeries protocol)"""
    anticipation: list[float] | None
    """per-frame mAP of the prediction made i = 1.. chunks ahead, for anticipating models"""


@torch.no_grad()
def evaluate(model: nn.Module, test: Windows, device="cpu") -> Evaluation:
    probs = predict(model, test, device=device)
    current = test.current
    anticipation = None
    if getattr(model, "future", 0) and hasattr(model, "anticipate"):
        x, lengths = test.x.to(device), test.lengths.to(device)
        ahead = torch.softmax(model.anticipate(x, lengths), -1).cpu()
        t = test.x.shape[1]
        anticipation = []
        for i in range(ahead.shape[1]):
            labels = test.y[:, t + i]
            keep = labels != IGNORE
            anticipation.append(metrics.frame_map(ahead[keep, i], labels[keep])[0])
    return Evaluation(
        metrics.frame_map(probs, current)[0],
        metrics.frame_map(probs, current, calibrated=True)[0],
        anticipation,
    )
