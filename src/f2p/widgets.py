"""Sliders that work without a kernel: every position's figure is drawn in advance and embedded,
and a few lines of JavaScript show the one the sliders select. On the published (static) site, in
the downloaded notebook and in Jupyter, moving a slider changes the figure; printed, the page
shows the default position's figure.

    precomputed(draw, lr=[1e-3, 1e-2, 1e-1], seed=[0, 1])

calls ``draw(lr=..., seed=...)`` once per combination (it draws a matplotlib figure and returns
it, without ``plt.show()``) and returns the HTML to display. Keep the grid small: every
combination is computed.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tqdm.auto import tqdm

_SCRIPT = """
<script>
(() => {
  const root = document.getElementById(%(id)s);
  const figures = JSON.parse(root.querySelector("script[type='application/json']").textContent);
  const sliders = [...root.querySelectorAll("input[type=range]")];
  const image = root.querySelector("img");
  const show = () => {
    const key = sliders.map((s) => s.value).join(",");
    image.src = "data:image/png;base64," + figures[key];
    sliders.forEach((s) => {
      s.nextElementSibling.textContent = JSON.parse(s.dataset.labels)[s.value];
    });
  };
  sliders.forEach((s) => s.addEventListener("input", show));
})();
</script>
"""


@dataclass(frozen=True)
class Sliders:
    """The widget's HTML; a notebook displays it (``_repr_html_``), ``data`` holds it."""

    data: str

    def _repr_html_(self) -> str:
        return self.data


def _png(draw: Callable[..., object], kwargs: dict[str, object]) -> str:
    """``draw(**kwargs)``'s figure (the one it returns, else the current one) as base64 PNG."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    drawn = draw(**kwargs)
    fig = drawn if isinstance(drawn, Figure) else plt.gcf()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def precomputed(
    draw: Callable[..., object],
    default: dict[str, object] | None = None,
    progress: bool = True,
    **choices: Sequence[object],
) -> Sliders:
    """A slider per keyword of ``choices`` over its values, showing the figure ``draw`` made for
    the selected combination; ``default`` picks the starting position (else the first values)."""
    if not choices:
        raise ValueError("give at least one slider: precomputed(draw, name=[values, ...])")
    for name, values in choices.items():
        if len(values) == 0:
            raise ValueError(f"slider {name!r} has no values")
    default = default or {}
    unknown = set(default) - set(choices)
    if unknown:
        raise ValueError(f"default names unknown sliders {sorted(unknown)}")
    start = {name: list(v).index(default.get(name, v[0])) for name, v in choices.items()}
    grid = list(itertools.product(*(range(len(v)) for v in choices.values())))
    figures = {}
    for position in tqdm(grid, desc="drawing every slider position", disable=not progress):
        kwargs = {name: choices[name][i] for name, i in zip(choices, position, strict=True)}
        figures[",".join(map(str, position))] = _png(draw, kwargs)
    widget_id = f"f2p-slider-{uuid.uuid4().hex[:10]}"
    rows = "".join(
        _slider(name, [_label(v) for v in values], start[name]) for name, values in choices.items()
    )
    first = figures[",".join(str(start[name]) for name in choices)]
    return Sliders(
        f'<div class="f2p-slider" id="{widget_id}">{rows}'
        f'<img alt="figure for the selected values" src="data:image/png;base64,{first}">'
        f'<script type="application/json">{json.dumps(figures)}</script>'
        + _SCRIPT % {"id": json.dumps(widget_id)}
        + "</div>"
    )


def _label(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _slider(name: str, labels: list[str], start: int) -> str:
    """A range input over the positions of ``labels``, then the selected label."""
    return (
        f'<label style="display:flex;gap:0.6em;align-items:center">{html.escape(name)} '
        f'<input type="range" min="0" max="{len(labels) - 1}" step="1" value="{start}" '
        f"data-labels='{html.escape(json.dumps(labels))}'>"
        f"<output>{html.escape(labels[start])}</output></label>"
    )
