"""Video benchmark of chapters 03-05: classifiers on the generated label sets, over seeds,
with their parameters, FLOPs and training and inference throughput, in one run.

Every model uses the same 2D backbone (or its 3D counterpart), data and budget (generated 8-frame
clips of moving digits; Adam with a one-cycle schedule); accuracy is reported as mean ± std over
seeds. Throughput is clips per second with batch 64 on one torch thread, from RGB clips (a model
that needs optical flow or RGB differences pays for computing them): inference (no gradients)
and training (forward, backward, optimiser step). ``--chapter`` picks the models, label sets and
budget of that chapter's table and writes ``src/f2p/data/results/chNN_video_models.json``.

    python benchmarks/video_models.py --chapter 03
    python benchmarks/video_models.py --chapter 05 --seeds 0 --train 64 --epochs 1 --out s.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

import f2p
from f2p.video import data, zoo
from f2p.video.train import train_classifier

RESULTS = f2p.results.RESULTS_DIR
FRAMES = 8
CHAPTERS = {  # models, label sets, training clips, epochs
    "03": (
        # "3D" is the non-local model's network without its block: the control for it
        ["TSN", "TSM", "TSM, in-place", "TSM, online", "TRN", "ECO-style", "non-local", "3D"],
        ["appearance", "temporal", "hard"],
        1000,
        8,
    ),
    "04": (
        ["TSN", "TSN, RGB difference", "TSN, flow", "STM", "TEA"],
        ["appearance", "temporal", "hard"],
        800,
        6,
    ),
    "05": (
        ["TSN", "TSM", "TAM", "TDN", "3D", "(2+1)D"],
        ["appearance", "temporal", "hard"],
        800,
        6,
    ),
}


def throughput(
    recipe: zoo.Recipe, widths, size: int, train: bool, repeats: int = 9, batch: int = 64
) -> float:
    """Clips per second from RGB clips in batches of ``batch``: inference, or one full training
    step; the median over ``repeats`` timed steps after two warm-up steps."""
    model = recipe.build(10, widths, FRAMES)
    clips, labels = torch.rand(batch, FRAMES, 3, size, size), torch.randint(10, (batch,))
    optimizer = torch.optim.Adam(model.parameters())
    transform = recipe.transform or (lambda x: x)

    def step() -> None:
        if train:
            loss = torch.nn.functional.cross_entropy(model(transform(clips)), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        else:
            with torch.no_grad():
                model(transform(clips))

    model.train(train)
    step(), step()  # warm-up
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    return len(clips) / float(np.median(seconds))


def previous_accuracies(
    path: Path, names: list[str], retrain: list[str] | None
) -> dict[str, list[dict]]:
    """The accuracy rows of the models *not* in ``retrain``, read from the results file at
    ``path`` (nothing when ``retrain`` is None: everything is trained)."""
    if retrain is None:
        return {}
    unknown = set(retrain) - set(names)
    if unknown:
        raise SystemExit(f"--retrain: unknown models {sorted(unknown)}; this chapter has {names}")
    if not path.is_file():
        raise SystemExit(f"--retrain keeps accuracies from {path}, which does not exist")
    previous = f2p.results.validate(json.loads(path.read_text()), str(path))
    rows = {}
    for name in set(names) - set(retrain):
        rows[name] = [r for r in previous["rows"] if r["quantity"].startswith(f"{name}: accuracy")]
        if not rows[name]:
            raise SystemExit(f"{path} has no accuracy rows for {name!r}: train it too")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chapter", choices=sorted(CHAPTERS), default="03")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--train", type=int, help="training clips (default: the chapter's)")
    parser.add_argument("--test", type=int, default=500, help="test clips")
    parser.add_argument("--epochs", type=int, help="epochs (default: the chapter's)")
    parser.add_argument("--size", type=int, default=24)
    parser.add_argument("--widths", type=int, nargs=3, default=[8, 16, 16])
    parser.add_argument("--out", type=Path, help="default: results/chNN_video_models.json")
    parser.add_argument("--models", nargs="+", help="only these of the chapter's models")
    parser.add_argument(
        "--label-sets", nargs="+", choices=data.ALL_LABEL_SETS, help="default: the chapter's"
    )
    parser.add_argument("--timing-batch", type=int, default=64, help="clips per timed step")
    parser.add_argument("--timing-repeats", type=int, default=9, help="timed steps per median")
    parser.add_argument(
        "--retrain",
        nargs="*",
        metavar="MODEL",
        help="train only these models (none: train nothing) and keep the other models' accuracy "
        "rows from the existing results file (parameters, FLOPs and throughput are measured "
        "again for every model)",
    )
    args = parser.parse_args()
    names, label_sets, n_train, epochs = CHAPTERS[args.chapter]
    if args.models:
        if set(args.models) - set(names):
            raise SystemExit(f"--models: unknown {sorted(set(args.models) - set(names))}")
        names = [name for name in names if name in args.models]
    label_sets = args.label_sets or label_sets
    n_train, epochs = args.train or n_train, args.epochs or epochs
    out = args.out or RESULTS / f"ch{args.chapter}_video_models.json"
    kept = previous_accuracies(out, names, args.retrain)
    f2p.utils.set_threads(1)
    widths = tuple(args.widths)
    # Inference in a process that has not yet run a backward pass measured ~2x slower (TSN, the
    # first model: 600 against 1,190 clips/s): warm up once so that no model pays for it.
    timing = {"repeats": args.timing_repeats, "batch": args.timing_batch}
    throughput(zoo.recipe(names[0]), widths, args.size, train=True, **timing)
    rows = []
    for name in names:
        recipe = zoo.recipe(name)
        if name in kept:
            rows += kept[name]
            label_sets_to_train = []
        else:
            label_sets_to_train = label_sets
        for label_set in label_sets_to_train:
            scores = []
            for seed in args.seeds:
                train = data.VideoClips(n_train, label_set, seed=2 * seed, size=args.size)
                test = data.VideoClips(args.test, label_set, seed=2 * seed + 1, size=args.size)
                torch.manual_seed(seed)
                model = recipe.build(len(train.classes), widths, FRAMES)
                history = train_classifier(
                    model, train, test, epochs, transform=recipe.transform, seed=seed,
                    progress=False,
                )  # fmt: skip
                scores.append(history.test_accuracy[-1])
            mean, std = float(np.mean(scores)), float(np.std(scores))
            print(f"{name:>20} {label_set:>10}: {mean:.3f} ± {std:.3f} {scores}", flush=True)
            rows.append({"quantity": f"{name}: accuracy, {label_set} set (mean)", "ours": mean})
            rows.append({"quantity": f"{name}: accuracy, {label_set} set (std)", "ours": std})
            rows += [  # per seed, for paired comparisons (f2p.stats.paired): seeds are shared
                {"quantity": f"{name}: accuracy, {label_set} set (seed {seed})", "ours": score}
                for seed, score in zip(args.seeds, scores, strict=True)
            ]
        model = recipe.build(10, widths, FRAMES).eval()
        clip = torch.rand(1, FRAMES, 3, args.size, args.size)
        with FlopCounterMode(display=False) as counter:
            model(recipe.transform(clip) if recipe.transform else clip)
        speeds = {
            mode: throughput(recipe, widths, args.size, mode == "train", **timing)
            for mode in ("inference", "train")
        }
        rows += [
            {"quantity": f"{name}: parameters", "ours": sum(p.numel() for p in model.parameters())},
            {"quantity": f"{name}: FLOPs per clip", "ours": counter.get_total_flops()},
            {"quantity": f"{name}: inference clips/s", "ours": round(speeds["inference"], 1)},
            {"quantity": f"{name}: training clips/s", "ours": round(speeds["train"], 1)},
        ]
        print(
            f"{name:>20}: {speeds['inference']:.0f} inference / {speeds['train']:.0f} training "
            "clips/s",
            flush=True,
        )
    if {"TSN", "TSM"} <= set(names):
        tsn, tsm = (
            next(r["ours"] for r in rows if r["quantity"] == f"{m}: inference clips/s")
            for m in ("TSN", "TSM")
        )
        rows.append({"quantity": "TSM inference throughput / TSN's", "ours": round(tsm / tsn, 3)})
    f2p.results.write_benchmark(
        out,
        args.chapter,
        f"video models on generated clips, {len(args.seeds)} seeds, "
        f"{n_train} training clips, {epochs} epochs, {args.size} px, widths "
        f"{'/'.join(map(str, widths))}, {args.test} test clips"
        + (f", {'/'.join(label_sets)} set" if args.label_sets else "")
        + (
            "; accuracy "
            + (f"of {', '.join(args.retrain)} from this run, of the others " * bool(args.retrain))
            + "from earlier runs of this script; costs and throughput of all from this run"
            if args.retrain is not None
            else ""
        ),
        f"video_models.py --chapter {args.chapter}",
        rows,
    )


if __name__ == "__main__":
    main()
