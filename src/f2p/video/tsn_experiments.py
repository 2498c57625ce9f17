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


def sampling_runs(
    train: ClipTensors,
    test: ClipTensors,
    segments: int = 8,
    epochs: int = 5,
    widths: tuple[int, int, int] = (8, 16, 16),
    seed: int = 0,
    device="cpu",
) -> dict[str, dict[str, float]]:
    """Train an RGB TSN (average consensus) on long clips twice, fed ``segments`` frames per
    clip: one per equal segment (TSN) or a window of consecutive ones. Returns, per sampling,
    test accuracy and pair accuracy (was the kind of motion right?)."""
    out = {}
    for name, sparse in (("sparse segments", True), ("consecutive frames", False)):
        torch.manual_seed(seed)
        model = FrameSampler(models.TSN(10, frames=segments, widths=widths), segments, sparse, seed)
        train_classifier(
            model, train, test, epochs, seed=seed, device=device, progress=False, eval_every=epochs
        )
        predicted = predict(model, test.clips, device)
        out[name] = {
            "accuracy": (predicted == test.labels).float().mean().item(),
            "right pair": pair_accuracy(predicted, test.labels),
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
