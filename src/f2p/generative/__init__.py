"""Autoregressive generative models of binary images (chapter 07).

FVSBN (Frey et al., 1996), NADE (Larochelle and Murray, 2011), MADE (Germain et al., 2015) and
PixelCNN (van den Oord et al., 2016): four parameterisations of the chain-rule factors
p(x_i | x_<i), trained by maximum likelihood on binarised digits (scikit-learn's 8x8 digits in
the fast profile, binarised MNIST in the full one).
"""

from f2p.generative.base import Autoregressive, nats_to_bits_per_dim
from f2p.generative.data import (
    BinaryImages,
    binarize_digits,
    dynamic_binarize,
    independent_bernoulli_nll,
    load_digits_binary,
)
from f2p.generative.fvsbn import FVSBN
from f2p.generative.made import MADE, made_masks
from f2p.generative.nade import NADE
from f2p.generative.pixelcnn import PixelCNN, causal_mask
from f2p.generative.probe import pixelcnn_field, receptive_field
from f2p.generative.train import FitConfig, NLLHistory, fit, nll, nll_per_image

__all__ = [
    "FVSBN",
    "MADE",
    "NADE",
    "PixelCNN",
    "Autoregressive",
    "BinaryImages",
    "FitConfig",
    "NLLHistory",
    "binarize_digits",
    "causal_mask",
    "dynamic_binarize",
    "fit",
    "independent_bernoulli_nll",
    "load_digits_binary",
    "made_masks",
    "nats_to_bits_per_dim",
    "nll",
    "nll_per_image",
    "pixelcnn_field",
    "receptive_field",
]
