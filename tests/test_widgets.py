"""f2p.widgets.precomputed: one embedded figure per slider position, the default shown first."""

from __future__ import annotations

import base64
import json
import re

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from f2p import widgets  # noqa: E402

calls: list[dict] = []


def draw(a: float, b: str):
    calls.append({"a": a, "b": b})
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.set_title(f"{a} {b}")
    return fig


def figures(html: str) -> dict[str, str]:
    return json.loads(re.search(r'<script type="application/json">(.*?)</script>', html)[1])


def test_every_combination_is_drawn_once_and_embedded_with_the_default_shown():
    calls.clear()
    open_before = set(plt.get_fignums())  # other tests in this process may leave figures open
    html = widgets.precomputed(
        draw, default={"b": "y"}, progress=False, a=[0.1, 1.0], b=["x", "y"]
    ).data
    assert calls == [{"a": a, "b": b} for a in (0.1, 1.0) for b in ("x", "y")]
    embedded = figures(html)
    assert sorted(embedded) == ["0,0", "0,1", "1,0", "1,1"]
    assert len(set(embedded.values())) == 4  # four different images
    for png in embedded.values():
        assert base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n"
    shown = re.search(r'<img [^>]*src="data:image/png;base64,([^"]+)"', html)[1]
    assert shown == embedded["0,1"]  # a = 0.1 (first), b = "y" (the default)
    assert html.count('type="range"') == 2 and "<output>y</output>" in html
    assert set(plt.get_fignums()) <= open_before, "every drawn figure is closed"


def test_bad_sliders_are_clear_errors():
    with pytest.raises(ValueError, match="at least one slider"):
        widgets.precomputed(draw)
    with pytest.raises(ValueError, match="'a' has no values"):
        widgets.precomputed(draw, a=[])
    with pytest.raises(ValueError, match="unknown sliders"):
        widgets.precomputed(draw, default={"c": 1}, a=[1.0], b=["x"])
