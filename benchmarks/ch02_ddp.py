"""Data-parallel training of chapter 02's TSN (f2p.video.train.train_classifier) on 1 and on N
processes, PyTorch DDP launched by torchrun: training clips per second and test accuracy.

Each run is ``torchrun --standalone --nproc_per_node=N benchmarks/ch02_ddp.py --worker``: the
same data, model, seed and global batch; each process trains on its share of every batch with
``cores / N`` torch threads, and rank 0 alone writes the run's figures. Writes
``src/f2p/data/results/ch02_ddp.json``.

    python benchmarks/ch02_ddp.py                         # 1 and 2 processes
    python benchmarks/ch02_ddp.py --processes 1 2 4 --clips 1200 --epochs 4
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

import f2p
from f2p import distributed
from f2p.video import data, models
from f2p.video.train import train_classifier

RESULTS = f2p.results.RESULTS_DIR / "ch02_ddp.json"


def worker(args: argparse.Namespace) -> None:
    """One process of a run (started by torchrun)."""
    here = distributed.setup("cpu")
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // here.size))
    clips, labels, _, _ = data.make_clips(args.clips, "temporal", frames=8, size=16, seed=0)
    test_clips, test_labels, _, _ = data.make_clips(256, "temporal", frames=8, size=16, seed=1)
    classes = int(labels.max()) + 1
    torch.manual_seed(0)
    model = models.TSN(classes, frames=8, consensus="avg", widths=(16, 32, 32))
    history = train_classifier(
        model,
        data.ClipTensors(clips, labels),
        data.ClipTensors(test_clips, test_labels),
        epochs=args.epochs,
        batch=args.batch,
        lr=1e-2,
        progress=here.main,
    )
    if here.main:
        args.out.mkdir(parents=True, exist_ok=True)
        run = {
            "processes": here.size,
            "threads_per_process": torch.get_num_threads(),
            "classes": classes,
            "clips_per_second": args.clips * args.epochs / history.seconds,
            "test_accuracy": history.test_accuracy[-1],
        }
        (args.out / "run.json").write_text(json.dumps(run, indent=2) + "\n")


def launch(processes: int, args: argparse.Namespace, out: Path) -> dict:
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone",
        f"--nproc_per_node={processes}", __file__, "--worker", "--out", str(out),
        "--clips", str(args.clips), "--epochs", str(args.epochs), "--batch", str(args.batch),
    ]  # fmt: skip
    subprocess.run(command, check=True)
    return json.loads((out / "run.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clips", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--worker", action="store_true", help="one process of a torchrun run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.processes:
            runs[n] = launch(n, args, Path(tmp) / str(n))
    base = runs[min(runs)]["clips_per_second"]
    rows = []
    for n, run in runs.items():
        figures = {
            "training clips per second": run["clips_per_second"],
            f"speed-up over {min(runs)} process(es)": run["clips_per_second"] / base,
            "test accuracy": run["test_accuracy"],
        }
        rows += [{"quantity": f"{n} process(es): {k}", "ours": v} for k, v in figures.items()]
    f2p.results.write_benchmark(
        args.out, "02", "data-parallel TSN training (DDP, gloo)", "ch02_ddp.py", rows,
        profile="fast", device=f"cpu, {os.cpu_count()} cores shared by the processes",
    )  # fmt: skip


if __name__ == "__main__":
    main()
