"""Chapter 03 benchmark: TSN, TSM, TRN, ECO-style and non-local models on both label sets, over
seeds, with their parameters, FLOPs and training and inference throughput, in one run.

Every model uses the same 2D backbone, data and budget (generated 8-frame clips of moving
digits; Adam with a one-cycle schedule); accuracy is reported as mean ± std over seeds on the
appearance and temporal label sets. Throughput is clips per second with batch 64 on one torch
thread: inference (no gradients) and training (forward, backward, optimiser step). Writes
``benchmarks/results/ch03_temporal_models.json``.

    python benchmarks/ch03_temporal_models.py
    python benchmarks/ch03_temporal_models.py --seeds 0 --train 64 --test 32 --epochs 1 --out s.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

import f2p
from f2p.video import data, models
from f2p.video.train import train_classifier

RESULTS = Path(__file__).resolve().parent / "results" / "ch03_temporal_models.json"
FRAMES = 8
MODELS = {
    "TSN": lambda w: models.TSN(10, frames=FRAMES, widths=w),
    "TSM": lambda w: models.TSM(10, frames=FRAMES, widths=w),
    "TSM, online": lambda w: models.TSM(10, frames=FRAMES, online=True, widths=w),
    "TRN": lambda w: models.TRN(10, frames=FRAMES, widths=w),
    "ECO-style": lambda w: models.ECO(10, widths=w),
    "non-local": lambda w: models.NonLocal(10, widths=w),
}


def throughput(model: torch.nn.Module, size: int, train: bool, repeats: int = 3) -> float:
    """Clips per second, batch 64: inference, or one full training step."""
    clips, labels = torch.rand(64, FRAMES, 3, size, size), torch.randint(10, (64,))
    optimizer = torch.optim.Adam(model.parameters())

    def step() -> None:
        if train:
            loss = torch.nn.functional.cross_entropy(model(clips), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        else:
            with torch.no_grad():
                model(clips)

    model.train(train)
    step()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return repeats * len(clips) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--train", type=int, default=1000, help="training clips")
    parser.add_argument("--test", type=int, default=500, help="test clips")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--size", type=int, default=24)
    parser.add_argument("--widths", type=int, nargs=3, default=[8, 16, 16])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    f2p.utils.set_threads(1)
    widths = tuple(args.widths)
    rows = []
    for name, build in MODELS.items():
        for label_set in data.LABEL_SETS:
            scores = []
            for seed in args.seeds:
                train = data.VideoClips(args.train, label_set, seed=2 * seed, size=args.size)
                test = data.VideoClips(args.test, label_set, seed=2 * seed + 1, size=args.size)
                torch.manual_seed(seed)
                history = train_classifier(
                    build(widths), train, test, args.epochs, seed=seed, progress=False
                )
                scores.append(history.test_accuracy[-1])
            mean, std = float(np.mean(scores)), float(np.std(scores))
            print(f"{name:>12} {label_set:>10}: {mean:.3f} ± {std:.3f} {scores}", flush=True)
            rows.append({"quantity": f"{name}: accuracy, {label_set} set (mean)", "ours": mean})
            rows.append({"quantity": f"{name}: accuracy, {label_set} set (std)", "ours": std})
        model = build(widths)
        with FlopCounterMode(display=False) as counter:
            model.eval()(torch.rand(1, FRAMES, 3, args.size, args.size))
        speeds = {
            mode: throughput(build(widths), args.size, mode == "train")
            for mode in ("inference", "train")
        }
        rows += [
            {"quantity": f"{name}: parameters", "ours": sum(p.numel() for p in model.parameters())},
            {"quantity": f"{name}: FLOPs per clip", "ours": counter.get_total_flops()},
            {"quantity": f"{name}: inference clips/s", "ours": round(speeds["inference"], 1)},
            {"quantity": f"{name}: training clips/s", "ours": round(speeds["train"], 1)},
        ]
        print(
            f"{name:>12}: {speeds['inference']:.0f} inference / {speeds['train']:.0f} training "
            "clips/s",
            flush=True,
        )
    tsn, tsm = (
        next(r["ours"] for r in rows if r["quantity"] == f"{m}: inference clips/s")
        for m in ("TSN", "TSM")
    )
    rows.append({"quantity": "TSM inference throughput / TSN's", "ours": round(tsm / tsn, 3)})
    f2p.results.write_benchmark(
        args.out,
        "03",
        f"temporal models on generated clips, {len(args.seeds)} seeds, "
        f"{args.train} training clips, {args.epochs} epochs, {args.size} px",
        "ch03_temporal_models.py",
        rows,
    )


if __name__ == "__main__":
    main()
