"""Training and evaluation loops for the video chapters, and TSN's segment sampling."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from f2p import distributed, utils
from f2p.video import models
from f2p.video.data import ClipTensors

Transform = Callable[[torch.Tensor], torch.Tensor]


def segment_indices(
    frames: int, segments: int, train: bool, gen: torch.Generator | None = None
) -> torch.Tensor:
    """TSN's sparse sampling: split ``frames`` into ``segments`` equal spans and take one frame
    from each, at random in training and at the centre of the span at test time."""
    if not 1 <= segments <= frames:
        raise ValueError(f"need 1 <= segments <= frames, got {segments} segments, {frames} frames")
    edges = torch.linspace(0, frames, segments + 1)
    lo, hi = edges[:-1], edges[1:]
    if train:
        pick = lo + torch.rand(segments, generator=gen) * (hi - lo)
    else:
        pick = (lo + hi) / 2
    return pick.floor().long().clamp(max=frames - 1)


def window_indices(
    frames: int, length: int, train: bool, gen: torch.Generator | None = None
) -> torch.Tensor:
    """Dense sampling, TSN's foil: ``length`` consecutive frames, starting at random in training
    and in the middle of the video at test time."""
    if not 1 <= length <= frames:
        raise ValueError(f"need 1 <= length <= frames, got length {length}, {frames} frames")
    start = (
        torch.randint(frames - length + 1, (), generator=gen) if train else (frames - length) // 2
    )
    return start + torch.arange(length)


class FrameSampler(nn.Module):
    """Feed ``model`` ``segments`` frames of each clip (N, F, C, H, W), drawn per clip: TSN's
    sparse segment sampling (:func:`segment_indices`) or, with ``sparse=False``, a window of
    consecutive frames (:func:`window_indices`). Random in training mode, fixed in eval mode.
    The model's cost is the same either way: it sees ``segments`` frames."""

    def __init__(self, model: nn.Module, segments: int, sparse: bool = True, seed: int = 0):
        super().__init__()
        self.model, self.segments, self.sparse = model, segments, sparse
        self.gen = torch.Generator().manual_seed(seed)

    def indices(self, clips: int, frames: int) -> torch.Tensor:
        """(clips, segments) frame indices for a batch."""
        pick = segment_indices if self.sparse else window_indices
        return torch.stack(
            [pick(frames, self.segments, self.training, self.gen) for _ in range(clips)]
        )

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        idx = self.indices(clips.shape[0], clips.shape[1]).to(clips.device)
        return self.model(clips[torch.arange(len(clips), device=clips.device)[:, None], idx])


@dataclass
class TrainHistory:
    loss: list[float] = field(default_factory=list)
    """mean training loss of each epoch"""
    test_accuracy: list[float] = field(default_factory=list)
    """test accuracy after each evaluated epoch (the last one always)"""
    seconds: float = 0.0
    """training wall-clock (evaluation excluded)"""


@torch.no_grad()
def accuracy(
    model: nn.Module,
    data: ClipTensors,
    transform: Transform | None = None,
    batch: int = 256,
    device="cpu",
) -> float:
    """Top-1 accuracy of ``model`` on ``data`` (inputs passed through ``transform`` first)."""
    model.eval()
    correct = 0
    for start in range(0, len(data), batch):
        clips = data.clips[start : start + batch].to(device)
        clips = transform(clips) if transform else clips
        correct += (model(clips).argmax(1).cpu() == data.labels[start : start + batch]).sum()
    return correct.item() / len(data)


def train_classifier(
    model: nn.Module,
    train: ClipTensors,
    test: ClipTensors,
    epochs: int = 8,
    batch: int = 32,
    lr: float = 1e-2,
    transform: Transform | None = None,
    partial_bn: bool = False,
    seed: int = 0,
    device="cpu",
    progress: bool = True,
    eval_every: int = 1,
    bf16: bool | None = None,
) -> TrainHistory:
    """Adam with cross-entropy on ``train`` and a one-cycle learning-rate schedule (warm-up to
    ``lr``, then annealing); test accuracy after every ``eval_every`` epochs and after the last.
    ``partial_bn``: TSN's partial batch normalisation (:func:`f2p.video.models.partial_bn`)
    during training. Under ``torchrun`` each of the processes trains on its share of every
    batch of ``batch`` clips, with gradients averaged (:mod:`f2p.distributed`); only rank 0
    draws the progress bar. ``bf16``: the training step under bf16 autocast (:func:`f2p.utils.
    autocast`; ``None``: as the profile says); the test accuracy is measured in float32."""
    if eval_every < 1:
        raise ValueError(f"eval_every must be >= 1, got {eval_every}")
    here, device, net = distributed.prepare(model, device)
    gen = torch.Generator().manual_seed(seed)  # the same permutation in every process
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    steps = epochs * -(-len(train) // batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=steps)
    history = TrainHistory()
    all_clips, all_labels = train.clips.to(device), train.labels.to(device)  # moved once
    for epoch in tqdm(
        range(epochs), desc=type(model).__name__, disable=not progress or not here.main
    ):
        tick = time.perf_counter()
        total = torch.zeros((), dtype=torch.float64, device=device)  # read once per epoch
        model.train()
        if partial_bn:
            models.partial_bn(model)
        for idx in torch.randperm(len(train), generator=gen).split(batch):
            idx = distributed.shard(idx, here).to(device)
            clips = transform(all_clips[idx]) if transform else all_clips[idx]
            with utils.autocast(device, bf16):
                loss = F.cross_entropy(net(clips), all_labels[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.detach().double() * len(idx)
        history.seconds += time.perf_counter() - tick
        history.loss.append(distributed.total(float(total), here, device) / len(train))
        if (epoch + 1) % eval_every == 0 or epoch + 1 == epochs:
            history.test_accuracy.append(accuracy(model, test, transform, device=device))
    return history
