"""Chapter 02 benchmark: TSN's two design claims on generated clips, over seeds.

1. Sparse segment sampling against a window of consecutive frames, at equal cost: an RGB TSN
   with average consensus sees 8 frames of each 48-frame clip (temporal label set), one per
   segment or 8 in a row (``f2p.video.tsn_experiments.sampling_runs``). The window model is
   tested on the central window and on every window start (averaged): the centre is where every
   generated motion but the fades passes through the same pose.
2. Cross-modality initialisation and partial BN, each on and off: an RGB-difference TSN trained
   briefly on the temporal set, from scratch or from an RGB TSN trained on the appearance labels
   (``transfer_grid``).

Each seed draws its own clips (training seed 2s, test seed 2s + 1) as well as its own
initialisation, sampling draws and batch order. Accuracies are stored as mean and std over
seeds (ddof = 0) and per seed (``... (seed s)``), for paired comparisons (``f2p.stats.paired``):
every method runs on the same seeds. One torch thread. Writes
``src/f2p/data/results/ch02_tsn.json``.

    python benchmarks/ch02_tsn.py
    python benchmarks/ch02_tsn.py --seeds 0 --train 64 --test 32 --epochs 1 --out smoke.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

import f2p
from f2p.video import data, models
from f2p.video.train import train_classifier
from f2p.video.tsn_experiments import TRANSFER_CELLS, sampling_runs, transfer_grid

RESULTS = f2p.results.RESULTS_DIR / "ch02_tsn.json"
WIDTHS = (8, 16, 16)


def summary(name: str, metric: str, values: list[float], seeds: list[int]) -> list[dict]:
    """The results-file rows of one method and metric: mean and std over seeds (ddof = 0), then
    each seed's value."""
    return [
        {"quantity": f"{name}: {metric} (mean)", "ours": round(float(np.mean(values)), 4)},
        {"quantity": f"{name}: {metric} (std)", "ours": round(float(np.std(values)), 4)},
    ] + [
        {"quantity": f"{name}: {metric} (seed {seed})", "ours": round(float(value), 4)}
        for seed, value in zip(seeds, values, strict=True)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--train", type=int, default=900, help="training clips")
    parser.add_argument("--test", type=int, default=500, help="test clips")
    parser.add_argument("--long", type=int, default=48, help="frames of the long clips")
    parser.add_argument("--epochs", type=int, default=5, help="epochs of the sampling runs")
    parser.add_argument("--pretrain", type=int, default=7, help="epochs of the RGB source")
    parser.add_argument("--transfer", type=int, default=2, help="epochs of the 2x2 runs")
    parser.add_argument("--size", type=int, default=24)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    f2p.utils.set_threads(1)
    sampling, transfer = {}, {}
    for seed in tqdm(args.seeds, desc="seeds"):
        train_seed, test_seed = 2 * seed, 2 * seed + 1
        long_clips = {
            split: data.VideoClips(n, "temporal", seed=s, frames=args.long, size=args.size)
            for split, n, s in (("train", args.train, train_seed), ("test", args.test, test_seed))
        }
        for name, figures in sampling_runs(
            long_clips["train"], long_clips["test"], 8, args.epochs, WIDTHS, seed
        ).items():
            for metric, value in figures.items():
                if metric != "right pair by start":
                    sampling.setdefault((name, metric), []).append(value)
        short_clips = {
            (label_set, split): data.VideoClips(n, label_set, seed=s, frames=8, size=args.size)
            for label_set in ("appearance", "temporal")
            for split, n, s in (("train", args.train, train_seed), ("test", args.test, test_seed))
        }
        torch.manual_seed(seed)
        source = models.TSN(10, widths=WIDTHS)
        train_classifier(
            source,
            short_clips["appearance", "train"],
            short_clips["appearance", "test"],
            args.pretrain,
            seed=seed,
            progress=False,
            eval_every=args.pretrain,
        )
        grid = transfer_grid(
            source,
            short_clips["temporal", "train"],
            short_clips["temporal", "test"],
            args.transfer,
            WIDTHS,
            seed,
        )
        for name, accuracies in grid.items():
            transfer.setdefault(name, []).append(accuracies[-1])
    rows = []
    for (name, metric), values in sampling.items():
        label = f"{name} (8 of {args.long} frames)"
        rows += summary(label, f"{metric}, temporal set", values, args.seeds)
        print(f"{label}: {metric} {np.mean(values):.3f} ± {np.std(values):.3f}")
    for name in TRANSFER_CELLS:
        rows += summary(
            f"RGB difference, {name}",
            f"accuracy after {args.transfer} epochs",
            transfer[name],
            args.seeds,
        )
        print(f"{name}: {np.mean(transfer[name]):.3f} ± {np.std(transfer[name]):.3f}")
    f2p.results.write_benchmark(
        args.out,
        "02",
        f"TSN on generated clips, {len(args.seeds)} seeds (each its own clips), "
        f"{args.train} training and {args.test} test clips of {args.size} px: sampling of "
        f"{args.long}-frame clips ({args.epochs} epochs) and transfer from an RGB network "
        f"({args.pretrain} + {args.transfer} epochs)",
        "ch02_tsn.py",
        rows,
    )


if __name__ == "__main__":
    main()
