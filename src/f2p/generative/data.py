"""Binarised digit images for chapter 07 (autoregressive models).

Fast profile: scikit-learn's 8x8 digits (1797 images, grey levels 0..16, shipped with the
package), binarised by the fixed rule ``pixel >= 8`` and split once, with a fixed permutation,
into 1300 training, 200 validation and 297 test images. Full profile: binarised MNIST 28x28
(:mod:`f2p.generative.mnist`).

Images are handled flat: a batch is a float tensor of shape ``(N, D)`` with entries in {0, 1},
``D = height * width`` in raster order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

DIGITS_SPLIT = (1300, 200, 297)
DIGITS_THRESHOLD = 8  # of 16 grey levels
DIGITS_SPLIT_SEED = 0


@dataclass(frozen=True)
class BinaryImages:
    """A train/validation/test split of binary images, each ``(N, height*width)`` in {0, 1}."""

    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    height: int
    """image height in pixels"""
    width: int
    """image width in pixels"""
    train_grey: torch.Tensor | None = None
    """training images as grey levels in [0, 1], for dynamic binarisation (None if unknown)"""

    @property
    def dim(self) -> int:
        return self.height * self.width


def check_binary(x: torch.Tensor, dim: int, name: str = "x") -> torch.Tensor:
    """Return ``x`` if it is a ``(N, dim)`` tensor of zeros and ones; else raise a clear error."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} should be a torch.Tensor of shape (N, {dim}), got {type(x).__name__}"
        )
    if x.dim() != 2 or x.shape[1] != dim:
        raise ValueError(
            f"{name} should have shape (N, {dim}) (flattened binary images), got {tuple(x.shape)}"
        )
    if not torch.all((x == 0) | (x == 1)):
        bad = x[(x != 0) & (x != 1)][0].item()
        raise ValueError(f"{name} should hold only 0 and 1 (binarise it first), found {bad:g}")
    return x


def binarize_digits(
    grey: np.ndarray | torch.Tensor, threshold: int = DIGITS_THRESHOLD
) -> torch.Tensor:
    """The fixed rule for the 8x8 digits: a pixel is on when its grey level (0..16) >= threshold."""
    grey = torch.as_tensor(np.asarray(grey), dtype=torch.float32)
    if grey.min() < 0 or grey.max() > 16:
        raise ValueError(
            f"digit grey levels should lie in 0..16, got {grey.min():g}..{grey.max():g}"
        )
    return (grey >= threshold).float()


def dynamic_binarize(
    grey01: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Stochastic binarisation: pixel ~ Bernoulli(grey level in [0, 1]), drawn anew on each call.

    Resampling the training set each epoch acts as data augmentation and reduces overfitting; the
    evaluation set must then be binarised the same way (once, with a fixed seed).
    """
    if grey01.min() < 0 or grey01.max() > 1:
        raise ValueError("grey levels for dynamic binarisation should lie in [0, 1]")
    return torch.bernoulli(grey01, generator=generator)


def independent_bernoulli_nll(train: torch.Tensor, test: torch.Tensor) -> float:
    """The trivial model's test NLL in nats per image: independent pixels,
    p(x) = prod_d p_d^x_d (1 - p_d)^(1 - x_d), with p_d the training frequency of pixel d under
    Laplace's rule, (count + 1) / (N + 2), so that no test pixel has probability zero."""
    check_binary(train, train.shape[-1], "train")
    check_binary(test, train.shape[-1], "test")
    p = (train.sum(0, dtype=torch.float64) + 1) / (len(train) + 2)
    x = test.double()
    return -(x * p.log() + (1 - x) * (1 - p).log()).sum(1).mean().item()


def load_digits_binary() -> BinaryImages:
    """scikit-learn's digits, binarised (``pixel >= 8``), split 1300/200/297 with a fixed seed."""
    from sklearn.datasets import load_digits

    grey = load_digits().data  # (1797, 64), grey levels 0..16, no download
    perm = np.random.default_rng(DIGITS_SPLIT_SEED).permutation(len(grey))
    n_train, n_valid, n_test = DIGITS_SPLIT
    idx_train, idx_valid = perm[:n_train], perm[n_train : n_train + n_valid]
    idx_test = perm[n_train + n_valid : n_train + n_valid + n_test]
    x = binarize_digits(grey)
    return BinaryImages(
        train=x[idx_train],
        valid=x[idx_valid],
        test=x[idx_test],
        height=8,
        width=8,
        train_grey=torch.as_tensor(grey[idx_train] / 16.0, dtype=torch.float32),
    )
