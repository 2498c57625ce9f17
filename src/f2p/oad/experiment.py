"""The comparison of chapter 06, shared by the notebook and ``benchmarks/ch06_online_detection.py``:
one seed builds an encoder (cached), streams with and without irrelevant actions, and trains
every detector on the same windows."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from f2p.oad import data, models, train

DETECTORS = ("chunk only", "GRU", "LSTM", "TRN", "IDN", "OadTR", "OadTR w/o task token",
             "OadTR w/o decoder")  # fmt: skip
SETTINGS = {"no distractors": False, "with distractors": True}
CURRENT_LABEL_ONLY = ("GRU", "LSTM", "TRN")
"""The sequence labellers that the benchmark also trains on the current chunk's label alone, the
supervision IDN and OadTR get (named e.g. ``"GRU, current label only"``)."""
EQUAL_SUPERVISION = tuple(f"{name}, current label only" for name in CURRENT_LABEL_ONLY)


@dataclass(frozen=True)
class Budget:
    """Sizes of one run; ``pick`` them from the profile."""

    train_streams: int = 30
    test_streams: int = 10
    encoder_clips: int = 1000
    encoder_epochs: int = 3
    epochs: int = 15
    window: int = 8
    future: int = 4
    stream: data.StreamConfig = field(default_factory=data.StreamConfig)


def build(name: str, dim: int, budget: Budget) -> nn.Module:
    """A fresh detector called ``name`` (one of :data:`DETECTORS` or :data:`EQUAL_SUPERVISION`)."""
    k, window, future = len(data.CLASSES), budget.window, budget.future
    every_step = name not in EQUAL_SUPERVISION
    base = name if every_step else name.split(",")[0]
    factories: dict[str, Callable[[], nn.Module]] = {
        "chunk only": lambda: models.ChunkClassifier(dim, k),
        "GRU": lambda: models.RNNDetector(dim, k, kind="gru", every_step=every_step),
        "LSTM": lambda: models.RNNDetector(dim, k, kind="lstm", every_step=every_step),
        "TRN": lambda: models.TRN(dim, k, future=future, every_step=every_step),
        "IDN": lambda: models.IDN(dim, k),
        "OadTR": lambda: models.OadTR(dim, k, window, future=future),
        "OadTR w/o task token": lambda: models.OadTR(
            dim, k, window, future=future, task_token=False
        ),  # fmt: skip
        "OadTR w/o decoder": lambda: models.OadTR(dim, k, window, decoder=False),
    }
    if base not in factories:
        raise ValueError(
            f"unknown detector {name!r}; expected one of {DETECTORS + EQUAL_SUPERVISION}"
        )
    return factories[base]()


@functools.lru_cache(maxsize=4)
def encoder(seed: int, budget: Budget, device: str = "cpu"):
    """The frozen chunk encoder of ``seed`` and its trimmed-chunk accuracy (computed once)."""
    return data.train_encoder(
        budget.encoder_clips, budget.stream, seed, budget.encoder_epochs, device=device
    )


def windows(seed: int, distractors: bool, budget: Budget, device: str = "cpu"):
    """Training and test windows (and the test streams' chunk features) of one seed."""
    enc, _ = encoder(seed, budget, device)
    config = budget.stream
    train_set = data.encode(
        enc, data.make_streams(budget.train_streams, distractors, config, seed), config.chunk,
        device=device,
    )  # fmt: skip
    test_set = data.encode(
        enc, data.make_streams(budget.test_streams, distractors, config, seed + 1_000),
        config.chunk, device=device,
    )  # fmt: skip
    return (
        train_set.windows(budget.window, budget.future),
        test_set.windows(budget.window, budget.future),
        test_set,
    )


@dataclass
class Run:
    evaluation: train.Evaluation
    seconds: float
    """training wall-clock"""
    model: nn.Module


def run(
    seed: int,
    distractors: bool,
    budget: Budget,
    names: tuple[str, ...] = DETECTORS,
    device: str = "cpu",
    progress: bool = True,
) -> tuple[dict[str, Run], data.ChunkStreams]:
    """Train and evaluate the detectors ``names`` on one seed's streams."""
    train_windows, test_windows, test_set = windows(seed, distractors, budget, device)
    results = {}
    for name in tqdm(names, desc=f"seed {seed}", disable=not progress):
        torch.manual_seed(seed)
        model = build(name, train_windows.x.shape[2], budget)
        history = train.fit(model, train_windows, budget.epochs, seed=seed, device=device)
        results[name] = Run(train.evaluate(model, test_windows, device), history.seconds, model)
    return results, test_set
