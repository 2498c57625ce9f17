"""PixelCNN (van den Oord et al., 2016), chapter 07: masked convolutions over the image.

Pixels are predicted in raster order. A k x k convolution is made causal by a mask that keeps
the taps above the centre row and, in the centre row, those left of the centre:

    type A (first layer):  centre tap off  -- pixel i must not see itself;   (eq. 7.10)
    type B (later layers): centre tap on   -- position i holds only x_<i by then.

Stacking such layers leaves a *blind spot*: pixels above and to the right of the current one
that the receptive field never reaches (the gated PixelCNN's two stacks remove it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from f2p.generative.base import Autoregressive


def causal_mask(kernel_size: int, mask_type: str) -> torch.Tensor:
    """The (k, k) 0/1 mask of eq. (7.10): rows above the centre, and left of it (type A) or up to
    and including it (type B) in the centre row."""
    if mask_type not in ("A", "B"):
        raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd and positive, got {kernel_size}")
    c = kernel_size // 2
    mask = torch.zeros(kernel_size, kernel_size)
    mask[:c, :] = 1
    mask[c, : c + (mask_type == "B")] = 1
    return mask


class MaskedConv2d(nn.Conv2d):
    """A same-padded 2D convolution whose taps are masked by :func:`causal_mask`."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, mask_type: str) -> None:
        super().__init__(c_in, c_out, kernel_size, padding=kernel_size // 2)
        self.register_buffer("mask", causal_mask(kernel_size, mask_type)[None, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class ResidualBlock(nn.Module):
    """The paper's residual block: 1x1 (2h -> h), masked k x k type B (h -> h), 1x1 (h -> 2h)."""

    def __init__(self, channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        half = channels // 2
        self.net = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(channels, half, 1),
            nn.ReLU(),
            MaskedConv2d(half, half, kernel_size, "B"),
            nn.ReLU(),
            nn.Conv2d(half, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class PixelCNN(Autoregressive):
    """Masked 7x7 type-A convolution, residual type-B blocks, two 1x1 layers, one logit per pixel.

    1x1 convolutions need no mask: they mix channels at one position only.
    """

    def __init__(
        self,
        height: int,
        width: int,
        channels: int = 64,
        blocks: int = 4,
        first_kernel: int = 7,
        kernel: int = 3,
    ) -> None:
        super().__init__(height * width)
        if channels < 2 or channels % 2:
            raise ValueError(f"channels must be an even int >= 2, got {channels}")
        self.height, self.width = height, width
        self.net = nn.Sequential(
            MaskedConv2d(1, channels, first_kernel, "A"),
            *[ResidualBlock(channels, kernel) for _ in range(blocks)],
            nn.ReLU(),
            nn.Conv2d(channels, channels, 1),
            nn.ReLU(),
            nn.Conv2d(channels, 1, 1),
        )

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        images = x.view(-1, 1, self.height, self.width)
        return self.net(images).view(-1, self.dim)
