"""Procedural video clips for the video chapters (01-03): digit sprites that move.

Each clip shows one of scikit-learn's 8x8 digits (shipped with the package), upscaled, moving in
one of ten ways that form five time-reversed pairs:

    right / left, down / up, approach / recede (grows / shrinks), clockwise / counter-clockwise
    rotation, appear / disappear (fades in / out),

plus a dim square drifting in a random direction (a distractor motion) and Gaussian pixel noise. Two
label sets mirror the two kinds of benchmark:

- ``"appearance"`` (Kinetics-like): the label is the digit (what is in the frames), whatever the
  motion;
- ``"temporal"`` (Something-Something-like): the label is the motion (how the frames change),
  whatever the digit. Each motion's partner is its exact time reversal, so no single frame, and
  no order-free summary of the frames, can tell the pair apart.
- ``"hard"`` (chapters 04-05, where the temporal set saturates): two-phase moves, a swing done
  once or twice, and the order in which two digits flash, with a second digit drifting by as a
  moving distractor. Without the distractors (``distractors=False``) each class's partner shows
  the same frames in another order; with them, the steady drift is a clock that an order-free
  statistic can pair with the actor (chapter 04 measures it on the swing pair).

Rendering is one batched ``affine_grid``/``grid_sample`` call per clip set: thousands of clips in
seconds. A clip is a float tensor (T, C, H, W) in [0, 1] plus noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

MOTIONS = (
    "right",
    "left",
    "down",
    "up",
    "approach",
    "recede",
    "rotate cw",
    "rotate ccw",
    "appear",
    "disappear",
)
"""motion classes; class 2i+1 is the time reversal of class 2i"""
HARD_MOTIONS = (
    "one swing",
    "two swings",
    "right then up",
    "down then left",
    "left flashes first",
    "right flashes first",
)
"""the ``"hard"`` label set: with the distractors off, no order-free summary of the frames tells
any class from its partner (one and two swings visit the same positions; the other pairs are time
reversals); with them on, the drift is a clock that separates the swing pair in part"""
LABEL_SETS = ("appearance", "temporal")
"""the two label sets every video chapter reports"""
ALL_LABEL_SETS = (*LABEL_SETS, "hard")


def _digit_sprites() -> torch.Tensor:
    """The 1,797 scikit-learn digits as (N, 1, 8, 8) grey levels in [0, 1], and their labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16.0
    return images, torch.tensor(digits.target)


def _paths(motion: torch.Tensor, u: torch.Tensor, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """Per-clip, per-frame translation (x, y), scale, angle and opacity for ``motion`` (N,) at
    progress ``u`` (T,) in [0, 1]. A reversed motion runs its partner's path backwards."""
    n = len(motion)
    forward = motion % 2 == 0
    progress = torch.where(forward[:, None], u[None], 1 - u[None])  # (N, T)
    kind = motion // 2
    centre = (torch.rand(n, 2, generator=gen) - 0.5) * 0.3
    amount = 0.5 + 0.3 * torch.rand(n, generator=gen)  # how far the motion goes
    x = centre[:, :1].expand(n, len(u)).clone()
    y = centre[:, 1:].expand(n, len(u)).clone()
    scale = torch.full_like(x, 0.75)
    angle = torch.zeros_like(x)
    alpha = torch.ones_like(x)
    sweep = (progress - 0.5) * 2 * amount[:, None]  # from -amount to +amount
    x = torch.where((kind == 0)[:, None], sweep, x)
    y = torch.where((kind == 1)[:, None], sweep, y)
    scale = torch.where((kind == 2)[:, None], 0.45 + 0.6 * progress, scale)
    angle = torch.where((kind == 3)[:, None], (progress - 0.5) * math.pi / 2, angle)
    alpha = torch.where((kind == 4)[:, None], 0.1 + 0.9 * progress, alpha)
    return {"x": x, "y": y, "scale": scale, "angle": angle, "alpha": alpha}


def _render(sprites: torch.Tensor, path: dict[str, torch.Tensor], size: int) -> torch.Tensor:
    """Place sprites (N, 1, s, s) on size x size frames along ``path``: (N, T, 1, size, size)."""
    n, t = path["x"].shape
    # inverse map from output to sprite coordinates: rotate by -angle, divide by scale
    cos, sin = torch.cos(path["angle"]), torch.sin(path["angle"])
    zoom = 1.0 / path["scale"]
    theta = torch.stack(
        [
            torch.stack([cos * zoom, sin * zoom, -(cos * path["x"] + sin * path["y"]) * zoom], -1),
            torch.stack([-sin * zoom, cos * zoom, (sin * path["x"] - cos * path["y"]) * zoom], -1),
        ],
        dim=-2,
    ).view(n * t, 2, 3)
    grid = F.affine_grid(theta, (n * t, 1, size, size), align_corners=False)
    source = sprites.repeat_interleave(t, dim=0)
    frames = F.grid_sample(source, grid, align_corners=False, padding_mode="zeros")
    return frames.view(n, t, 1, size, size) * path["alpha"].view(n, t, 1, 1, 1)


def _bump(u: torch.Tensor, centre: torch.Tensor) -> torch.Tensor:
    return 0.1 + 0.9 * torch.exp(-(((u[None] - centre[:, None]) / 0.12) ** 2))


def _hard_paths(
    motion: torch.Tensor, u: torch.Tensor, gen: torch.Generator, distractors: bool = True
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Paths of the two digits of every ``"hard"`` clip: the actor, and either the second
    flashing digit (classes 4-5) or a dim drifting one (a moving distractor, invisible when
    ``distractors`` is off)."""
    n, t = len(motion), len(u)
    a = (0.45 + 0.2 * torch.rand(n, generator=gen))[:, None]
    sign = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)[:, None]
    row = ((torch.rand(n, generator=gen) - 0.5) * 0.4)[:, None].expand(n, t)
    m = motion[:, None]
    swing = sign * a * torch.sin(2 * math.pi * (1 + m.clamp(max=1)) * u[None])
    p = torch.where(m == 2, u[None], 1 - u[None])  # "down then left" is "right then up" reversed
    x_turn = torch.where(p < 0.5, -a + 4 * a * p, a)
    y_turn = torch.where(p < 0.5, a, a - 4 * a * (p - 0.5))
    flash, turn = m >= 4, (m == 2) | (m == 3)
    first = torch.where(motion == 4, 0.3, 0.7)
    actor = {
        "x": torch.where(flash, -0.45, torch.where(turn, x_turn, swing)),
        "y": torch.where(turn, y_turn, row),
        "scale": torch.full((n, t), 0.6),
        "angle": torch.zeros(n, t),
        "alpha": torch.where(flash, _bump(u, first), 1.0),
    }
    start = (torch.rand(n, 2, generator=gen) - 0.5) * 1.2
    drift = (torch.rand(n, 2, generator=gen) - 0.5) * 1.2
    other = {
        "x": torch.where(flash, 0.45, start[:, :1] + drift[:, :1] * (u[None] - 0.5)),
        "y": torch.where(flash, row, start[:, 1:] + drift[:, 1:] * (u[None] - 0.5)),
        "scale": torch.where(flash, 0.6, 0.5).expand(n, t),
        "angle": torch.zeros(n, t),
        "alpha": torch.where(flash, _bump(u, 1 - first), 0.35 * distractors),
    }
    return actor, other


def _first_draws(
    n: int, label_set: str, frames: int, seed: int, motions: Sequence[int] | None
) -> tuple[torch.Generator, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The draws every clip set starts with (shared by :func:`make_clips` and
    :func:`clip_paths`): the generator, the sprite images, each clip's sprite index, digit and
    motion, and the progress ``u`` (T,)."""
    kinds = len(HARD_MOTIONS if label_set == "hard" else MOTIONS)
    allowed = torch.arange(kinds) if motions is None else torch.as_tensor(motions)
    if allowed.numel() == 0 or allowed.min() < 0 or allowed.max() >= kinds:
        raise ValueError(f"motions must be indices 0..{kinds - 1}, got {motions!r}")
    gen = torch.Generator().manual_seed(seed)
    images, targets = _digit_sprites()
    pick = torch.randint(len(images), (n,), generator=gen)
    digit, motion = targets[pick], allowed[torch.randint(len(allowed), (n,), generator=gen)]
    return gen, images, pick, digit, motion, torch.linspace(0, 1, frames)


def clip_paths(
    n: int,
    label_set: str = "temporal",
    frames: int = 8,
    seed: int = 0,
    motions: Sequence[int] | None = None,
) -> dict[str, torch.Tensor]:
    """The main digit's path in the clips :func:`make_clips` draws with the same ``n``,
    ``label_set`` (``"temporal"`` or ``"appearance"``), ``frames``, ``seed`` and ``motions``
    (whatever the size, channels, noise and distractors): per clip and frame (N, T), the
    translation ``x``, ``y`` of the sprite's centre in normalised frame coordinates (-1 to 1
    across the frame, so one unit is ``size / 2`` pixels), ``scale``, ``angle`` and ``alpha``
    (opacity). The ground truth of the digit's motion, also where it leaves the frame."""
    if label_set not in LABEL_SETS:
        raise ValueError(f"clip_paths covers {LABEL_SETS}, got {label_set!r}")
    if n < 1 or frames < 2:
        raise ValueError(f"need n >= 1 and frames >= 2, got {n}, {frames}")
    gen, _, _, _, motion, u = _first_draws(n, label_set, frames, seed, motions)
    return _paths(motion, u, gen)


def make_clips(
    n: int,
    label_set: str = "temporal",
    frames: int = 8,
    size: int = 32,
    channels: int = 3,
    noise: float = 0.05,
    seed: int = 0,
    empty: bool = False,
    motions: Sequence[int] | None = None,
    distractors: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` clips (N, T, C, H, W), their labels for ``label_set``, and both factors (the digit
    and the motion of each clip, so that either label set can be read off). ``empty``: leave the
    main digit out (distractor and noise only: background for untrimmed streams). ``motions``:
    draw each clip's motion from these indices of :data:`MOTIONS` (:data:`HARD_MOTIONS` for the
    ``"hard"`` set) only (default: all). ``distractors``: draw the drifting square (and, in the
    hard set, the drifting second digit); off, the same random draws are made, so a clip differs
    from its default version only by those layers."""
    if label_set not in ALL_LABEL_SETS:
        raise ValueError(f"unknown label set {label_set!r}; expected one of {ALL_LABEL_SETS}")
    if n < 1 or frames < 2 or channels < 1:
        raise ValueError(f"need n >= 1, frames >= 2, channels >= 1; got {n}, {frames}, {channels}")
    if size < 16 or size % 8:
        raise ValueError(f"size must be a multiple of 8 and at least 16, got {size}")
    gen, images, pick, digit, motion, u = _first_draws(n, label_set, frames, seed, motions)
    if label_set == "hard":
        actor, other = _hard_paths(motion, u, gen, distractors)
        second = torch.randint(len(images), (n,), generator=gen)
        main = torch.maximum(
            _render(images[pick], actor, size), _render(images[second], other, size)
        )
    else:
        main = _render(images[pick], _paths(motion, u, gen), size)
    main = main * (not empty)
    # distractor: a dim square drifting in a random direction (motion that is not the action)
    square = torch.zeros(1, 1, 8, 8)
    square[..., 2:6, 2:6] = 1.0
    drift = (torch.rand(n, 2, generator=gen) - 0.5) * 1.2
    start = (torch.rand(n, 2, generator=gen) - 0.5) * 1.2
    path = {
        "x": start[:, :1] + drift[:, :1] * (u[None] - 0.5),
        "y": start[:, 1:] + drift[:, 1:] * (u[None] - 0.5),
        "scale": torch.full((n, frames), 0.5),
        "angle": torch.zeros(n, frames),
        "alpha": torch.full((n, frames), 0.4 * distractors),
    }
    distractor = _render(square.expand(n, -1, -1, -1), path, size)
    colour = 0.4 + 0.6 * torch.rand(n, 1, channels, 1, 1, generator=gen)
    clips = (torch.maximum(main, distractor) * colour).clamp(0, 1)
    clips = clips + noise * torch.randn(clips.shape, generator=gen)
    labels = digit if label_set == "appearance" else motion
    return clips, labels, digit, motion


class ClipTensors(Dataset):
    """A ``torch.utils.data`` dataset of per-clip tensors (clips, or derived inputs such as their
    optical flow) and labels: items are (clip, label)."""

    def __init__(self, clips: torch.Tensor, labels: torch.Tensor) -> None:
        if len(clips) != len(labels):
            raise ValueError(f"{len(clips)} clips but {len(labels)} labels")
        self.clips, self.labels = clips, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.clips[i], self.labels[i]


def shuffle_frames(dataset: ClipTensors, seed: int = 0) -> ClipTensors:
    """The same clips with their frames in a random order, one permutation per clip: the
    shuffled-frames test of the TRN paper (an order-blind model is unaffected)."""
    gen = torch.Generator().manual_seed(seed)
    frames = dataset.clips.shape[1]
    order = torch.stack([torch.randperm(frames, generator=gen) for _ in range(len(dataset))])
    return ClipTensors(dataset.clips[torch.arange(len(dataset))[:, None], order], dataset.labels)


class VideoClips(ClipTensors):
    """Generated clips (see :func:`make_clips`) with the labels of ``label_set``; the digit and
    motion of every clip are kept as ``digits`` and ``motions``."""

    def __init__(self, n: int, label_set: str = "temporal", seed: int = 0, **kwargs) -> None:
        clips, labels, self.digits, self.motions = make_clips(n, label_set, seed=seed, **kwargs)
        super().__init__(clips, labels)
        self.label_set = label_set
        self.classes = {
            "temporal": MOTIONS,
            "hard": HARD_MOTIONS,
            "appearance": tuple(str(d) for d in range(10)),
        }[label_set]


BACKGROUND = -1
"""per-frame label of background (no action) in untrimmed streams"""


def make_stream(
    actions: int,
    frames: int = 8,
    gap: tuple[int, int] = (4, 12),
    size: int = 32,
    channels: int = 3,
    noise: float = 0.05,
    seed: int = 0,
    motions: Sequence[int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """An untrimmed stream: ``actions`` temporal-class clips (motions drawn from ``motions``,
    default all) separated by background stretches of random length in ``gap`` (only the
    drifting square and noise; 0 lets two actions touch). Returns the frames (T, C, H, W) and
    per-frame motion labels (T,), ``BACKGROUND`` between actions."""
    if actions < 1 or not 0 <= gap[0] <= gap[1]:
        raise ValueError(f"need actions >= 1 and 0 <= gap[0] <= gap[1], got {actions}, {gap}")
    clips, _, _, motions = make_clips(
        actions, "temporal", frames, size, channels, noise, seed, motions=motions
    )
    gen = torch.Generator().manual_seed(seed + 1)
    lengths = torch.randint(gap[0], gap[1] + 1, (actions + 1,), generator=gen)
    background = make_clips(
        actions + 1,
        "temporal",
        max(int(lengths.max()), 2),
        size,
        channels,
        noise,
        seed + 2,
        empty=True,
    )[0]
    pieces, labels = [], []
    for i in range(actions + 1):
        pieces.append(background[i, : lengths[i]])
        labels.append(torch.full((int(lengths[i]),), BACKGROUND))
        if i < actions:
            pieces.append(clips[i])
            labels.append(torch.full((frames,), int(motions[i])))
    return torch.cat(pieces), torch.cat(labels)
