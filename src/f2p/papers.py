"""Figures the papers report, with the setting each was measured in, quoted by the chapters and
by the book's results page beside our own (one place, so the two never disagree).

They are for orientation only: the papers train on real datasets at full scale; our benchmarks
use generated data and tiny models (each chapter's "Where we differ" says how).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reported:
    value: float
    measure: str
    """what was measured, e.g. "Something-Something V1 top-1 (%)" """
    setting: str
    """backbone, frames, clips, features: what the figure depends on"""
    source: str
    """the paper (and table) it is quoted from"""

    def __str__(self) -> str:
        return f"{self.value:g} ({self.measure}; {self.setting}; {self.source})"


_STH_V1 = "Something-Something V1 top-1 (%)"
_TSM_TABLE = "TSM paper, Table 2"
_MNIST_NLL = "binarised MNIST test NLL (nats)"
_MNIST_SPLIT = "50k training / 10k test images"

REPORTED: dict[str, dict[str, Reported]] = {
    "03": {
        "TSN": Reported(19.7, _STH_V1, "TSN, ResNet-50, 8 frames", _TSM_TABLE),
        "TRN": Reported(34.4, _STH_V1, "TRN-Multiscale, BN-Inception, 8 frames", _TSM_TABLE),
        "ECO-style": Reported(
            39.6, _STH_V1, "ECO, 8 frames (ECO-En Lite: 46.4 with 92 frames)", _TSM_TABLE
        ),
        "non-local": Reported(
            44.4,
            _STH_V1,
            "non-local I3D, ResNet3D-50, 32 frames x 2 clips (46.1 with GCN); measured by Wang "
            "and Gupta (ECCV 2018), not in the non-local paper",
            _TSM_TABLE,
        ),
        "TSM": Reported(45.6, _STH_V1, "TSM, ResNet-50, 8 frames", _TSM_TABLE),
    },
    "05": {
        "TSM": Reported(45.6, _STH_V1, "ResNet-50, 8 frames, ImageNet-pretrained", _TSM_TABLE),
        "TAM": Reported(
            46.5,
            _STH_V1,
            "TANet ResNet-50, 8 frames, ImageNet-pretrained (the authors' README: 8×1×1)",
            "TANet paper",
        ),  # fmt: skip
        "TDN": Reported(52.3, _STH_V1, "ResNet-50, 8 frames, ImageNet-pretrained", "TDN paper"),
        "3D": Reported(
            41.6,
            _STH_V1,
            "I3D ResNet-50, 32 frames x 2 clips, ImageNet + Kinetics-pretrained; measured by "
            "Wang and Gupta (ECCV 2018), as TSM tabulates it",
            _TSM_TABLE,
        ),
    },
    "06": {
        "TRN": Reported(
            62.1,
            "THUMOS'14 per-frame mAP (%)",
            "two-stream TSN features, Kinetics",
            "as tabulated in the OadTR paper",
        ),  # fmt: skip
        "OadTR": Reported(
            65.2,
            "THUMOS'14 per-frame mAP (%)",
            "two-stream TSN features, Kinetics",
            "OadTR paper",
        ),  # fmt: skip
        "OadTR, TVSeries": Reported(
            87.2, "TVSeries mcAP (%)", "two-stream TSN features, Kinetics", "OadTR paper"
        ),
        "IDN": Reported(
            86.1, "TVSeries mcAP (%)", "two-stream TSN features, Kinetics", "IDN paper"
        ),
    },
    "07": {
        "FVSBN": Reported(97.45, _MNIST_NLL, _MNIST_SPLIT, "as tabulated in the NADE paper"),
        "NADE": Reported(88.86, _MNIST_NLL, f"H = 500, {_MNIST_SPLIT}", "NADE paper"),
        "MADE": Reported(
            86.64,
            _MNIST_NLL,
            f"2 hidden layers of 8,000 units, 32 masks, {_MNIST_SPLIT}",
            "MADE paper; the authors' command (github.com/mgermain/MADE README): [8000,8000], "
            "Adagrad, 32 masks, order- and connectivity-agnostic ('Full') shuffling",
        ),
        "PixelCNN": Reported(81.30, _MNIST_NLL, _MNIST_SPLIT, "PixelRNN paper"),
    },
}
"""``REPORTED[chapter][method]``: the figure a chapter quotes for the method our benchmark names
so; a second figure for the same method carries the dataset after a comma."""


def reported(chapter: str) -> dict[str, Reported]:
    """The papers' figures quoted in ``chapter`` (e.g. ``"03"``), by our method names."""
    return REPORTED.get(chapter, {})
