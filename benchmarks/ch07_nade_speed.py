"""Chapter 07 benchmark: NADE's O(HD) evaluation and sampling against the O(HD^2) reference.

Measures, on binarised-MNIST-sized inputs (D = 784, H = 500 as in the NADE paper), images per
second for the naive evaluation (eq. 7.5, the reference) and for three O(HD) forms of eq. (7.7):
sequential (one pixel a step), cumulative sum (one pass over an (N, H, D) tensor) and blocked
(``NADE.logits``, B pixels a step); and ancestral sampling with NADE's incremental update against
the generic sampler (one full pass per pixel). Every form is timed once per round, the rounds
repeated ``--repeats`` times, so that each form meets the same load; the file reports the median
and the lowest and highest of the rounds (the generic sampler, hundreds of times slower, once). The
speed-ups are ratios within a round.

It also bounds where the time can go. Every evaluation computes the same N H D sigmoids (one
hidden layer per conditional); beside the counted ratio of multiply-adds (naive / sequential,
about D / 4; the blocked form multiplies each B x B block in full, H D (B + 2) multiply-adds, so
its own ratio is about D / (2 (B + 2)), which chapter 07 computes beside each form) it times
those sigmoids alone (on tensors the size of one block, i.e. in cache) and reports
naive time / sigmoid time: the most any form could gain if it paid for nothing but them.
Writes ``src/f2p/data/results/ch07_nade_speed.json``.

    python benchmarks/ch07_nade_speed.py            # CPU, one torch thread
    F2P_DEVICE=cuda python benchmarks/ch07_nade_speed.py
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

import f2p
from f2p import generative as g

RESULTS = f2p.results.RESULTS_DIR / "ch07_nade_speed.json"


def images_per_second(fn, x: torch.Tensor) -> float:
    """One timed call of ``fn(x)``, in images per second."""
    if x.is_cuda:
        torch.cuda.synchronize()
    with f2p.utils.Timer() as t, torch.no_grad():
        fn(x)
        if x.is_cuda:
            torch.cuda.synchronize()
    return len(x) / t.seconds


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
    parser.add_argument("--repeats", type=int, default=9)
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
    forms = {
        "naive eq. (7.5)": model.logits_naive,
        "sequential eq. (7.7)": model.logits_sequential,
        "cumulative sum eq. (7.7)": model.logits_cumsum,
        **{f"blocked eq. (7.7), B = {b}": lambda v, b=b: model.logits(v, b) for b in blocks},
        "sigmoids alone (N H D of them)": lambda v: sigmoids_alone(v, args.hidden, 16),
        "sampling, incremental": lambda v: model.sample(len(v)),
    }
    speeds = {name: [] for name in forms}
    for _ in range(args.repeats):  # round-robin: every form meets the same load in each round
        for name, fn in forms.items():
            batch = x[: args.samples] if name.startswith("sampling") else x
            speeds[name].append(images_per_second(fn, batch))
    speeds = {name: np.array(v) for name, v in speeds.items()}
    naive = speeds["naive eq. (7.5)"]
    o_hd = [n for n in forms if "eq. (7.7)" in n]
    fastest = np.max([speeds[n] for n in o_hd], axis=0)  # per round: the best O(HD) form
    d, h = args.dim, args.hidden
    macs_naive = h * d * (d - 1) / 2 + h * d  # eq. (7.5) for every k, then the output dot products
    macs_incremental = 2 * h * d  # eq. (7.7) updates and the output dot products
    speeds["speed-up, fastest O(HD) form over naive"] = fastest / naive
    speeds["speed-up the sigmoids allow (naive time / sigmoid time)"] = (
        speeds["sigmoids alone (N H D of them)"] / naive
    )
    rows = []
    for name, values in speeds.items():
        unit = "" if name.startswith("speed-up") else " (images/s)"
        for stat, value in (
            ("median", np.median(values)),
            ("lowest", values.min()),
            ("highest", values.max()),
        ):
            rows.append({"quantity": f"{name}: {stat}{unit}", "ours": round(float(value), 1)})
        print(f"{name}: median {np.median(values):,.1f} ({values.min():,.1f}-{values.max():,.1f})")
    generic = images_per_second(lambda v: g.Autoregressive.sample(model, len(v)), x[: args.samples])
    rows += [
        {
            "quantity": "sampling, generic (one pass per pixel; one timing), images/s",
            "ours": generic,
        },
        {
            "quantity": "multiply-adds per image, naive / O(HD) (counted)",
            "ours": macs_naive / macs_incremental,
        },
    ]
    for row in rows[-2:]:
        row["ours"] = round(row["ours"], 1)
        print(f"{row['ours']:,.1f}  {row['quantity']}")

    where = f"{dev.type}, {torch.get_num_threads()} torch thread(s)"
    if dev.type == "cuda":
        where = torch.cuda.get_device_name(dev)
    f2p.results.write_benchmark(  # records the machine and the date beside the numbers
        args.out,
        chapter="07",
        benchmark=(
            f"NADE speed, D={args.dim}, H={args.hidden}, batch {args.batch}: median, "
            f"lowest and highest of {args.repeats} rounds"
        ),
        script="ch07_nade_speed.py",
        rows=rows,
        profile=prof.name,
        device=where,
    )


if __name__ == "__main__":
    main()
