"""3D convolutional networks with the same layout as the shared 2D backbone (chapter 05).

- ``kind="3d"``: every 3x3 convolution becomes 3x3x3 (C3D, Tran et al., ICCV 2015; as a residual
  network, the 3D ResNets that I3D and R(2+1)D compare against).
- ``kind="2+1d"``: R(2+1)D (Tran et al., CVPR 2018): a 1x3x3 spatial convolution to M channels,
  BN, ReLU, then a 3x1x1 temporal one, with M chosen so that the parameters match the 3D
  convolution: M = floor(t d^2 C_in C_out / (d^2 C_in + t C_out)).
- :func:`inflate`: I3D's inflation (Carreira and Zisserman, CVPR 2017): a 2D network's k x k
  filters repeated t times along time and divided by t, so that on a static clip (the same frame
  repeated) the 3D network computes exactly what the 2D one computes on that frame.
- :func:`temporal_uniformity`: how close learned temporal kernels are to a uniform average;
  :func:`temporal_spectrum` splits each kernel's energy into average, difference and
  second-difference parts (its orthonormal DCT-II coefficients), which ``u`` alone cannot.

Time is padded by repeating the first and last frames (rather than zeros) so that the inflation
identity holds at the ends of the clip too; space is zero-padded as in the 2D network.
``time_padding="zeros"`` pads time with zeros instead (as C3D and I3D do), the control for what
replication does to the temporal kernels: at the two end frames it makes two taps read the same
frame.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

KINDS = ("3d", "2+1d")
TIME_PADDINGS = ("replicate", "zeros")


def _pad_time(x: torch.Tensor, pad: int, mode: str = "replicate") -> torch.Tensor:
    if not pad:
        return x
    return F.pad(x, (0, 0, 0, 0, pad, pad), mode="replicate" if mode == "replicate" else "constant")


class SpaceTimeConv(nn.Module):
    """A t x k x k convolution, full (``"3d"``) or factorised (``"2+1d"``), on (N, C, T, H, W);
    stride in space only; time padded by ``time_padding`` (see the module's docstring)."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        stride: int = 1,
        kind: str = "3d",
        t: int = 3,
        k: int = 3,
        time_padding: str = "replicate",
    ) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if time_padding not in TIME_PADDINGS:
            raise ValueError(f"time_padding must be one of {TIME_PADDINGS}, got {time_padding!r}")
        self.t, self.time_padding = t, time_padding
        spatial = dict(stride=(1, stride, stride), padding=(0, k // 2, k // 2), bias=False)
        if kind == "3d":
            self.spatial = None
            self.conv = nn.Conv3d(c_in, c_out, (t, k, k), **spatial)
        else:
            middle = (t * k * k * c_in * c_out) // (k * k * c_in + t * c_out)
            self.spatial = nn.Sequential(
                nn.Conv3d(c_in, middle, (1, k, k), **spatial), nn.BatchNorm3d(middle), nn.ReLU()
            )
            self.conv = nn.Conv3d(middle, c_out, (t, 1, 1), bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.spatial is not None:
            x = self.spatial(x)
        return self.conv(_pad_time(x, self.t // 2, self.time_padding))


class ResBlock3D(nn.Module):
    """The 2D backbone's residual block with space-time convolutions."""

    def __init__(
        self, c_in: int, c_out: int, stride: int = 1, kind: str = "3d", time_padding="replicate"
    ) -> None:
        super().__init__()
        self.conv1 = SpaceTimeConv(c_in, c_out, stride, kind, time_padding=time_padding)
        self.bn1 = nn.BatchNorm3d(c_out)
        self.conv2 = SpaceTimeConv(c_out, c_out, 1, kind, time_padding=time_padding)
        self.bn2 = nn.BatchNorm3d(c_out)
        self.shortcut = (
            nn.Sequential(
                nn.Conv3d(c_in, c_out, 1, (1, stride, stride), bias=False), nn.BatchNorm3d(c_out)
            )
            if stride != 1 or c_in != c_out
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class Net3D(nn.Module):
    """Stem, three residual blocks and a classifier, all space-time: clips (N, T, C, H, W) to
    class scores (N, classes) by global average pooling over time and space."""

    def __init__(
        self,
        classes: int,
        channels: int = 3,
        widths: tuple[int, int, int] = (16, 32, 32),
        kind: str = "3d",
        time_padding: str = "replicate",
    ) -> None:
        super().__init__()
        a, b, c = widths
        self.kind = kind
        pad = dict(time_padding=time_padding)
        self.stem = nn.Sequential(SpaceTimeConv(channels, a, 1, kind, **pad), nn.BatchNorm3d(a))
        self.blocks = nn.ModuleList(
            [
                ResBlock3D(a, a, 1, kind, **pad),
                ResBlock3D(a, b, 2, kind, **pad),
                ResBlock3D(b, c, 2, kind, **pad),
            ]
        )
        self.fc = nn.Linear(c, classes)

    def feature_maps(self, clips: torch.Tensor) -> torch.Tensor:
        if clips.dim() != 5:
            raise ValueError(f"expected clips of shape (N, T, C, H, W), got {tuple(clips.shape)}")
        x = F.relu(self.stem(clips.transpose(1, 2)))
        for block in self.blocks:
            x = block(x)
        return x  # (N, C, T, H, W)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        return self.fc(self.feature_maps(clips).mean(dim=(2, 3, 4)))


def _inflate_conv(conv3d: nn.Conv3d, conv2d: nn.Conv2d) -> None:
    t = conv3d.weight.shape[2]
    conv3d.weight.copy_(conv2d.weight[:, :, None].expand_as(conv3d.weight) / t)


@torch.no_grad()
def inflate(model) -> Net3D:
    """A 3D network initialised from a 2D :class:`f2p.video.models.TSN` (average consensus):
    I3D's inflation, every 2D filter repeated along time and divided by the temporal size."""
    if getattr(model, "consensus", "avg") != "avg":
        raise ValueError("inflation reproduces average consensus only")
    backbone = model.backbone
    widths = tuple(block.conv2.out_channels for block in backbone.blocks)
    net = Net3D(model.fc.out_features, backbone.stem[0].in_channels, widths, "3d")
    pairs = [(net.stem[0].conv, backbone.stem[0])]
    for b3, b2 in zip(net.blocks, backbone.blocks, strict=True):
        pairs += [(b3.conv1.conv, b2.conv1), (b3.conv2.conv, b2.conv2)]
        if isinstance(b2.shortcut, nn.Sequential):
            pairs.append((b3.shortcut[0], b2.shortcut[0]))
    for conv3d, conv2d in pairs:
        _inflate_conv(conv3d, conv2d)
    norms3d = [m for m in net.modules() if isinstance(m, nn.BatchNorm3d)]
    norms2d = [m for m in backbone.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn3, bn2 in zip(norms3d, norms2d, strict=True):
        bn3.load_state_dict(bn2.state_dict())
    net.fc.load_state_dict(model.fc.state_dict())
    return net


def temporal_uniformity(weight: torch.Tensor) -> torch.Tensor:
    """For every temporal kernel w (the t taps of one output channel, input channel and spatial
    position) of a 3D convolution weight (C_out, C_in, t, k, k): (sum_i w_i)^2 / (t sum_i w_i^2),
    the share of the kernel's energy in its uniform (averaging) component. 1 for a uniform
    kernel, 0 for one whose taps sum to zero (a pure difference); about 1/t for random taps."""
    if weight.dim() != 5:
        raise ValueError(
            f"expected a Conv3d weight (C_out, C_in, t, k, k), got {tuple(weight.shape)}"
        )
    taps = weight.detach().movedim(2, -1).reshape(-1, weight.shape[2])
    energy = (taps**2).sum(-1)
    keep = energy > 0
    return taps[keep].sum(-1) ** 2 / (weight.shape[2] * energy[keep])


def temporal_spectrum(weight: torch.Tensor) -> torch.Tensor:
    """Each temporal kernel's energy over the orthonormal DCT-II basis of R^t, as shares (M, t)
    that sum to 1 per kernel (kernels of zero energy left out, as in :func:`temporal_uniformity`).
    For t = 3 the basis is (1, 1, 1)/sqrt 3 (average), (1, 0, -1)/sqrt 2 (difference) and
    (1, -2, 1)/sqrt 6 (second difference), up to sign; column 0 is ``temporal_uniformity``. A
    centre tap (0, 1, 0), a per-frame filter that mixes no frames, has u = 1/3 like a random
    kernel, but shares (1/3, 0, 2/3): no difference energy at all."""
    if weight.dim() != 5:
        raise ValueError(
            f"expected a Conv3d weight (C_out, C_in, t, k, k), got {tuple(weight.shape)}"
        )
    t = weight.shape[2]
    taps = weight.detach().movedim(2, -1).reshape(-1, t)
    n = torch.arange(t, dtype=taps.dtype, device=taps.device)
    basis = torch.cos(torch.pi * (2 * n[None] + 1) * n[:, None] / (2 * t))  # (k, n)
    basis = basis / basis.norm(dim=1, keepdim=True)
    energy = (taps**2).sum(-1)
    keep = energy > 0
    return (taps[keep] @ basis.T) ** 2 / energy[keep, None]
