"""Chapter 06 benchmark: online action detectors on generated streams, with and without
irrelevant actions, over seeds; and their streaming latency per chunk, in one run.

Every detector reads the same chunk features (a frozen TSN encoder per seed) and trains with the
same budget (:class:`f2p.oad.experiment.Budget`); per-frame mAP (THUMOS'14 protocol) and mcAP
(TVSeries protocol) are reported as mean ± std over seeds. GRU, LSTM and TRN, which label every
step of the window, are also trained on the current chunk's label alone
(:data:`f2p.oad.experiment.EQUAL_SUPERVISION`), the supervision IDN and OadTR get.
Latency: milliseconds to score one new chunk (batch 1, one torch thread), in two forms: windowed
(recompute the last ``window`` chunks, the only form for IDN, whose every step reads the current
chunk, and for OadTR) and, for the recurrent detectors (GRU, LSTM, TRN), stateful (one step on
the new chunk, the state carried over), the form they would be deployed in.
Writes ``src/f2p/data/results/ch06_online_detection.json``.

    python benchmarks/ch06_online_detection.py
    python benchmarks/ch06_online_detection.py --seeds 0 --train-streams 2 --test-streams 1 \
        --epochs 1 --encoder-clips 50 --out small.json
    python benchmarks/ch06_online_detection.py --only IDN   # retrain IDN alone, keep the rest

Per-seed values are written beside the mean and std (std over seeds, ddof = 0), and, with
distractors, how much of each past chunk the GRU's and IDN's update gates let in and keep
(:func:`f2p.oad.experiment.admission`, both measures, per seed). With ``--only``,
the named detectors' score rows are replaced in the existing file and every other row (the
other detectors, the latencies) is kept as it was measured.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

import f2p
from f2p.oad import experiment

RESULTS = f2p.results.RESULTS_DIR / "ch06_online_detection.json"


def median_ms(score_one_chunk, repeats: int = 200) -> float:
    """Median milliseconds of ``score_one_chunk()``, after 10 warm-up calls."""
    for _ in range(10):
        score_one_chunk()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        score_one_chunk()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


@torch.no_grad()
def latency_ms(model: torch.nn.Module, window: int, dim: int) -> float:
    """Windowed: score one new chunk by recomputing the last ``window`` chunks (batch 1)."""
    model.eval()
    x, lengths = torch.randn(1, window, dim), torch.tensor([window])
    return median_ms(lambda: model(x, lengths))


@torch.no_grad()
def stateful_latency_ms(model: torch.nn.Module, dim: int) -> float:
    """Stateful: one recurrent step on the new chunk, the state carried over (batch 1)."""
    model.eval()
    chunk = torch.randn(1, dim)
    state = model.stream(chunk)[1]
    return median_ms(lambda: model.stream(chunk, state))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--train-streams", type=int, default=experiment.Budget.train_streams)
    parser.add_argument("--test-streams", type=int, default=experiment.Budget.test_streams)
    parser.add_argument("--epochs", type=int, default=experiment.Budget.epochs)
    parser.add_argument("--encoder-clips", type=int, default=experiment.Budget.encoder_clips)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--only", nargs="+", help="retrain these detectors, keep the other rows")
    args = parser.parse_args()
    f2p.utils.set_threads(1)
    budget = dataclasses.replace(
        experiment.Budget(),
        train_streams=args.train_streams,
        test_streams=args.test_streams,
        epochs=args.epochs,
        encoder_clips=args.encoder_clips,
    )
    scores: dict[tuple[str, str, str], list[float]] = {}
    admitted: dict[tuple[str, str], list[float]] = {}
    for setting, distractors in experiment.SETTINGS.items():
        for seed in args.seeds:
            names = tuple(args.only or experiment.DETECTORS + experiment.EQUAL_SUPERVISION)
            runs, test_set = experiment.run(seed, distractors, budget, names, progress=False)
            for name in ("GRU", "IDN"):  # how much of each past chunk their update gates keep
                if name in runs and distractors:
                    for measure in experiment.ADMISSION_MEASURES:
                        shares = experiment.admission(
                            runs[name].model, test_set, budget.window, measure
                        )
                        for group, share in shares.items():
                            admitted.setdefault((name, measure, group), []).append(share)
            for name, run in runs.items():
                for metric in ("map", "mcap"):
                    value = getattr(run.evaluation, metric)
                    scores.setdefault((name, setting, metric), []).append(value)
                print(f"{setting}, seed {seed}, {name}: mAP {run.evaluation.map:.3f}", flush=True)
    rows = []
    for (name, setting, metric), values in scores.items():
        label = {"map": "per-frame mAP", "mcap": "mcAP"}[metric]
        for stat, value in (("mean", np.mean(values)), ("std", np.std(values))):
            rows.append({"quantity": f"{name}: {label}, {setting} ({stat})", "ours": float(value)})
        for seed, value in zip(args.seeds, values, strict=True):
            rows.append({"quantity": f"{name}: {label}, {setting} (seed {seed})",
                         "ours": float(value)})  # fmt: skip
    for (name, measure, group), shares in admitted.items():
        for seed, share in zip(args.seeds, shares, strict=True):
            rows.append({"quantity": f"{name}: {measure}, {group}, with distractors "
                         f"(seed {seed})", "ours": float(share)})  # fmt: skip
    if args.only:  # keep every row of the other detectors, and the latencies
        kept = [
            row
            for row in json.loads(args.out.read_text())["rows"]
            if not any(
                row["quantity"].startswith(f"{name}: {label},")
                for name in args.only
                for label in ("per-frame mAP", "mcAP") + experiment.ADMISSION_MEASURES
            )
        ]
        previous = json.loads(args.out.read_text())
        f2p.results.write_benchmark(  # the description says which rows come from a later run
            args.out, "06",
            f"{previous['benchmark']}; {', '.join(args.only)} re-run alone with --only "
            f"(the other rows recorded {previous['recorded']})",
            "ch06_online_detection.py", kept + rows,
        )  # fmt: skip
        return
    encoder_accuracy = [experiment.encoder(seed, budget)[1] for seed in args.seeds]
    rows.append({"quantity": "encoder accuracy on trimmed chunks (mean)",
                 "ours": float(np.mean(encoder_accuracy))})  # fmt: skip
    dim = experiment.encoder(args.seeds[0], budget)[0].backbone.width
    for name in experiment.DETECTORS:
        model = experiment.build(name, dim, budget)
        ms = latency_ms(model, budget.window, dim)
        params = sum(p.numel() for p in model.parameters())
        rows += [
            {"quantity": f"{name}: latency per chunk, windowed (ms)", "ours": round(ms, 3)},
            {"quantity": f"{name}: parameters", "ours": params},
        ]
        if hasattr(model, "stream"):  # recurrent detectors can carry their state instead
            stateful = stateful_latency_ms(model, dim)
            rows.append(
                {
                    "quantity": f"{name}: latency per chunk, stateful (ms)",
                    "ours": round(stateful, 3),
                }
            )
            print(f"{name}: stateful {stateful:.2f} ms per chunk", flush=True)
        print(f"{name}: windowed {ms:.2f} ms per chunk, {params} parameters", flush=True)
    f2p.results.write_benchmark(
        args.out,
        "06",
        f"online action detection on generated streams, {len(args.seeds)} seeds, "
        f"{budget.train_streams} training streams, {budget.epochs} epochs, window "
        f"{budget.window} chunks of {budget.stream.chunk} frames",
        "ch06_online_detection.py",
        rows,
    )


if __name__ == "__main__":
    main()
