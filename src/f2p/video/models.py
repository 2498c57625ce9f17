"""Video classifiers that share one small 2D backbone, so that comparisons isolate the temporal
module (chapters 01-03).

- :class:`TSN`: Temporal Segment Networks (Wang et al., 2016): a 2D network scores each sampled
  frame, a segmental consensus (average, max or learned weights) combines the scores.
- :class:`TSM`: Temporal Shift Module (Lin et al., 2019): the same network with a fraction of the
  channels shifted along time inside each residual branch (zero extra parameters and FLOPs).
- :class:`TemporalRelationNet`: the Temporal Relation Network, TRN (Zhou et al., 2018): MLPs
  over ordered tuples of frame features, summed over scales (not chapter 06's recurrent TRN).
- :class:`ECO`: ECO-style (Zolfaghari et al., 2018): 2D feature maps per frame stacked along time
  and classified by a small 3D convolutional head.
- :class:`NonLocal`: non-local I3D (Wang et al., 2018) at our scale: a non-local block over all
  space-time positions, inside the 3D residual network of :mod:`f2p.video.spatiotemporal`.

Every model maps clips (N, T, C, H, W) to class scores (N, classes).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from f2p.video import motion, spatiotemporal

CONSENSUS = ("avg", "max", "weighted")


def temporal_shift(x: torch.Tensor, frames: int, fold_div: int = 8, online: bool = False):
    """Shift 1/fold_div of the channels of (N*T, C, H, W) features one step back in time (frame
    t sees t+1) and another 1/fold_div one step forward (t sees t-1); zeros enter at the ends.
    ``online``: only the forward shift (no access to future frames)."""
    nt, c, h, w = x.shape
    if nt % frames:
        raise ValueError(f"batch*time = {nt} is not a multiple of frames = {frames}")
    x = x.view(nt // frames, frames, c, h, w)
    fold = c // fold_div
    out = torch.zeros_like(x)
    if online:
        out[:, 1:, :fold] = x[:, :-1, :fold]  # from the past
        out[:, :, fold:] = x[:, :, fold:]
    else:
        out[:, :-1, :fold] = x[:, 1:, :fold]  # from the future
        out[:, 1:, fold : 2 * fold] = x[:, :-1, fold : 2 * fold]  # from the past
        out[:, :, 2 * fold :] = x[:, :, 2 * fold :]
    return out.view(nt, c, h, w)


class ResBlock(nn.Module):
    """conv-BN-ReLU-conv-BN plus shortcut; ``temporal`` (if given: TSM's shift, or a module of
    chapters 04-05 such as STM, TEA or TAM) is applied to the input of the residual branch only,
    TSM's "residual shift", so the identity path keeps every frame's own features. With
    ``in_place`` set it is applied to the block's input, which both paths then see (TSM's
    "in-place shift", the variant the paper argues against)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
            if stride != 1 or c_in != c_out
            else nn.Identity()
        )
        self.temporal: Callable[[torch.Tensor], torch.Tensor] | None = None
        self.in_place = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.temporal is None:
            branch = x
        elif self.in_place:
            x = branch = self.temporal(x)
        else:
            branch = self.temporal(x)
        y = F.relu(self.bn1(self.conv1(branch)))
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class Backbone(nn.Module):
    """A small residual CNN applied to every frame: (N*T, C, H, W) -> feature maps
    (N*T, widths[-1], H/4, W/4); ``pool`` averages them to (N*T, widths[-1])."""

    def __init__(self, channels: int = 3, widths: tuple[int, int, int] = (16, 32, 32)) -> None:
        super().__init__()
        a, b, c = widths
        self.stem = nn.Sequential(nn.Conv2d(channels, a, 3, 1, 1, bias=False), nn.BatchNorm2d(a))
        self.blocks = nn.ModuleList([ResBlock(a, a), ResBlock(a, b, 2), ResBlock(b, c, 2)])
        self.width = c

    def feature_maps(self, x: torch.Tensor, lateral: torch.Tensor | None = None) -> torch.Tensor:
        """``lateral`` (same shape as the stem's output) is added before the stem's ReLU: TDN's
        fusion of short-term motion into the RGB stream."""
        x = self.stem(x)
        x = F.relu(x if lateral is None else x + lateral)
        for block in self.blocks:
            x = block(x)
        return x

    def forward(self, x: torch.Tensor, lateral: torch.Tensor | None = None) -> torch.Tensor:
        return self.feature_maps(x, lateral).mean(dim=(2, 3))


def _frames(clips: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    if clips.dim() != 5:
        raise ValueError(f"expected clips of shape (N, T, C, H, W), got {tuple(clips.shape)}")
    n, t = clips.shape[:2]
    return clips.flatten(0, 1), n, t


def rgb_difference(clips: torch.Tensor) -> torch.Tensor:
    """TSN's RGB-difference modality: differences of consecutive frames (N, T-1, C, H, W)."""
    return clips[:, 1:] - clips[:, :-1]


class TSN(nn.Module):
    """Per-frame class scores of a 2D network, combined by a segmental consensus."""

    def __init__(
        self,
        classes: int,
        channels: int = 3,
        frames: int = 8,
        consensus: str = "avg",
        widths: tuple[int, int, int] = (16, 32, 32),
    ) -> None:
        super().__init__()
        if consensus not in CONSENSUS:
            raise ValueError(f"consensus must be one of {CONSENSUS}, got {consensus!r}")
        self.backbone = Backbone(channels, widths)
        self.fc = nn.Linear(self.backbone.width, classes)
        self.consensus = consensus
        self.weights = nn.Parameter(torch.zeros(frames)) if consensus == "weighted" else None

    def frame_scores(self, clips: torch.Tensor) -> torch.Tensor:
        x, n, t = _frames(clips)
        return self.fc(self.backbone(x)).view(n, t, -1)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        scores = self.frame_scores(clips)
        if self.consensus == "avg":
            return scores.mean(1)
        if self.consensus == "max":
            return scores.max(1).values
        if self.weights.numel() != scores.shape[1]:
            raise ValueError(f"weighted consensus was built for {self.weights.numel()} frames")
        return (torch.softmax(self.weights, 0)[None, :, None] * scores).sum(1)


def late_fusion(*logits: torch.Tensor) -> torch.Tensor:
    """Two-stream late fusion: the average of the streams' class probabilities."""
    return torch.stack([torch.softmax(x, dim=-1) for x in logits]).mean(0)


def cross_modality_init(target: TSN, source: TSN) -> TSN:
    """TSN's cross-modality initialisation: copy an RGB-trained backbone into a network for
    another modality (RGB difference, flow) whose first convolution has a different number of
    input channels; that convolution gets the source's weights averaged over the RGB channels,
    replicated across the new channels. The classifier is not copied: in TSN the source is an
    ImageNet network, whose classifier answers another question. Returns ``target``."""
    state = source.backbone.state_dict()
    channels = target.backbone.stem[0].in_channels
    state["stem.0.weight"] = (
        state["stem.0.weight"].mean(1, keepdim=True).expand(-1, channels, -1, -1)
    )
    target.backbone.load_state_dict(state)
    return target


def partial_bn(model: nn.Module) -> nn.Module:
    """TSN's partial batch normalisation: freeze the statistics and affine parameters of every
    BatchNorm layer except the first, which adapts to the new modality's input distribution.
    Call after ``model.train()`` (it sets the frozen layers to eval mode). Returns ``model``."""
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for norm in norms[1:]:
        norm.eval()
        norm.weight.requires_grad_(False)
        norm.bias.requires_grad_(False)
    return model


class TSM(TSN):
    """TSN with a temporal shift in every residual block (average consensus): in the residual
    branch (TSM's choice) or, with ``in_place``, on the block's input."""

    def __init__(
        self,
        classes: int,
        channels: int = 3,
        frames: int = 8,
        fold_div: int = 8,
        online: bool = False,
        widths: tuple[int, int, int] = (16, 32, 32),
        in_place: bool = False,
    ) -> None:
        super().__init__(classes, channels, frames, "avg", widths)
        self.frames, self.fold_div, self.online = frames, fold_div, online
        for block in self.backbone.blocks:
            block.temporal, block.in_place = self._shift, in_place

    def _shift(self, x: torch.Tensor) -> torch.Tensor:
        return temporal_shift(x, self.frames, self.fold_div, self.online)


TEMPORAL_MODULES = {"STM": motion.STM, "TEA": motion.TEA, "TAM": motion.TAM}


class TemporalNet(TSN):
    """TSN with a temporal module (:data:`TEMPORAL_MODULES`) in the residual branch of every
    block, average consensus: STM, TEA or TANet on the shared backbone."""

    def __init__(
        self,
        classes: int,
        module: str,
        channels: int = 3,
        frames: int = 8,
        widths: tuple[int, int, int] = (16, 32, 32),
    ) -> None:
        if module not in TEMPORAL_MODULES:
            raise ValueError(f"unknown module {module!r}; expected one of {list(TEMPORAL_MODULES)}")
        super().__init__(classes, channels, frames, "avg", widths)
        for block in self.backbone.blocks:
            block.temporal = TEMPORAL_MODULES[module](block.conv1.in_channels, frames)


def stacked_differences(clips: torch.Tensor, span: int = 2) -> torch.Tensor:
    """TDN's short-term input: for every frame t the 2*span RGB differences
    I_{t+j+1} - I_{t+j}, j = -span..span-1 (frame indices clamped to the clip), stacked along
    channels: (N, T, 2*span*C, H, W)."""
    t = clips.shape[1]
    offsets = torch.arange(-span, span, device=clips.device)
    frame = torch.arange(t, device=clips.device)[:, None] + offsets
    now, nxt = frame.clamp(0, t - 1), (frame + 1).clamp(0, t - 1)
    diffs = clips[:, nxt] - clips[:, now]  # (N, T, 2*span, C, H, W)
    return diffs.flatten(2, 3)


class TDN(TSN):
    """Temporal Difference Network: the short-term module turns the stacked RGB differences
    around every frame (average-pooled to half resolution, a 3x3 convolution, upsampled) into a
    lateral input added to that frame's stem features; the long-term module
    (:class:`f2p.video.motion.LongTermDifference`) sits in the residual branch of the last two
    blocks. Average consensus. Unlike the authors' ``BottleneckShift``, no learnable temporal
    convolution (their ``ShiftModule``, a trained channel-wise Conv1d started as TSM's shift)
    follows the long-term module."""

    def __init__(
        self,
        classes: int,
        channels: int = 3,
        frames: int = 8,
        widths: tuple[int, int, int] = (16, 32, 32),
        span: int = 2,
    ) -> None:
        super().__init__(classes, channels, frames, "avg", widths)
        self.span = span
        self.short_term = nn.Sequential(
            nn.AvgPool2d(2),
            nn.Conv2d(2 * span * channels, widths[0], 3, padding=1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(),
        )
        for block in self.backbone.blocks[1:]:
            block.temporal = motion.LongTermDifference(block.conv1.in_channels, frames)

    def frame_scores(self, clips: torch.Tensor) -> torch.Tensor:
        x, n, t = _frames(clips)
        short = self.short_term(stacked_differences(clips, self.span).flatten(0, 1))
        lateral = F.interpolate(short, size=x.shape[-2:])
        return self.fc(self.backbone(x, lateral)).view(n, t, -1)


def ordered_tuples(frames: int, scale: int, limit: int, gen: torch.Generator) -> torch.Tensor:
    """Up to ``limit`` tuples of ``scale`` frame indices in increasing (temporal) order."""
    tuples = list(itertools.combinations(range(frames), scale))
    if len(tuples) > limit:
        keep = torch.randperm(len(tuples), generator=gen)[:limit].sort().values
        tuples = [tuples[i] for i in keep.tolist()]
    return torch.tensor(tuples)


class TemporalRelationNet(nn.Module):
    """Multi-scale temporal relations: T(V) = sum_d h_d(sum_{ordered d-tuples} g_d([f_i1..f_id]))
    (g summed over the tuples of a scale before h, as in the paper's formula)."""

    def __init__(
        self,
        classes: int,
        channels: int = 3,
        frames: int = 8,
        tuples_per_scale: int = 3,
        widths: tuple[int, int, int] = (16, 32, 32),
    ) -> None:
        super().__init__()
        self.backbone = Backbone(channels, widths)
        d = self.backbone.width
        gen = torch.Generator().manual_seed(0)
        for scale in range(2, frames + 1):  # buffers: they move with the model
            tuples = ordered_tuples(frames, scale, tuples_per_scale, gen)
            self.register_buffer(f"tuples_{scale}", tuples, persistent=False)
        self.g = nn.ModuleList(
            nn.Sequential(nn.Linear(s * d, 64), nn.ReLU()) for s in range(2, frames + 1)
        )
        self.h = nn.ModuleList(nn.Linear(64, classes) for _ in range(2, frames + 1))

    @property
    def tuples(self) -> list[torch.Tensor]:
        """The ordered frame tuples of each scale 2, 3, ..., frames."""
        return [getattr(self, f"tuples_{scale}") for scale in range(2, len(self.g) + 2)]

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        x, n, t = _frames(clips)
        features = self.backbone(x).view(n, t, -1)
        out = 0
        for tuples, g, h in zip(self.tuples, self.g, self.h, strict=True):
            picked = features[:, tuples]  # (N, tuples, scale, D)
            out = out + h(g(picked.flatten(2)).sum(1))
        return out


class ECO(nn.Module):
    """2D feature maps of every frame, stacked along time, classified by a 3D conv head."""

    def __init__(
        self, classes: int, channels: int = 3, widths: tuple[int, int, int] = (16, 32, 32)
    ) -> None:
        super().__init__()
        self.backbone = Backbone(channels, widths)
        c = self.backbone.width
        self.head = nn.Sequential(
            nn.Conv3d(c, c, 3, padding=1, bias=False),
            nn.BatchNorm3d(c),
            nn.ReLU(),
            nn.AdaptiveAvgPool3d(1),
        )
        self.fc = nn.Linear(c, classes)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        x, n, t = _frames(clips)
        maps = self.backbone.feature_maps(x)
        maps = maps.view(n, t, *maps.shape[1:]).transpose(1, 2)  # (N, C, T, H, W)
        return self.fc(self.head(maps).flatten(1))


class NonLocalBlock(nn.Module):
    """y_i = x_i + BN(W_z sum_j softmax_j(theta(x_i) . phi(x^_j) / sqrt(d)) g(x^_j)) over all
    space-time positions (the embedded-Gaussian form), as the official video-nonlocal-net
    computes it: the affinities scaled by 1/sqrt(d) with d = C/2 the inner width
    (``NONLOCAL.USE_SCALE``), and W_z followed by a BatchNorm whose scale gamma starts at 0
    (``USE_BN``, ``BN_INIT_GAMMA = 0``), so the block starts as the identity; the four 1x1x1
    convolutions start from N(0, 0.01^2) weights and zero biases (``CONV_INIT_STD``). The paper's
    equation has neither the scale nor the BN; its implementation details add the BN after W_z
    with its scale initialised to zero, so only the 1/sqrt(d) scale is the code's alone. x^ is x
    max-pooled 2x2 in space, *then* fed to phi and g: the paper's subsampling trick (section
    3.3), in the code's order
    (``spacetime_nonlocal`` max-pools its input blob and applies the phi and g convolutions to
    the pooled blob), which divides the pairwise cost by 4 and keeps every query position.
    Max-pooling does not commute with a 1x1x1 convolution, so the order changes the result.
    ``subsample=False`` attends to every position."""

    def __init__(self, c: int, subsample: bool = True) -> None:
        super().__init__()
        self.inner = max(c // 2, 1)
        self.theta, self.phi, self.g = (nn.Conv3d(c, self.inner, 1) for _ in range(3))
        self.z = nn.Conv3d(self.inner, c, 1)
        self.bn = nn.BatchNorm3d(c)
        self.pool = nn.MaxPool3d((1, 2, 2), ceil_mode=True) if subsample else nn.Identity()
        for conv in (self.theta, self.phi, self.g, self.z):
            nn.init.normal_(conv.weight, std=0.01)
            nn.init.zeros_(conv.bias)
        nn.init.zeros_(self.bn.weight)  # gamma = 0: the block starts as the identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, h, w = x.shape
        q = self.theta(x).flatten(2).transpose(1, 2)  # (N, THW, inner)
        pooled = self.pool(x)  # x^: (N, C, T, H', W')
        k = self.phi(pooled).flatten(2)  # (N, inner, T H' W')
        v = self.g(pooled).flatten(2).transpose(1, 2)
        y = torch.softmax(q @ k * self.inner**-0.5, dim=-1) @ v
        return x + self.bn(self.z(y.transpose(1, 2).reshape(n, -1, t, h, w)))


class NonLocal(nn.Module):
    """Non-local I3D at our scale: the 3D residual network of chapter 05
    (:class:`f2p.video.spatiotemporal.Net3D`) with a non-local block after its second residual
    block, as the paper inserts its blocks inside I3D's res3/res4 stages (its ablations also put
    them in C2D, a 2D ResNet-50 applied frame by frame). The attention itself is
    blind to frame order; the 3D convolutions before and after it are not, and supply the
    temporal position the block can use."""

    def __init__(
        self, classes: int, channels: int = 3, widths: tuple[int, int, int] = (16, 32, 32)
    ) -> None:
        super().__init__()
        self.net = spatiotemporal.Net3D(classes, channels, widths)
        self.block = NonLocalBlock(widths[1])

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        if clips.dim() != 5:
            raise ValueError(f"expected clips of shape (N, T, C, H, W), got {tuple(clips.shape)}")
        x = F.relu(self.net.stem(clips.transpose(1, 2)))
        first, second, third = self.net.blocks
        x = third(self.block(second(first(x))))
        return self.net.fc(x.mean(dim=(2, 3, 4)))
