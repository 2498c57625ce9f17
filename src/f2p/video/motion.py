"""Motion at feature level: modules that sit in the residual branch of the shared backbone
(``ResBlock.temporal``), as TSM's shift does (chapters 04-05).

All operate on per-frame feature maps (N*T, C, H, W) of clips of ``frames`` frames.

- :func:`shifted_difference`: D_t = g(X_{t+1}) - X_t (or from t-1), the feature-level analogue
  of an RGB difference, with zeros where the neighbour is missing.
- :class:`STM` (Jiang et al., ICCV 2019): channel-wise spatiotemporal module (a channel-wise
  temporal convolution) plus channel-wise motion module (differences of reduced features,
  D_t = conv3x3(F_{t+1}) - F_t, projected back), summed.
- :class:`MotionExcitation` and :class:`MultipleTemporalAggregation`, combined in :class:`TEA`
  (Li et al., CVPR 2020): feature differences turned into channel attention, and a
  hierarchical, residual chain of temporal+spatial sub-convolutions for long range.
- :class:`TAM` (TANet, Liu et al., ICCV 2021): a local importance map and a global, per-channel
  adaptive temporal kernel.
- :class:`LongTermDifference` (TDN's long-term module, Wang et al., CVPR 2021): bidirectional
  cross-segment feature differences turned into attention.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def split_time(x: torch.Tensor, frames: int) -> torch.Tensor:
    """(N*T, C, H, W) -> (N, T, C, H, W), with a clear error if N*T is not a multiple of T."""
    if x.dim() != 4 or x.shape[0] % frames:
        raise ValueError(
            f"expected per-frame features (N*T, C, H, W) with N*T a multiple of frames={frames}, "
            f"got {tuple(x.shape)}"
        )
    return x.view(-1, frames, *x.shape[1:])


def shifted_difference(
    x: torch.Tensor, frames: int, transform: nn.Module | None = None, backward: bool = False
) -> torch.Tensor:
    """D_t = g(X_{t+1}) - X_t (``backward``: g(X_{t-1}) - X_t) for (N*T, C, H, W) features,
    with g = ``transform`` (identity if None); zero at the frame without a neighbour."""
    clips = split_time(x, frames)
    moved = transform(x).view_as(clips) if transform is not None else clips
    out = torch.zeros_like(clips)
    if backward:
        out[:, 1:] = moved[:, :-1] - clips[:, 1:]
    else:
        out[:, :-1] = moved[:, 1:] - clips[:, :-1]
    return out.view_as(x)


def temporal_depthwise(x: torch.Tensor, frames: int, conv: nn.Conv1d) -> torch.Tensor:
    """Apply a channel-wise 1D convolution along time at every spatial position."""
    clips = split_time(x, frames)
    n, t, c, h, w = clips.shape
    seq = clips.permute(0, 3, 4, 2, 1).reshape(n * h * w, c, t)
    out = conv(seq).view(n, h, w, c, t).permute(0, 4, 3, 1, 2)
    return out.reshape(n * t, c, h, w)


def _difference_layers(channels: int, reduction: int) -> tuple[int, nn.Sequential, nn.Conv2d]:
    """The layers of eq. D_t = g(F_{t+1}) - F_t shared by STM, TEA and TDN: the reduction
    F = BN(conv1x1(X)) to C/r channels, and g, a channel-wise 3x3 convolution on F."""
    inner = max(channels // reduction, 1)
    reduce = nn.Sequential(nn.Conv2d(channels, inner, 1, bias=False), nn.BatchNorm2d(inner))
    neighbour = nn.Conv2d(inner, inner, 3, padding=1, groups=inner, bias=False)
    return inner, reduce, neighbour


def _channelwise_temporal(c: int) -> nn.Conv1d:
    return nn.Conv1d(c, c, 3, padding=1, groups=c, bias=False)


class STM(nn.Module):
    """STM block's two paths: CSTM(x) + CMM(x).

    CSTM: a channel-wise temporal convolution (kernel 3); the block's following 3x3 convolution
    is its spatial part. CMM: F = BN(conv1x1(x)) with C/r channels, D_t = conv3x3_dw(F_{t+1}) -
    F_t (D_{T-1} = 0, frames counted from 0), back to C channels with a 1x1 convolution."""

    def __init__(self, channels: int, frames: int, reduction: int = 4) -> None:
        super().__init__()
        self.frames = frames
        self.cstm = _channelwise_temporal(channels)
        inner, self.reduce, self.neighbour = _difference_layers(channels, reduction)
        self.expand = nn.Conv2d(inner, channels, 1, bias=False)

    def motion(self, x: torch.Tensor) -> torch.Tensor:
        """The CMM output alone (what the chapter visualises)."""
        return self.expand(shifted_difference(self.reduce(x), self.frames, self.neighbour))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return temporal_depthwise(x, self.frames, self.cstm) + self.motion(x)


class MotionExcitation(nn.Module):
    """TEA's ME: F = BN(conv1x1(X)) (C/r channels), D_t = conv3x3_dw(F_{t+1}) - F_t (D_{T-1} = 0),
    A = 2 sigmoid(conv1x1(avgpool(D))) - 1 per channel, output X + X * A."""

    def __init__(self, channels: int, frames: int, reduction: int = 4) -> None:
        super().__init__()
        self.frames = frames
        inner, self.reduce, self.neighbour = _difference_layers(channels, reduction)
        self.expand = nn.Conv2d(inner, channels, 1)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        d = shifted_difference(self.reduce(x), self.frames, self.neighbour)
        return 2 * torch.sigmoid(self.expand(d.mean(dim=(2, 3), keepdim=True))) - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + x * self.attention(x)


class MultipleTemporalAggregation(nn.Module):
    """TEA's MTA: split the channels into ``fragments`` groups X_1..X_k; Y_1 = X_1,
    Y_2 = conv_spa(conv_temp(X_2)) and Y_i = conv_spa(conv_temp(X_i + Y_{i-1})) for i >= 3
    (channel-wise temporal conv, then 3x3 spatial conv); concatenate. This is the hierarchical
    residual form of Res2Net that TEA's MTA follows (the second group starts the chain; the
    first, an identity, is not added to it). Group i sees i-1 temporal convolutions: receptive
    fields of 1, 3, 5, 7 frames in one block."""

    def __init__(self, channels: int, frames: int, fragments: int = 4) -> None:
        super().__init__()
        if channels % fragments:
            raise ValueError(f"{channels} channels do not split into {fragments} fragments")
        width = channels // fragments
        self.frames, self.fragments = frames, fragments
        self.temporal = nn.ModuleList(_channelwise_temporal(width) for _ in range(fragments - 1))
        self.spatial = nn.ModuleList(
            nn.Conv2d(width, width, 3, padding=1, bias=False) for _ in range(fragments - 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = x.chunk(self.fragments, dim=1)
        out = [parts[0]]
        for i, (temporal, spatial) in enumerate(zip(self.temporal, self.spatial, strict=True)):
            chained = parts[i + 1] if i == 0 else parts[i + 1] + out[-1]
            out.append(spatial(temporal_depthwise(chained, self.frames, temporal)))
        return torch.cat(out, 1)


class TEA(nn.Module):
    """Temporal excitation and aggregation: ME, then MTA."""

    def __init__(self, channels: int, frames: int, reduction: int = 4) -> None:
        super().__init__()
        self.excitation = MotionExcitation(channels, frames, reduction)
        self.aggregation = MultipleTemporalAggregation(channels, frames)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.aggregation(self.excitation(x))


class TAM(nn.Module):
    """TANet's temporal adaptive module. With z = spatial average of X, (N, C, T):

    local:  L = sigmoid(Conv1d_1(ReLU(BN(Conv1d_k(z)))))   (N, C, T) importance map
    global: K = softmax_k(FC(ReLU(BN(FC(z)))))              (N, C, kernel), sums to 1 over k
    Y_t = sum_k K_k * (L * X)_{t + k - kernel // 2}          (a per-clip, per-channel kernel)

    Layer by layer as in the authors' code (``ops/temporal_module.py``, ``TAM``): a temporal
    convolution of size ``kernel`` then a 1x1 one in the local branch, BatchNorm in both branches.
    """

    def __init__(
        self, channels: int, frames: int, kernel: int = 3, alpha: int = 2, beta: int = 4
    ) -> None:
        super().__init__()
        inner = max(channels // beta, 1)
        self.frames, self.kernel = frames, kernel
        self.local = nn.Sequential(
            nn.Conv1d(channels, inner, kernel, padding=kernel // 2, bias=False),
            nn.BatchNorm1d(inner),
            nn.ReLU(),
            nn.Conv1d(inner, channels, 1, bias=False),
            nn.Sigmoid(),
        )
        self.global_kernel = nn.Sequential(
            nn.Linear(frames, frames * alpha, bias=False),
            nn.BatchNorm1d(frames * alpha),
            nn.ReLU(),
            nn.Linear(frames * alpha, kernel, bias=False),
            nn.Softmax(dim=-1),
        )

    def kernels(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The importance map (N, C, T) and the adaptive kernels (N, C, kernel)."""
        z = split_time(x, self.frames).mean(dim=(3, 4)).transpose(1, 2)  # (N, C, T)
        n, c, t = z.shape
        kernel = self.global_kernel(z.reshape(n * c, t)).view(n, c, self.kernel)
        return self.local(z), kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        importance, kernel = self.kernels(x)
        clips = split_time(x, self.frames) * importance.transpose(1, 2)[..., None, None]
        n, t, c, h, w = clips.shape
        pad = self.kernel // 2
        padded = F.pad(clips, (0, 0, 0, 0, 0, 0, pad, pad))
        weights = kernel.transpose(1, 2)[..., None, None]  # (N, kernel, C, 1, 1)
        out = sum(weights[:, k : k + 1] * padded[:, k : k + t] for k in range(self.kernel))
        return out.reshape(n * t, c, h, w)


class LongTermDifference(nn.Module):
    """TDN's long-term module: F = conv1x1(X) (C/r channels); cross-segment differences in both
    directions, D+_t = conv3x3(F_{t+1}) - F_t and D-_t = conv3x3(F_{t-1}) - F_t; each through a
    two-scale convolution (full resolution + half resolution, upsampled) and a 1x1 expansion;
    A = ((sigmoid(M(D+)) - 1/2) + (sigmoid(M(D-)) - 1/2)) / 2 in (-1/2, 1/2); output X + X * A,
    so a channel can be damped as well as amplified. The centred sigmoids are the authors' code
    (TDN's ``mSEModule.forward``: ``sigmoid(y) - 0.5`` for each direction, averaged). Departures
    from ``mSEModule``: its reduction is 16, and its multi-scale sum is 1/3 each of the difference
    itself, conv3x3+BN at full and conv3x3+BN at half resolution, then conv1x1 (no bias) and BN;
    ours sums the two convolutions only, without BN or the identity term, and its expansion has
    a bias."""

    def __init__(self, channels: int, frames: int, reduction: int = 4) -> None:
        super().__init__()
        self.frames = frames
        inner, self.reduce, self.neighbour = _difference_layers(channels, reduction)
        self.fine = nn.Conv2d(inner, inner, 3, padding=1, bias=False)
        self.coarse = nn.Conv2d(inner, inner, 3, padding=1, bias=False)
        self.expand = nn.Conv2d(inner, channels, 1)

    def _scales(self, d: torch.Tensor) -> torch.Tensor:
        coarse = self.coarse(F.avg_pool2d(d, 2, ceil_mode=True))
        return self.expand(self.fine(d) + F.interpolate(coarse, size=d.shape[-2:]))

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        f = self.reduce(x)
        forward = shifted_difference(f, self.frames, self.neighbour)
        backward = shifted_difference(f, self.frames, self.neighbour, backward=True)
        centred = [torch.sigmoid(self._scales(d)) - 0.5 for d in (forward, backward)]
        return (centred[0] + centred[1]) / 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + x * self.attention(x)
