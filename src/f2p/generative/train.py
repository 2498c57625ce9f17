"""Maximum-likelihood training with early stopping, shared by the models of chapter 07.

Minimising the average negative log-likelihood of the training images is minimising
KL(p_data || p_theta) up to the data entropy   (eq. 7.3), so the loss is
``-log_prob(x).mean()`` in nats per image, and validation NLL decides when to stop.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import torch
from tqdm.auto import trange

from f2p import distributed, utils
from f2p.generative.base import Autoregressive
from f2p.generative.data import check_binary
from f2p.generative.made import MADE


@dataclass
class FitConfig:
    """Settings of :func:`fit`."""

    epochs: int = 200
    """the most passes over the training set"""
    batch_size: int = 100
    """images per minibatch"""
    lr: float = 1e-3
    """Adam's learning rate"""
    patience: int = 20
    """stop after this many epochs without a better validation NLL (the best state is kept)"""
    weight_decay: float = 0.0
    """Adam's L2 penalty"""
    bf16: bool | None = None
    """the training step under bf16 autocast (:func:`f2p.utils.autocast`; ``None``: as the
    profile says); validation NLLs are computed in float32"""

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "patience"):
            if getattr(self, name) < 1:
                raise ValueError(f"FitConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0 or self.weight_decay < 0:
            raise ValueError(
                f"need lr > 0 and weight_decay >= 0, got {self.lr}, {self.weight_decay}"
            )


@dataclass
class NLLHistory:
    """Per-epoch training and validation NLL (nats per image) and the epoch that was kept."""

    train_nll: list[float] = field(default_factory=list)
    valid_nll: list[float] = field(default_factory=list)
    best_epoch: int = 0
    seconds: float = 0.0


@torch.no_grad()
def nll_per_image(model: Autoregressive, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Exact negative log-likelihood in nats of each image (MADE: its mask ensemble), on the CPU:
    the per-image values that a paired comparison of two models on the same images needs."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(x), batch_size):
        xb = x[start : start + batch_size].to(device)
        lp = model.log_prob_ensemble(xb) if isinstance(model, MADE) else model.log_prob(xb)
        out.append(-lp.double().cpu())
    return torch.cat(out)


def nll(model: Autoregressive, x: torch.Tensor, batch_size: int = 1000) -> float:
    """Exact average negative log-likelihood in nats per image (MADE: its mask ensemble)."""
    return nll_per_image(model, x, batch_size).mean().item()


def fit(
    model: Autoregressive,
    train: torch.Tensor,
    valid: torch.Tensor,
    config: FitConfig | None = None,
    seed: int = 0,
    train_grey: torch.Tensor | None = None,
    progress: bool = True,
) -> NLLHistory:
    """Train ``model`` by maximum likelihood (Adam), keeping the state with the best validation NLL.

    With ``train_grey`` (grey levels in [0, 1]) the training images are binarised anew each epoch
    (dynamic binarisation); otherwise ``train`` is used as it is. The model trains where its
    parameters are; under ``torchrun`` each process trains on its share of every minibatch with
    gradients averaged (:mod:`f2p.distributed`), and all processes keep the same best state.
    """
    config = config or FitConfig()
    check_binary(train, model.dim, "train")
    check_binary(valid, model.dim, "valid")
    here, device, log_prob = distributed.prepare(
        model, next(model.parameters()).device, method="log_prob"
    )
    gen = torch.Generator().manual_seed(seed)  # the same draws in every process
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    history, best_state, best = NLLHistory(), None, float("inf")
    start = time.perf_counter()
    bar = trange(
        config.epochs, desc=type(model).__name__, disable=not progress or not here.main, leave=False
    )
    for epoch in bar:
        data = torch.bernoulli(train_grey, generator=gen) if train_grey is not None else train
        data = data.to(device)  # moved once per epoch, not per minibatch
        perm = torch.randperm(len(data), generator=gen).to(device)
        model.train()
        running = torch.zeros((), dtype=torch.float64, device=device)  # read once per epoch
        for i in range(0, len(data), config.batch_size):
            xb = data[distributed.shard(perm[i : i + config.batch_size], here)]
            with utils.autocast(device, config.bf16):
                loss = -log_prob(xb).mean()  # eq. (7.3): NLL in nats per image
            opt.zero_grad()
            loss.backward()
            opt.step()
            if isinstance(model, MADE):
                model.next_mask()
            running += loss.detach().double() * len(xb)
        history.train_nll.append(distributed.total(float(running), here, device) / len(data))
        history.valid_nll.append(nll(model, valid))
        bar.set_postfix(valid=f"{history.valid_nll[-1]:.2f}")
        if history.valid_nll[-1] < best:
            best, history.best_epoch = history.valid_nll[-1], epoch
            best_state = copy.deepcopy(model.state_dict())
        elif epoch - history.best_epoch >= config.patience:
            break
    model.load_state_dict(best_state)
    history.seconds = time.perf_counter() - start
    return history
