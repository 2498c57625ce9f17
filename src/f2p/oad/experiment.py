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

from f2p.oad import data, metrics, models, train

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
        "TRN": lambda: models.TemporalRecurrentNet(dim, k, future=future, every_step=every_step),
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


def encoded_streams(
    seed: int, distractors: bool, budget: Budget, test: bool = False, device: str = "cpu"
) -> data.ChunkStreams:
    """The chunk features of seed ``seed``'s training streams (or, ``test``, its test streams,
    drawn from seed + 1000), through that seed's frozen encoder."""
    enc, _ = encoder(seed, budget, device)
    count, stream_seed = (
        (budget.test_streams, seed + 1_000) if test else (budget.train_streams, seed)
    )
    streams = data.make_streams(count, distractors, budget.stream, stream_seed)
    return data.encode(enc, streams, budget.stream.chunk, device=device)


def windows(seed: int, distractors: bool, budget: Budget, device: str = "cpu"):
    """Training and test windows (and the test streams' chunk features) of one seed."""
    train_set = encoded_streams(seed, distractors, budget, device=device)
    test_set = encoded_streams(seed, distractors, budget, test=True, device=device)
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


ADMISSION_GROUPS = (
    "same class as the current chunk",
    "irrelevant: reversal of the current class",
    "irrelevant: reversal of another class",
    "background",
)
ADMISSION_MEASURES = ("share let in", "weight in the final state")


def final_weights(z: torch.Tensor) -> torch.Tensor:
    """a_{0,s} = (1 - z_s) prod_{u > s} z_u (proposition ch06-prop-gru) from update gates
    z (B, T, hidden) of a window's steps s = -T+1 .. 0: the weight of step s's candidate in the
    last state."""
    later = torch.cat([z[:, 1:], z.new_ones(len(z), 1, z.shape[2])], 1)
    return (1 - z) * later.flip(1).cumprod(1).flip(1)


@torch.no_grad()
def admission(
    model: nn.Module, test_set: data.ChunkStreams, window: int, measure: str = "share let in"
) -> dict[str, float]:
    """How much of a past chunk's candidate the state keeps, averaged over hidden units and over
    the past chunks s < 0 of every test window whose current chunk is an action of interest,
    grouped by what chunk s holds (:data:`ADMISSION_GROUPS`). ``measure``: ``"share let in"`` is
    1 - z_s, the share of chunk s's candidate that enters the state at step s (eq. ch06-gru;
    IDN's z_s from eq. ch06-idu); ``"weight in the final state"`` is a_{0,s} = (1 - z_s)
    prod_{u > s} z_u, the weight chunk s's candidate still has in the state that classifies the
    current chunk (proposition ch06-prop-gru). Irrelevant chunks are split by whether they are
    the time reversal of the current chunk's class: a direction-blind chunk feature cannot tell
    those from the class itself, so neither can a gate that reads (e_s, e_0) only.
    ``model`` has ``update_gates`` (the GRU detector, IDN)."""
    if measure not in ADMISSION_MEASURES:
        raise ValueError(f"measure must be one of {ADMISSION_MEASURES}, got {measure!r}")
    w = test_set.windows(window)
    irrelevant = test_set.irrelevant_windows(window)
    reversal = test_set.reversal_windows(window)
    keep = w.current > 0
    y, irrelevant, reversal = w.y[keep, :window], irrelevant[keep], reversal[keep]
    z = model.cpu().eval().update_gates(w.x[keep])  # (N, T, hidden)
    if measure == "share let in":
        kept = 1 - z
    else:
        kept = final_weights(z)
    kept = kept.mean(-1)
    past = (y != data.IGNORE) & (torch.arange(window) < window - 1)
    current = y[:, -1:]
    groups = (
        y == current,
        irrelevant & (reversal == current),
        irrelevant & (reversal != current),
        (y == 0) & ~irrelevant,
    )
    return {
        name: float(kept[past & group].mean()) if bool((past & group).any()) else float("nan")
        for name, group in zip(ADMISSION_GROUPS, groups, strict=True)
    }


@torch.no_grad()
def anticipation_baselines(
    model: nn.Module, test: data.Windows, future: int, device: str = "cpu"
) -> dict[str, list[float]]:
    """Per-frame mAP, i = 1..``future`` chunks ahead, of two guesses that anticipate nothing:
    a constant score for every class (all frames tied: its AP is the class's share of the
    frames) and the present's scores carried forward (``model``'s current-chunk
    probabilities read as the prediction i chunks ahead)."""
    present = train.predict(model, test, device=device)
    t = test.x.shape[1]
    out: dict[str, list[float]] = {"constant guess": [], "present carried forward": []}
    for i in range(future):
        labels = test.y[:, t + i]
        keep = labels != data.IGNORE
        constant = torch.zeros(int(keep.sum()), present.shape[1])
        out["constant guess"].append(metrics.frame_map(constant, labels[keep])[0])
        out["present carried forward"].append(metrics.frame_map(present[keep], labels[keep])[0])
    return out


IDN_GRID = {"contrastive": (0.01, 0.1, 1.0), "margin": (0.5, 1.0, 2.0)}
"""lambda and m tried on the validation streams (``benchmarks/ch06_idn_tuning.py``)."""


def idn_validation(
    seed: int,
    distractors: bool,
    budget: Budget,
    contrastive: float,
    margin: float,
    validation_streams: int = 6,
    device: str = "cpu",
) -> float:
    """Per-frame mAP of an IDN with weight ``contrastive`` and margin ``margin``, trained on
    the first ``train_streams - validation_streams`` training streams of ``seed`` and scored
    on the other ``validation_streams``: the test streams are never read."""
    streams = encoded_streams(seed, distractors, budget, device=device)
    cut = budget.train_streams - validation_streams
    if not 0 < cut < budget.train_streams:
        raise ValueError(f"need 0 < validation_streams < {budget.train_streams}")
    fit_set = data.ChunkStreams(streams.features[:cut], streams.labels[:cut])
    val_set = data.ChunkStreams(streams.features[cut:], streams.labels[cut:])
    train_windows = fit_set.windows(budget.window, budget.future)
    torch.manual_seed(seed)
    model = models.IDN(streams.dim, len(data.CLASSES), margin=margin, contrastive=contrastive)
    train.fit(model, train_windows, budget.epochs, seed=seed, device=device)
    return train.evaluate(model, val_set.windows(budget.window, budget.future), device).map
