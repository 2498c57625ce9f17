"""Chapter 02's two TSN experiments (Wang et al., 2016), shared by the chapter and
``benchmarks/ch02_tsn.py`` so that both run the same code:

- :func:`sampling_runs`: sparse segment sampling against a window of consecutive frames, at
  equal cost (the 2D network sees ``segments`` frames of each long clip either way);
- :func:`transfer_grid`: cross-modality initialisation and partial BN, each on and off (a 2x2),
  for an RGB-difference network started from an RGB network.
"""

from __future__ import annotations

import torch

from f2p.video import models
from f2p.video.data import ClipTensors
from f2p.video.train import FrameSampler, train_classifier

TRANSFER_CELLS = {
    "from scratch": (False, False),
    "from scratch + partial BN": (False, True),
    "cross-modality init": (True, False),
    "cross-modality init + partial BN": (True, True),
}
"""name -> (cross-modality initialisation, partial BN)"""


def reversal_change(
    consensus, scores: torch.Tensor, reversed_scores: torch.Tensor | None = None
) -> float:
    """How much ``consensus`` ((N, K, C) snippet scores -> (N, C)) changes when the clip is
    reversed: the largest absolute change of its output, relative to the output's largest
    magnitude. ``reversed_scores`` are the scores of the reversed clips (default: ``scores``
    with the snippets reversed, the same for a per-frame network up to rounding). Float
    rounding gives about 1e-7 for a consensus the order proposition covers (chapter 02's
    Exercise 2.1 checks a reader's verdicts against it with a threshold of 1e-5)."""
    reversed_scores = scores.flip(1) if reversed_scores is None else reversed_scores
    out = consensus(scores)
    return ((out - consensus(reversed_scores)).abs().max() / out.abs().max()).item()


def pair_accuracy(predicted: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of clips whose predicted motion is in the right time-reversed pair (classes 2i and
    2i+1 of :data:`f2p.video.data.MOTIONS`), direction ignored."""
    return (predicted // 2 == labels // 2).float().mean().item()


@torch.no_grad()
def predict(model: torch.nn.Module, clips: torch.Tensor, device="cpu", batch: int = 256):
    """Predicted classes of ``clips`` (eval mode, batches of ``batch``)."""
    model.eval()
    return torch.cat(
        [
            model(clips[i : i + batch].to(device)).argmax(1).cpu()
            for i in range(0, len(clips), batch)
        ]
    )


@torch.no_grad()
def frame_scores(
    model: models.TSN, clips: torch.Tensor, device="cpu", batch: int = 64
) -> torch.Tensor:
    """Class scores of every frame of ``clips`` (N, F, C, H, W) under ``model``'s 2D network:
    (N, F, classes), eval mode, ``batch`` clips at a time."""
    model.eval()
    return torch.cat(
        [
            model.frame_scores(clips[i : i + batch].to(device)).cpu()
            for i in range(0, len(clips), batch)
        ]
    )


def window_predictions(scores: torch.Tensor, length: int) -> torch.Tensor:
    """Predicted classes of an average-consensus TSN fed ``length`` consecutive frames, for every
    window start at once: ``scores`` (N, F, classes) are per-frame scores (:func:`frame_scores`);
    the average over a window is the TSN's output on it. Returns (N, F - length + 1)."""
    return scores.unfold(1, length, 1).mean(-1).argmax(-1)


def sampling_runs(
    train: ClipTensors,
    test: ClipTensors,
    segments: int = 8,
    epochs: int = 5,
    widths: tuple[int, int, int] = (8, 16, 16),
    seed: int = 0,
    device="cpu",
) -> dict[str, dict]:
    """Train an RGB TSN (average consensus) on long clips twice, fed ``segments`` frames per
    clip: one per equal segment (TSN; tested on the segment centres) or a window of consecutive
    ones (random in training). The window model is tested on the central window (the fixed test
    window of :func:`f2p.video.train.window_indices`) and on every window start, averaged: the
    expected figure of a window drawn uniformly per clip. The centre alone is a poor control on
    the generated clips: every motion but the fades passes through the same pose at mid-clip
    (:func:`f2p.video.data.clip_paths`). Returns, per sampling and test window, test accuracy
    and pair accuracy (was the kind of motion right?); for the sparse model also the share of
    test clips whose prediction changes when the clip is reversed (the centres of a clip and of
    its reversal need not be the same frames), and for the window model ``"right pair by
    start"``, the pair accuracy of each window start."""
    out = {}
    for name, sparse in (("sparse segments", True), ("consecutive frames", False)):
        torch.manual_seed(seed)
        model = FrameSampler(models.TSN(10, frames=segments, widths=widths), segments, sparse, seed)
        train_classifier(
            model, train, test, epochs, seed=seed, device=device, progress=False, eval_every=epochs
        )
        predicted = predict(model, test.clips, device)
        figures = {
            "accuracy": (predicted == test.labels).float().mean().item(),
            "right pair": pair_accuracy(predicted, test.labels),
        }
        if sparse:
            reversed_clips = predict(model, test.clips.flip(1), device)
            figures["changed by reversal"] = (reversed_clips != predicted).float().mean().item()
            out[name] = figures
            continue
        out[f"{name}, centre window"] = figures
        every = window_predictions(frame_scores(model.model, test.clips, device), segments)
        labels = test.labels[:, None].expand_as(every)
        by_start = (every // 2 == labels // 2).float().mean(0)
        out[f"{name}, every window"] = {
            "accuracy": (every == labels).float().mean().item(),
            "right pair": by_start.mean().item(),
            "right pair by start": by_start.tolist(),
        }
    return out


def transfer_grid(
    source: models.TSN,
    train: ClipTensors,
    test: ClipTensors,
    epochs: int = 2,
    widths: tuple[int, int, int] = (8, 16, 16),
    seed: int = 0,
    device="cpu",
) -> dict[str, list[float]]:
    """The 2x2 of :data:`TRANSFER_CELLS`: an RGB-difference TSN trained for ``epochs`` on
    ``train`` (RGB clips), from scratch or initialised from the RGB network ``source``, with or
    without partial BN. Returns each cell's test accuracy after every epoch."""
    frames = train.clips.shape[1] - 1
    out = {}
    for name, (initialise, partial) in TRANSFER_CELLS.items():
        torch.manual_seed(seed)
        model = models.TSN(10, frames=frames, widths=widths)
        if initialise:
            models.cross_modality_init(model, source)
        history = train_classifier(
            model,
            train,
            test,
            epochs,
            transform=models.rgb_difference,
            partial_bn=partial,
            seed=seed,
            device=device,
            progress=False,
        )
        out[name] = history.test_accuracy
    return out
