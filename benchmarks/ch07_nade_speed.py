"""Chapter 07 benchmark: NADE's O(HD) evaluation and sampling against the O(HD^2) reference.

Measures, on binarised-MNIST-sized inputs (D = 784, H = 500 as in the NADE paper), images per
second for the sequential incremental evaluation (eq. 7), the naive evaluation (eq. 5, the
reference), the vectorised incremental evaluation used for training, and ancestral sampling with
NADE's incremental update against the generic sampler (one full pass per pixel). One run, best of
``--repeats``; writes ``benchmarks/results/ch07_nade_speed.json``.

    python benchmarks/ch07_nade_speed.py            # CPU, one torch thread
    F2P_DEVICE=cuda python benchmarks/ch07_nade_speed.py
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import f2p
from f2p import generative as g

RESULTS = Path(__file__).resolve().parent / "results" / "ch07_nade_speed.json"


def images_per_second(fn, x: torch.Tensor, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        if x.is_cuda:
            torch.cuda.synchronize()
        with f2p.utils.Timer() as t, torch.no_grad():
            fn(x)
            if x.is_cuda:
                torch.cuda.synchronize()
        best = min(best, t.seconds)
    return len(x) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dim", type=int, default=784)
    parser.add_argument("--hidden", type=int, default=500)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    prof = f2p.utils.profile()
    f2p.utils.set_threads(prof.threads)
    f2p.utils.seed_everything(0)
    dev = f2p.utils.device()
    model = g.NADE(args.dim, hidden=args.hidden).to(dev)
    x = torch.bernoulli(torch.full((args.batch, args.dim), 0.13)).to(dev)  # MNIST's ink density
    with torch.no_grad():
        torch.testing.assert_close(
            model.logits_sequential(x), model.logits_naive(x), atol=1e-4, rtol=1e-4
        )

    figures = {
        "evaluation, sequential eq. (7) (images/s)": images_per_second(
            model.logits_sequential, x, args.repeats
        ),
        "evaluation, naive eq. (5), reference (images/s)": images_per_second(
            model.logits_naive, x, args.repeats
        ),
        "evaluation, vectorised eq. (7) (images/s)": images_per_second(
            model.logits, x, args.repeats
        ),
        "sampling, incremental (images/s)": images_per_second(
            lambda v: model.sample(len(v)), x[: args.samples], args.repeats
        ),
        "sampling, generic: one pass per pixel (images/s)": images_per_second(
            lambda v: g.Autoregressive.sample(model, len(v)), x[: args.samples], 1
        ),
    }
    names = list(figures)
    figures["evaluation speed-up, sequential over naive"] = figures[names[0]] / figures[names[1]]
    figures["sampling speed-up, incremental over generic"] = figures[names[3]] / figures[names[4]]
    for name, value in figures.items():
        print(f"{value:>12,.1f}  {name}")

    where = f"{dev.type}, {torch.get_num_threads()} torch thread(s)"
    if dev.type == "cuda":
        where = torch.cuda.get_device_name(dev)
    f2p.results.write(
        args.out,
        {
            "chapter": "07",
            "benchmark": f"NADE speed, D={args.dim}, H={args.hidden}, batch {args.batch}",
            "command": "python benchmarks/ch07_nade_speed.py",
            "profile": prof.name,
            "device": where,
            "rows": [
                {"quantity": name, "ours": round(value, 1)} for name, value in figures.items()
            ],
        },
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
