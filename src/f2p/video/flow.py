"""Optical flow by Horn and Schunck (1981), chapter 01, batched in torch.

Brightness constancy, I(x + u, y + v, t + 1) = I(x, y, t), linearised, gives one equation per
pixel for two unknowns, I_x u + I_y v + I_t = 0 (the aperture problem). Horn-Schunck adds a
smoothness term and minimises

    E(u, v) = sum over pixels of (I_x u + I_y v + I_t)^2 + alpha^2 (|grad u|^2 + |grad v|^2),

whose Euler-Lagrange equations, with the Laplacian approximated by (local mean - value), give the
Jacobi-style iteration

    u <- u_bar - I_x (I_x u_bar + I_y v_bar + I_t) / (alpha^2 + I_x^2 + I_y^2),
    v <- v_bar - I_y (I_x u_bar + I_y v_bar + I_t) / (alpha^2 + I_x^2 + I_y^2).
"""

from __future__ import annotations

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
