"""Optical flow by Horn and Schunck (1981), chapter 01, batched in torch.

Brightness constancy, I(x + u, y + v, t + 1) = I(x, y, t), linearised, gives one equation per
pixel for two unknowns, I_x u + I_y v + I_t = 0 (the aperture problem). Horn-Schunck adds a
smoothness term and minimises

    E(u, v) = sum over pixels of (I_x u + I_y v + I_t)^2 + alpha^2 (|grad u|^2 + |grad v|^2),

whose Euler-Lagrange equations, with the Laplacian approximated by (local mean - value), give the
Jacobi-style iteration

    u <- u_bar - I_x (I_x u_bar + I_y v_bar + I_t) / (alpha^2 + I_x^2 + I_y^2),
    v <- v_bar - I_y (I_x u_bar + I_y v_bar + I_t) / (alpha^2 + I_x^2 + I_y^2).

Also the tools chapter 01 uses to read a flow field: OpenCV's Farneback flow as a reference
(:func:`farneback`), the endpoint error between two fields (:func:`endpoint_error`), and the
flow drawn as colour on an HSV wheel (:func:`flow_to_colour`, with :func:`colour_wheel` as its
key): hue gives the direction, brightness the speed.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

# Horn and Schunck's derivative estimates: averages of first differences over a 2x2x2 cube
_KX = torch.tensor([[-1.0, 1.0], [-1.0, 1.0]]) / 4
_KY = torch.tensor([[-1.0, -1.0], [1.0, 1.0]]) / 4
_KT = torch.ones(2, 2) / 4
# their local-mean kernel (weights 1/6 for edge neighbours, 1/12 for corners)
_MEAN = torch.tensor([[1 / 12, 1 / 6, 1 / 12], [1 / 6, 0.0, 1 / 6], [1 / 12, 1 / 6, 1 / 12]])


def _conv(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    k = kernel.to(x)[None, None]
    pad = (0, kernel.shape[1] - 1, 0, kernel.shape[0] - 1) if kernel.shape[0] == 2 else (1,) * 4
    return F.conv2d(F.pad(x, pad, mode="replicate"), k)


def horn_schunck(
    first: torch.Tensor, second: torch.Tensor, alpha: float = 1.0, iterations: int = 100
) -> torch.Tensor:
    """Flow (N, 2, H, W) (u: x to the right, v: y downwards, in pixels per frame) between grey
    frames ``first`` and ``second`` of shape (N, 1, H, W)."""
    if first.shape != second.shape or first.dim() != 4 or first.shape[1] != 1:
        raise ValueError(
            f"expected two grey frame batches of shape (N, 1, H, W), got {tuple(first.shape)} "
            f"and {tuple(second.shape)}"
        )
    if alpha <= 0 or iterations < 1:
        raise ValueError(f"need alpha > 0 and iterations >= 1, got {alpha}, {iterations}")
    ix = _conv(first, _KX) + _conv(second, _KX)
    iy = _conv(first, _KY) + _conv(second, _KY)
    it = _conv(second, _KT) - _conv(first, _KT)
    u, v = torch.zeros_like(first), torch.zeros_like(first)
    denominator = alpha**2 + ix**2 + iy**2
    for _ in range(iterations):
        u_bar, v_bar = _conv(u, _MEAN), _conv(v, _MEAN)
        common = (ix * u_bar + iy * v_bar + it) / denominator
        u, v = u_bar - ix * common, v_bar - iy * common
    return torch.cat([u, v], dim=1)


def clip_flow(clips: torch.Tensor, alpha: float = 1.0, iterations: int = 50) -> torch.Tensor:
    """Flow between consecutive frames of clips (N, T, C, H, W), on their channel mean:
    (N, T-1, 2, H, W), the temporal stream's input (x and y components stacked per frame)."""
    n, t, _, h, w = clips.shape
    grey = clips.mean(2, keepdim=True)
    first, second = grey[:, :-1].flatten(0, 1), grey[:, 1:].flatten(0, 1)
    return horn_schunck(first, second, alpha, iterations).view(n, t - 1, 2, h, w)


def farneback(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """OpenCV's Farneback flow (2, H, W) between two grey uint8 frames (H, W), with the
    parameters chapter 01 uses throughout: pyramid scale 0.5, 3 levels, 15-pixel windows,
    3 iterations, polynomial neighbourhood 5 with sigma 1.2."""
    import cv2

    if first.shape != second.shape or first.ndim != 2 or first.dtype != np.uint8:
        raise ValueError(
            f"expected two grey uint8 frames (H, W) of one shape, got {first.shape} "
            f"{first.dtype} and {second.shape} {second.dtype}"
        )
    uv = cv2.calcOpticalFlowFarneback(first, second, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    return uv.transpose(2, 0, 1)


def endpoint_error(a, b, border: int = 0) -> float:
    """Mean endpoint error sqrt((u_a - u_b)^2 + (v_a - v_b)^2) in pixels between two flow
    fields (2, H, W) (numpy or torch), over the pixels at least ``border`` from the edge."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 3 or a.shape[0] != 2:
        raise ValueError(f"expected two flow fields (2, H, W), got {a.shape} and {b.shape}")
    if border < 0 or 2 * border >= min(a.shape[1:]):
        raise ValueError(f"border {border} leaves no pixel of a {a.shape[1:]} field")
    inner = (slice(border, a.shape[1] - border), slice(border, a.shape[2] - border))
    return float(np.sqrt(((a - b) ** 2).sum(0))[inner].mean())


def flow_to_colour(uv, max_magnitude: float | None = None) -> np.ndarray:
    """A flow field (2, H, W) as an RGB image (H, W, 3) in [0, 1]: hue is the direction
    (0 = red: to the right; then, clockwise on the screen since y points down, yellow-green
    downwards, cyan to the left, blue-violet upwards), saturation 1, and value the speed
    divided by ``max_magnitude`` (default: the field's largest), clipped to 1. Black is no
    motion."""
    from matplotlib.colors import hsv_to_rgb

    uv = np.asarray(uv, dtype=np.float64)
    if uv.ndim != 3 or uv.shape[0] != 2:
        raise ValueError(f"expected a flow field (2, H, W), got {uv.shape}")
    magnitude = np.hypot(uv[0], uv[1])
    top = float(magnitude.max()) if max_magnitude is None else float(max_magnitude)
    if top < 0:
        raise ValueError(f"max_magnitude must be >= 0, got {max_magnitude}")
    hue = (np.arctan2(uv[1], uv[0]) / (2 * math.pi)) % 1.0
    value = np.clip(magnitude / top, 0, 1) if top > 0 else np.zeros_like(magnitude)
    return hsv_to_rgb(np.stack([hue, np.ones_like(hue), value], axis=-1))


def colour_wheel(size: int = 65) -> np.ndarray:
    """The key of :func:`flow_to_colour`: (size, size, 3) RGB, each pixel coloured as the flow
    pointing from the centre to it, full brightness on the rim; white outside the disc."""
    if size < 3:
        raise ValueError(f"size must be >= 3, got {size}")
    radius = (size - 1) / 2
    y, x = np.mgrid[0:size, 0:size] - radius
    wheel = flow_to_colour(np.stack([x, y]) / radius, max_magnitude=1.0)
    wheel[np.hypot(x, y) > radius] = 1.0
    return wheel
