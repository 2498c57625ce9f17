"""Chapter 07, full profile: NADE on binarised MNIST, against the paper's 88.86 nats.

Trains NADE (H = 500, raster order) with Adam and early stopping on the 10,000 validation images
and reports the exact test NLL in nats per image; writes
``src/f2p/data/results/ch07_nade_mnist.json``.
Meant for a GPU (a few minutes); downloads MNIST (about 11 MB) into ``$F2P_DATA`` on first use.

    F2P_PROFILE=full python benchmarks/ch07_nade_mnist.py
    python benchmarks/ch07_nade_mnist.py --dataset digits --epochs 5 --out smoke.json  # smoke test
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import f2p
from f2p import generative as g

RESULTS = f2p.results.RESULTS_DIR / "ch07_nade_mnist.json"
PAPER_NLL = 88.86  # Larochelle and Murray (2011), binarised MNIST


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=["mnist", "digits"], default="mnist")
    parser.add_argument("--hidden", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--patience", type=int, default=20)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    prof, dev = f2p.utils.setup(args.seed)
    if args.dataset == "mnist":
        from f2p.generative.mnist import load_binarized_mnist

        data = load_binarized_mnist()
    else:
        data = g.load_digits_binary()
    model = g.NADE(data.dim, hidden=args.hidden).to(dev)
    config = g.FitConfig(epochs=args.epochs, patience=args.patience, lr=args.lr)
    history = g.fit(model, data.train, data.valid, config, seed=args.seed)
    test_nll = g.nll(model, data.test)
    print(
        f"NADE H={args.hidden} on {args.dataset}: test NLL {test_nll:.2f} nats "
        f"(valid {min(history.valid_nll):.2f}, epoch {history.best_epoch}, {history.seconds:.0f} s)"
    )
    row = {"quantity": "test NLL (nats per image)", "ours": round(test_nll, 2)}
    if args.dataset == "mnist":
        row.update(reference=PAPER_NLL, reference_source="Larochelle and Murray (2011)")
    where = dev.type if dev.type == "cpu" else torch.cuda.get_device_name(dev)
    f2p.results.write(
        args.out,
        {
            "chapter": "07",
            "benchmark": f"NADE H={args.hidden} on binarised {args.dataset}",
            "command": "F2P_PROFILE=full python benchmarks/ch07_nade_mnist.py",
            "profile": prof.name,
            "device": where,
            "rows": [
                row,
                {"quantity": "training time (s)", "ours": round(history.seconds, 1)},
                {"quantity": "epochs until the best validation NLL", "ours": history.best_epoch},
            ],
        },
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
