"""Untrimmed streams as sequences of chunk features, the input of online action detection.

THUMOS'14 detectors (TRN, IDN, OadTR) never see pixels: a two-stream TSN trained elsewhere turns
every chunk of a few frames into one feature vector, once, and the detectors learn on those
sequences. The same pipeline at laptop size:

1. :func:`make_streams`: untrimmed streams from :func:`f2p.video.data.make_stream`. The actions
   of interest are five motions (:data:`TARGETS`); with ``distractors`` the streams also hold
   their time reversals (:data:`DISTRACTORS`), irrelevant actions labelled background, as in the
   IDN paper's argument; gaps may be zero, so an irrelevant action can run straight into a
   relevant one.
2. :func:`train_encoder`: a TSN (chapter 02) trained on trimmed chunks of all ten motions and of
   background, then frozen. Like the RGB TSN features of THUMOS'14 it averages over a chunk's
   frames, so a single chunk cannot tell a motion from its time reversal: direction, and so
   relevance, has to come from the sequence of chunks.
3. :func:`encode`: one feature per chunk (the encoder's pooled backbone features), one label per
   chunk (that of its middle frame): 0 is background, ``1..K`` the target classes.
4. :meth:`ChunkStreams.windows`: every chunk with its last ``T`` chunks (the model's input) and
   the labels of those chunks and of the next ones (anticipation targets).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from f2p.video import data as video_data
from f2p.video import models as video_models
from f2p.video.train import train_classifier

TARGETS = (0, 2, 4, 6, 8)
"""motions to detect (right, down, approach, rotate cw, appear): classes 1..5"""
DISTRACTORS = (1, 3, 5, 7, 9)
"""their time reversals: irrelevant actions, labelled background"""
CLASSES = ("background",) + tuple(video_data.MOTIONS[m] for m in TARGETS)
IGNORE = -100
"""label of window positions outside the stream (padding, or the future past its end)"""


@dataclass(frozen=True)
class StreamConfig:
    """Sizes of the synthetic streams; ``chunk`` frames make one detector step."""

    chunk: int = 4
    action_frames: int = 16
    gap: tuple[int, int] = (0, 24)
    actions: int = 12
    size: int = 24
    noise: float = 0.1

    def __post_init__(self) -> None:
        if self.chunk < 2 or self.action_frames % self.chunk:
            raise ValueError(
                f"chunk must be >= 2 and divide action_frames; got {self.chunk}, "
                f"{self.action_frames}"
            )


def make_streams(
    n: int, distractors: bool, config: StreamConfig, seed: int
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``n`` streams (frames (L, C, H, W), per-frame motion labels (L,) with
    ``BACKGROUND`` = -1). With ``distractors`` half of the actions, on average, are
    irrelevant ones."""
    if n < 1:
        raise ValueError(f"need at least one stream, got {n}")
    motions = TARGETS + DISTRACTORS if distractors else TARGETS
    return [
        video_data.make_stream(
            config.actions,
            config.action_frames,
            config.gap,
            config.size,
            noise=config.noise,
            seed=seed * 10_000 + 3 * i,
            motions=motions,
        )
        for i in range(n)
    ]


def _random_chunks(clips: torch.Tensor, chunk: int, gen: torch.Generator) -> torch.Tensor:
    """One random run of ``chunk`` consecutive frames from every clip (N, T, ...)."""
    start = torch.randint(clips.shape[1] - chunk + 1, (len(clips),), generator=gen)
    index = start[:, None] + torch.arange(chunk)
    return clips[torch.arange(len(clips))[:, None], index]


def trimmed_chunks(n: int, config: StreamConfig, seed: int) -> video_data.ClipTensors:
    """Trimmed training data for the encoder: chunks cut from clips of all ten motions (labels
    0..9) and from background (label 10)."""
    gen = torch.Generator().manual_seed(seed)
    clips, _, _, motions = video_data.make_clips(
        n, "temporal", config.action_frames, config.size, noise=config.noise, seed=seed
    )
    empty = video_data.make_clips(
        max(n // 10, 1), "temporal", config.action_frames, config.size,
        noise=config.noise, seed=seed + 1, empty=True,
    )[0]  # fmt: skip
    chunks = _random_chunks(torch.cat([clips, empty]), config.chunk, gen)
    labels = torch.cat([motions, torch.full((len(empty),), len(video_data.MOTIONS))])
    return video_data.ClipTensors(chunks, labels)


def train_encoder(
    n: int,
    config: StreamConfig,
    seed: int,
    epochs: int = 4,
    widths: tuple[int, int, int] = (8, 16, 32),
    device="cpu",
    progress: bool = False,
) -> tuple[video_models.TSN, float]:
    """A TSN trained on :func:`trimmed_chunks`, frozen; returns it and its accuracy on held-out
    trimmed chunks."""
    train = trimmed_chunks(n, config, seed)
    test = trimmed_chunks(max(n // 4, 1), config, seed + 7_919)
    torch.manual_seed(seed)
    encoder = video_models.TSN(len(video_data.MOTIONS) + 1, frames=config.chunk, widths=widths)
    history = train_classifier(
        encoder, train, test, epochs, seed=seed, device=device, progress=progress
    )
    encoder.eval().requires_grad_(False)
    return encoder, history.test_accuracy[-1]


@dataclass
class Windows:
    """Every chunk of a set of streams as a training/evaluation example."""

    x: torch.Tensor
    """(N, T, D) the chunk and the T-1 before it, zeros before the stream's start"""
    y: torch.Tensor
    """(N, T + future) labels of those chunks and of the ``future`` next ones (``IGNORE``
    outside the stream); the current chunk's label is ``y[:, T - 1]``"""
    lengths: torch.Tensor
    """(N,) how many of the T positions hold real chunks (the rest is left padding)"""
    stream: torch.Tensor
    """(N,) which stream each example comes from"""

    def __len__(self) -> int:
        return len(self.x)

    @property
    def current(self) -> torch.Tensor:
        return self.y[:, self.x.shape[1] - 1]


@dataclass
class ChunkStreams:
    """Chunk features and chunk labels of several streams."""

    features: list[torch.Tensor]
    """per stream (L, D)"""
    labels: list[torch.Tensor]
    """per stream (L,), 0 background, 1..K target classes"""
    irrelevant: list[torch.Tensor] | None = None
    """per stream (L,) bool: the chunk belongs to an irrelevant action (labelled 0), when known"""
    reversal_of: list[torch.Tensor] | None = None
    """per stream (L,) long: k where the chunk belongs to the irrelevant action that is target
    class k's time reversal, 0 elsewhere, when known"""

    def __post_init__(self) -> None:
        if not self.features:
            raise ValueError("no streams")
        for f, y in zip(self.features, self.labels, strict=True):
            if f.dim() != 2 or len(f) != len(y) or len(f) == 0:
                raise ValueError(
                    f"each stream needs features (L, D) and labels (L,) with L >= 1, got "
                    f"{tuple(f.shape)} and {tuple(y.shape)}"
                )

    @property
    def dim(self) -> int:
        return self.features[0].shape[1]

    def windows(self, length: int, future: int = 0) -> Windows:
        """Every chunk t of every stream with its window ``x[t - length + 1 .. t]`` and labels
        ``y[t - length + 1 .. t + future]``."""
        if length < 1 or future < 0:
            raise ValueError(f"need length >= 1 and future >= 0, got {length}, {future}")
        xs, ys, lengths, streams = [], [], [], []
        for s, (f, y) in enumerate(zip(self.features, self.labels, strict=True)):
            n = len(f)
            f_pad = torch.cat([f.new_zeros(length - 1, f.shape[1]), f])
            y_pad = torch.cat([y.new_full((length - 1,), IGNORE), y, y.new_full((future,), IGNORE)])
            t = torch.arange(n)[:, None]
            xs.append(f_pad[t + torch.arange(length)])
            ys.append(y_pad[t + torch.arange(length + future)])
            lengths.append(torch.clamp(torch.arange(1, n + 1), max=length))
            streams.append(torch.full((n,), s))
        return Windows(torch.cat(xs), torch.cat(ys), torch.cat(lengths), torch.cat(streams))

    def irrelevant_windows(self, length: int) -> torch.Tensor:
        """(N, length) bool, aligned with :meth:`windows`: which window positions hold a chunk
        of an irrelevant action (False on the padding)."""
        if self.irrelevant is None:
            raise ValueError("these streams were built without irrelevant-action flags")
        flags = ChunkStreams([f[:, None].float() for f in self.irrelevant], self.labels)
        return flags.windows(length).x[..., 0].bool()

    def reversal_windows(self, length: int) -> torch.Tensor:
        """(N, length) long, aligned with :meth:`windows`: k where a window position holds a
        chunk of target class k's time reversal (an irrelevant action), 0 elsewhere."""
        if self.reversal_of is None:
            raise ValueError("these streams were built without reversal classes")
        classes = ChunkStreams([f[:, None].float() for f in self.reversal_of], self.labels)
        return classes.windows(length).x[..., 0].long()


def chunk_labels(frame_labels: torch.Tensor, chunk: int) -> torch.Tensor:
    """Per-chunk detection labels from per-frame motion labels: the middle frame's motion,
    mapped to 1..K for :data:`TARGETS` and to 0 for background and irrelevant actions."""
    middle = frame_labels[chunk // 2 :: chunk][: len(frame_labels) // chunk]
    out = torch.zeros_like(middle)
    for k, motion in enumerate(TARGETS, start=1):
        out[middle == motion] = k
    return out


def irrelevant_chunks(frame_labels: torch.Tensor, chunk: int) -> torch.Tensor:
    """Per chunk: whether its middle frame belongs to an irrelevant action (:data:`DISTRACTORS`),
    which :func:`chunk_labels` maps to background."""
    middle = frame_labels[chunk // 2 :: chunk][: len(frame_labels) // chunk]
    return torch.isin(middle, torch.tensor(DISTRACTORS))


def reversal_classes(frame_labels: torch.Tensor, chunk: int) -> torch.Tensor:
    """Per chunk: k (1..K) where its middle frame belongs to the irrelevant action that is the
    time reversal of target class k (motion ``TARGETS[k - 1] + 1``), 0 elsewhere."""
    middle = frame_labels[chunk // 2 :: chunk][: len(frame_labels) // chunk]
    out = torch.zeros_like(middle)
    for k, motion in enumerate(DISTRACTORS, start=1):
        out[middle == motion] = k
    return out


@torch.no_grad()
def encode(
    encoder: video_models.TSN,
    streams: list[tuple[torch.Tensor, torch.Tensor]],
    chunk: int,
    batch: int = 256,
    device="cpu",
) -> ChunkStreams:
    """Features of every whole chunk of every stream: the frozen encoder's backbone features
    averaged over the chunk's frames."""
    features, labels, irrelevant, reversal_of = [], [], [], []
    for frames, frame_labels in streams:
        n = len(frames) // chunk
        chunks = frames[: n * chunk].view(n, chunk, *frames.shape[1:])
        out = []
        for start in range(0, n, batch):
            x = chunks[start : start + batch].to(device).flatten(0, 1)
            out.append(encoder.backbone(x).view(-1, chunk, encoder.backbone.width).mean(1))
        features.append(torch.cat(out).cpu())
        labels.append(chunk_labels(frame_labels, chunk))
        irrelevant.append(irrelevant_chunks(frame_labels, chunk))
        reversal_of.append(reversal_classes(frame_labels, chunk))
    return ChunkStreams(features, labels, irrelevant, reversal_of)
