"""Chapter 06: IDN's contrastive weight lambda and margin m, chosen on validation streams.

For every (lambda, m) of :data:`f2p.oad.experiment.IDN_GRID`, an IDN trains on the first
``train_streams - 6`` training streams of each seed and is scored (per-frame mAP) on the last 6
(``--validation-streams``);
the test streams are never read. The choice is the pair with the highest mean validation mAP over
seeds and both settings (with and without irrelevant actions). Writes
``src/f2p/data/results/ch06_idn_tuning.json``.

    python benchmarks/ch06_idn_tuning.py
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
from pathlib import Path

import numpy as np

import f2p
from f2p.oad import experiment

RESULTS = f2p.results.RESULTS_DIR / "ch06_idn_tuning.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--train-streams", type=int, default=experiment.Budget.train_streams)
    parser.add_argument("--validation-streams", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=experiment.Budget.epochs)
    parser.add_argument("--encoder-clips", type=int, default=experiment.Budget.encoder_clips)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    f2p.utils.set_threads(1)
    budget = dataclasses.replace(
        experiment.Budget(),
        train_streams=args.train_streams,
        epochs=args.epochs,
        encoder_clips=args.encoder_clips,
    )
    held = args.validation_streams
    rows, means = [], {}
    grid = experiment.IDN_GRID
    for contrastive, margin in itertools.product(grid["contrastive"], grid["margin"]):
        values = []
        for setting, distractors in experiment.SETTINGS.items():
            for seed in args.seeds:
                value = experiment.idn_validation(
                    seed, distractors, budget, contrastive, margin, held
                )
                values.append(value)
                rows.append({
                    "quantity": f"lambda={contrastive:g}, m={margin:g}: validation mAP, "
                    f"{setting}, seed {seed}",
                    "ours": float(value),
                })  # fmt: skip
                print(f"lambda {contrastive:g}, m {margin:g}, {setting}, seed {seed}: "
                      f"{value:.3f}", flush=True)  # fmt: skip
        means[contrastive, margin] = float(np.mean(values))
        rows.append({"quantity": f"lambda={contrastive:g}, m={margin:g}: validation mAP (mean)",
                     "ours": means[contrastive, margin]})  # fmt: skip
    (best_l, best_m) = max(means, key=means.get)
    rows += [
        {"quantity": "chosen lambda", "ours": best_l},
        {"quantity": "chosen margin", "ours": best_m},
    ]
    print(f"chosen: lambda {best_l:g}, m {best_m:g}", flush=True)
    f2p.results.write_benchmark(
        args.out,
        "06",
        f"IDN's lambda and m on validation streams ({budget.train_streams - held} training, "
        f"{held} validation streams of seeds {args.seeds}, both settings, {budget.epochs} epochs)",
        "ch06_idn_tuning.py",
        rows,
    )


if __name__ == "__main__":
    main()
