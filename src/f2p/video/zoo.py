"""Every video classifier of chapters 02-05 by name, with the transform its input needs, so
that the notebooks and ``benchmarks/video_models.py`` build them the same way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from f2p.video import flow, models
from f2p.video import spatiotemporal as st

Transform = Callable[[torch.Tensor], torch.Tensor]


def flow_input(clips: torch.Tensor, iterations: int = 20) -> torch.Tensor:
    """The temporal stream's input: Horn-Schunck flow between consecutive frames (N, T-1, 2, H,
    W), computed on the fly (chapter 01)."""
    return flow.clip_flow(clips, iterations=iterations)


@dataclass(frozen=True)
class Recipe:
    build: Callable[[int, tuple[int, int, int], int], nn.Module]
    """(classes, widths, frames) -> a fresh model"""
    transform: Transform | None = None
    """applied to RGB clips (N, T, 3, H, W) before the model, in training and at test time"""


ZOO: dict[str, Recipe] = {
    "TSN": Recipe(lambda k, w, f: models.TSN(k, frames=f, widths=w)),
    "TSN, RGB difference": Recipe(
        lambda k, w, f: models.TSN(k, frames=f - 1, widths=w), models.rgb_difference
    ),
    "TSN, flow": Recipe(
        lambda k, w, f: models.TSN(k, channels=2, frames=f - 1, widths=w), flow_input
    ),
    "TSM": Recipe(lambda k, w, f: models.TSM(k, frames=f, widths=w)),
    "TSM, online": Recipe(lambda k, w, f: models.TSM(k, frames=f, online=True, widths=w)),
    "TSM, in-place": Recipe(lambda k, w, f: models.TSM(k, frames=f, widths=w, in_place=True)),
    "TRN": Recipe(lambda k, w, f: models.TemporalRelationNet(k, frames=f, widths=w)),
    "ECO-style": Recipe(lambda k, w, f: models.ECO(k, widths=w)),
    "non-local": Recipe(lambda k, w, f: models.NonLocal(k, widths=w)),
    "STM": Recipe(lambda k, w, f: models.TemporalNet(k, "STM", frames=f, widths=w)),
    "TEA": Recipe(lambda k, w, f: models.TemporalNet(k, "TEA", frames=f, widths=w)),
    "TAM": Recipe(lambda k, w, f: models.TemporalNet(k, "TAM", frames=f, widths=w)),
    "TDN": Recipe(lambda k, w, f: models.TDN(k, frames=f, widths=w)),
    "3D": Recipe(lambda k, w, f: st.Net3D(k, widths=w, kind="3d")),
    "(2+1)D": Recipe(lambda k, w, f: st.Net3D(k, widths=w, kind="2+1d")),
}


def recipe(name: str) -> Recipe:
    if name not in ZOO:
        raise ValueError(f"unknown model {name!r}; expected one of {list(ZOO)}")
    return ZOO[name]
