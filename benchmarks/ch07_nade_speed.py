"""Chapter 07 benchmark: NADE's O(HD) evaluation and sampling against the O(HD^2) reference.

Measures, on binarised-MNIST-sized inputs (D = 784, H = 500 as in the NADE paper), images per
second for the naive evaluation (eq. 7.5, the reference) and for three O(HD) forms of eq. (7.7):
sequential (one pixel a step), cumulative sum (one pass over an (N, H, D) tensor) and blocked
(``NADE.logits``, B pixels a step); and ancestral sampling with NADE's incremental update against
the generic sampler (one full pass per pixel). Best of ``--repeats``.

It also says where the time goes. Every evaluation computes the same N H D sigmoids (one hidden
layer per conditional), and a sigmoid costs far more than a multiply-add inside a matrix product.
So beside the counted ratio of multiply-adds (naive / O(HD), about D / 4) it measures the time of
those sigmoids alone (on tensors the size of one block, i.e. in cache) and reports the ratio that
cost model allows: naive time / sigmoid time. Writes ``src/f2p/data/results/ch07_nade_speed.json``.

    python benchmarks/ch07_nade_speed.py            # CPU, one torch thread
    F2P_DEVICE=cuda python benchmarks/ch07_nade_speed.py
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import f2p
from f2p import generative as g

RESULTS = f2p.results.RESULTS_DIR / "ch07_nade_speed.json"


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


def sigmoids_alone(x: torch.Tensor, hidden: int, block: int) -> None:
    """The N H D sigmoids every evaluation computes, on (N, block, H) tensors (cache-sized, as in
    the blocked evaluation), and nothing else."""
    a = torch.randn(len(x), block, hidden, device=x.device)
    for _ in range(0, x.shape[1], block):
        torch.sigmoid(a)


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
        reference = model.logits_naive(x)
        for form in (model.logits_sequential, model.logits_cumsum, model.logits):
            torch.testing.assert_close(form(x), reference, atol=1e-4, rtol=1e-4)

    blocks = (4, 8, 16, 32)
    figures = {
        "evaluation, naive eq. (7.5), reference (images/s)": images_per_second(
            model.logits_naive, x, args.repeats
        ),
        "evaluation, sequential eq. (7.7) (images/s)": images_per_second(
            model.logits_sequential, x, args.repeats
        ),
        "evaluation, cumulative sum eq. (7.7) (images/s)": images_per_second(
            model.logits_cumsum, x, args.repeats
        ),
        **{
            f"evaluation, blocked eq. (7.7), B = {b} (images/s)": images_per_second(
                lambda v, b=b: model.logits(v, b), x, args.repeats
            )
            for b in blocks
        },
        "sigmoids alone: N H D of them, one block at a time (images/s)": images_per_second(
            lambda v: sigmoids_alone(v, args.hidden, 16), x, args.repeats
        ),
        "sampling, incremental (images/s)": images_per_second(
            lambda v: model.sample(len(v)), x[: args.samples], args.repeats
        ),
        "sampling, generic: one pass per pixel (images/s)": images_per_second(
            lambda v: g.Autoregressive.sample(model, len(v)), x[: args.samples], 1
        ),
    }
    naive = figures["evaluation, naive eq. (7.5), reference (images/s)"]
    fastest = max(
        v for k, v in figures.items() if k.startswith("evaluation, ") and "naive" not in k
    )
    d, h = args.dim, args.hidden
    macs_naive = h * d * (d - 1) / 2 + h * d  # eq. (7.5) for every k, then the output dot products
    macs_incremental = 2 * h * d  # eq. (7.7) updates and the output dot products
    figures["multiply-adds per image, naive / O(HD) (counted)"] = macs_naive / macs_incremental
    figures["evaluation speed-up, fastest O(HD) form over naive (measured)"] = fastest / naive
    figures["speed-up the sigmoids allow: naive time / sigmoid time"] = (
        figures["sigmoids alone: N H D of them, one block at a time (images/s)"] / naive
    )
    figures["sampling speed-up, incremental over generic"] = (
        figures["sampling, incremental (images/s)"]
        / figures["sampling, generic: one pass per pixel (images/s)"]
    )
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
