"""Which pixels a model's conditionals read (chapter 07): measured, and for PixelCNN derived.

The *receptive field* of conditional d is the set of pixels j with d f_d / d x_j != 0 somewhere:
:func:`receptive_field` measures it on a model (trained or not) from the gradients at a few random
normal inputs, so a ReLU that happens to be off at one input does not hide a pixel.
:func:`pixelcnn_field` derives it from the architecture alone: output d reads, through the type-B
residual blocks (identity plus the taps of eq. 7.10), then the type-A first layer, the positions

    R = A( B( ... B({d}) ) ),   B(S) = S u {p + t : p in S, t a type-B tap},   A likewise,

so a test can compare the two. Pixels before d in raster order that are not in R are PixelCNN's
*blind spot*.
"""

from __future__ import annotations

import torch

from f2p.generative.base import Autoregressive
from f2p.generative.pixelcnn import causal_mask


def receptive_field(model: Autoregressive, inputs: int = 32, seed: int = 0) -> torch.Tensor:
    """``field[d, j]``: True when logit d depends on pixel j, from d logits[:, d] / d x at
    ``inputs`` random normal inputs (one backward pass per pixel d); shape ``(D, D)``."""
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(inputs, model.dim, generator=gen).to(device).requires_grad_(True)
    was_training = model.training
    model.eval()
    logits = model.logits(x)
    rows = []
    for d in range(model.dim):
        (grad,) = torch.autograd.grad(logits[:, d].sum(), x, retain_graph=d < model.dim - 1)
        rows.append((grad != 0).any(0).cpu())
    model.train(was_training)
    return torch.stack(rows)


def _dilate(reach: torch.Tensor, mask: torch.Tensor, keep: bool) -> torch.Tensor:
    """Positions p + t for p in ``reach`` (..., H, W), t a tap of ``mask`` (kept in the image)."""
    height, width = reach.shape[-2:]
    c = mask.shape[0] // 2
    out = reach.clone() if keep else torch.zeros_like(reach)
    for i, j in mask.nonzero().tolist():
        di, dj = i - c, j - c  # the output at p reads the input at p + (di, dj)
        src = reach[..., max(0, -di) : height - max(0, di), max(0, -dj) : width - max(0, dj)]
        out[..., max(0, di) : height + min(0, di), max(0, dj) : width + min(0, dj)] |= src
    return out


def pixelcnn_field(
    height: int, width: int, first_kernel: int, kernel: int, blocks: int
) -> torch.Tensor:
    """``field[d, j]`` for :class:`~f2p.generative.PixelCNN` from its masks alone, ``(D, D)``.

    All D outputs at once: ``reach[d]`` starts as pixel d alone and grows through the blocks."""
    dim = height * width
    reach = torch.eye(dim, dtype=torch.bool).view(dim, height, width)
    for _ in range(blocks):  # residual: the identity plus the type-B taps
        grown = _dilate(reach, causal_mask(kernel, "B"), keep=True)
        if torch.equal(grown, reach):  # a fixed point: more blocks reach nothing new
            break
        reach = grown
    return _dilate(reach, causal_mask(first_kernel, "A"), keep=False).view(dim, dim)
