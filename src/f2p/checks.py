"""Exercise checkers: run a reader's function against a reference on random inputs.

Each chapter's code exercises end with a call such as ``f2p.checks.softmax(my_softmax)``; those
chapter checkers are thin wrappers around :func:`check_function`, which does the work:

1. draw ``trials`` random inputs with a seeded generator,
2. call the reader's function and the reference on the same inputs,
3. compare type, shape and values, and report the first difference in words,

and then prints ``PASS`` or raises :class:`CheckFailed` (an ``AssertionError``) whose message
names the trial, the input shapes, and the first wrong entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

InputMaker = Callable[[torch.Generator], Sequence[Any]]


class CheckFailed(AssertionError):
    """A reader's answer differs from the reference; the message says where and how."""


def _describe(args: Sequence[Any]) -> str:
    parts = []
    for a in args:
        if isinstance(a, torch.Tensor | np.ndarray):
            parts.append(f"{type(a).__name__}{tuple(a.shape)}")
        else:
            parts.append(repr(a))
    return "(" + ", ".join(parts) + ")"


def compare(got: Any, want: Any, rtol: float = 1e-5, atol: float = 1e-6) -> str | None:
    """Return ``None`` if ``got`` matches ``want``, else a sentence saying what differs.

    Tensors and arrays are compared by shape, then values (``|got - want| <= atol + rtol*|want|``);
    tuples and lists element by element; anything else by ``==``.
    """
    if isinstance(want, tuple | list):
        if not isinstance(got, tuple | list) or len(got) != len(want):
            return f"expected a sequence of {len(want)} items, got {type(got).__name__} {got!r:.80}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            problem = compare(g, w, rtol, atol)
            if problem:
                return f"item {i}: {problem}"
        return None
    if isinstance(want, torch.Tensor | np.ndarray):
        if not isinstance(got, torch.Tensor | np.ndarray):
            return f"expected a {type(want).__name__}, got {type(got).__name__}"
        g = torch.as_tensor(np.asarray(got) if isinstance(got, np.ndarray) else got).detach().cpu()
        w = (
            torch.as_tensor(np.asarray(want) if isinstance(want, np.ndarray) else want)
            .detach()
            .cpu()
        )
        if g.shape != w.shape:
            return f"shape mismatch: expected {tuple(w.shape)}, got {tuple(g.shape)}"
        g, w = g.double(), w.double()
        bad = ~torch.isclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
        if bad.any():
            idx = tuple(int(i) for i in torch.nonzero(bad)[0])
            n_bad = int(bad.sum())
            return (
                f"wrong values at index {idx}: expected {w[idx].item():.6g}, "
                f"got {g[idx].item():.6g} ({n_bad} of {bad.numel()} entries differ)"
            )
        return None
    if isinstance(want, float) and isinstance(got, int | float):
        return (
            None
            if abs(got - want) <= atol + rtol * abs(want)
            else f"expected {want:.6g}, got {got:.6g}"
        )
    return None if got == want else f"expected {want!r:.80}, got {got!r:.80}"


def check_function(
    candidate: Callable[..., Any],
    reference: Callable[..., Any],
    make_inputs: InputMaker,
    *,
    name: str | None = None,
    trials: int = 5,
    seed: int = 0,
    rtol: float = 1e-5,
    atol: float = 1e-6,
) -> None:
    """Check ``candidate`` against ``reference`` on ``trials`` random inputs.

    ``make_inputs(generator)`` returns the positional arguments of one trial. Inputs are cloned
    for each call so a function that modifies its inputs in place cannot fool the check.
    Prints a one-line pass message, or raises :class:`CheckFailed` with the first problem.
    """
    if not callable(candidate):
        raise TypeError(f"expected a function to check, got {type(candidate).__name__}")
    if trials < 1:
        raise ValueError(f"trials must be at least 1, got {trials}")
    label = name or getattr(candidate, "__name__", "your function")
    gen = torch.Generator().manual_seed(seed)
    for trial in range(trials):
        args = list(make_inputs(gen))
        want = reference(*_clone(args))
        try:
            got = candidate(*_clone(args))
        except Exception as err:  # the reader's code: report, do not crash the checker
            raise CheckFailed(
                f"{label}: raised {type(err).__name__}: {err} "
                f"on trial {trial} with inputs {_describe(args)}"
            ) from err
        problem = compare(got, want, rtol=rtol, atol=atol)
        if problem:
            raise CheckFailed(f"{label}: {problem} (trial {trial}, inputs {_describe(args)})")
    print(f"PASS {label}: matches the reference on {trials} random inputs.")


def _clone(args: Sequence[Any]) -> list[Any]:
    return [
        a.clone() if isinstance(a, torch.Tensor) else np.copy(a) if isinstance(a, np.ndarray) else a
        for a in args
    ]


def _reference_softmax(z: torch.Tensor) -> torch.Tensor:
    return torch.softmax(z, dim=-1)


def _softmax_inputs(gen: torch.Generator) -> tuple[torch.Tensor]:
    """Logits (rows, classes) in float64 that no shortcut survives. Each row is a few units of
    spread around its own offset, drawn from +-[800, 1200]; the first row's offset is positive and
    the second's negative. So in every trial each row's largest logit lies beyond +-709.8 (the
    naive exp(z) / sum exp(z) overflows to inf / inf or underflows to 0 / 0, NaN either way), and
    the rows are more than 1,500 apart (subtracting the maximum of the whole tensor instead of each
    row's leaves a row at exp(-1500) = 0 or less, NaN again). Two entries stand out, so that
    shifting each row by anything but its maximum overflows: the first row's first logit lies
    1,600 below the rest (its minimum and its first entry are 1,600 below its maximum), and the
    second row's last logit 4,500 above the rest (its mean, with at most 6 classes, is at least
    2,250 below its maximum)."""
    rows = int(torch.randint(2, 6, (1,), generator=gen))
    classes = int(torch.randint(2, 7, (1,), generator=gen))
    signs = torch.where(torch.rand(rows, generator=gen) < 0.5, -1.0, 1.0).double()
    signs[:2] = torch.tensor([1.0, -1.0], dtype=torch.float64)
    offsets = signs * (800 + 400 * torch.rand(rows, generator=gen, dtype=torch.float64))
    spread = 3 * torch.randn(rows, classes, generator=gen, dtype=torch.float64)
    spread[0, 0] -= 1600
    spread[1, -1] += 4500
    return (offsets[:, None] + spread,)


def softmax(candidate: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Chapter 00 exercise: a numerically stable softmax over the last axis,
    ``softmax(z)_k = exp(z_k - m) / sum_j exp(z_j - m)`` with ``m`` each row's maximum (the first
    equation of chapter 00). Every trial's logits make the naive form and the whole tensor's
    maximum fail (:func:`_softmax_inputs`)."""
    check_function(candidate, _reference_softmax, _softmax_inputs, name="softmax")


def _causal_mask_inputs(gen: torch.Generator) -> tuple[int, str]:
    kernel = 2 * int(torch.randint(0, 4, (1,), generator=gen)) + 1
    return kernel, "AB"[int(torch.randint(0, 2, (1,), generator=gen))]


def pixelcnn_mask(candidate: Callable[[int, str], torch.Tensor]) -> None:
    """Chapter 07 exercise: the (k, k) mask of a masked convolution, type 'A' or 'B'
    (eq. (7.10))."""
    from f2p.generative.pixelcnn import causal_mask

    check_function(candidate, causal_mask, _causal_mask_inputs, name="pixelcnn_mask", trials=12)


def _gae_inputs(gen: torch.Generator) -> tuple:
    T, N = (int(v) for v in torch.randint(1, 7, (2,), generator=gen))
    rewards, values, next_values = (torch.randn(T, N, generator=gen) for _ in range(3))
    terminated = torch.rand(T, N, generator=gen) < 0.2
    ended = terminated | (torch.rand(T, N, generator=gen) < 0.2)
    gamma, lam = 0.5 + 0.5 * torch.rand(2, generator=gen)
    return rewards, values, next_values, terminated, ended, float(gamma), float(lam)


def gae(candidate: Callable[..., torch.Tensor]) -> None:
    """Chapter 08 exercise: generalised advantage estimation with terminations and truncations,
    ``candidate(rewards, values, next_values, terminated, ended, gamma, lam)`` (eq. (8.7))."""
    from f2p.rl.returns import gae as reference

    check_function(candidate, reference, _gae_inputs, name="gae", trials=20)


def _td3_inputs(gen: torch.Generator) -> tuple:
    n = int(torch.randint(1, 9, (1,), generator=gen))
    rewards, q1, q2 = (torch.randn(n, generator=gen) for _ in range(3))
    terminated = torch.rand(n, generator=gen) < 0.3
    return rewards, terminated, q1, q2, float(0.9 + 0.1 * torch.rand(1, generator=gen))


def td3_target(candidate: Callable[..., torch.Tensor]) -> None:
    """Chapter 09 exercise: TD3's clipped double-Q target,
    ``candidate(rewards, terminated, next_q1, next_q2, gamma)``."""
    from f2p.rl.ddpg import td3_target as reference

    check_function(candidate, reference, _td3_inputs, name="td3_target", trials=20)


def _cg_inputs(gen: torch.Generator) -> tuple:
    """A random SPD system and up to n + 3 iterations (more than n: CG must not break down). One
    trial in five has b = 0 and one in five a diagonal M of powers of two with b along one axis,
    which CG solves exactly in one iteration (r_1 = 0 in floating point): a loop that does not
    stop there divides 0 by 0 at its next iteration."""
    n = int(torch.randint(2, 12, (1,), generator=gen))
    m = torch.randn(n, n, generator=gen, dtype=torch.float64)
    a = m @ m.T + n * torch.eye(n, dtype=torch.float64)
    b = torch.randn(n, generator=gen, dtype=torch.float64)
    k = int(torch.randint(1, n + 4, (1,), generator=gen))  # any number of iterations up to n + 3
    case = float(torch.rand(1, generator=gen))
    if case < 0.2:
        b = torch.zeros(n, dtype=torch.float64)
    elif case < 0.4:
        a = torch.diag(2.0 ** torch.randint(-3, 4, (n,), generator=gen).double())
        b = torch.zeros(n, dtype=torch.float64)
        b[int(torch.randint(0, n, (1,), generator=gen))] = 2.0 ** int(
            torch.randint(-2, 3, (1,), generator=gen)
        )
        k = max(k, 2)
    return a, b, k


def krylov_minimiser(a: torch.Tensor, b: torch.Tensor, k: int) -> torch.Tensor:
    """The k-th conjugate-gradient iterate by its defining property, not by CG: the minimiser of
    1/2 x^T A x - b^T x over the Krylov space span{b, Ab, ..., A^{k-1} b}, i.e.
    x_k = Q (Q^T A Q)^{-1} Q^T b for an orthonormal basis Q of that space (built by Gram-Schmidt,
    twice, on A q_j). When the space stops growing (at most n; earlier if b lies in fewer of A's
    eigenspaces) the minimiser is the exact solution, and so is every later iterate; b = 0
    gives 0."""
    if not b.any():
        return torch.zeros_like(b)
    basis = [b / b.norm()]
    for _ in range(k - 1):
        w = a @ basis[-1]
        v = w
        for _ in range(2):  # re-orthogonalise: the powers of A grow ill-conditioned
            v = v - sum((q @ v) * q for q in basis)
        if v.norm() <= 1e-10 * w.norm():  # the Krylov space is invariant under A: exact
            break
        basis.append(v / v.norm())
    q = torch.stack(basis, 1)
    return q @ torch.linalg.solve(q.T @ a @ q, q.T @ b)


def conjugate_gradient(candidate: Callable[..., torch.Tensor]) -> None:
    """Chapter 10 exercise: conjugate gradient, ``candidate(M, b, iterations)`` for a symmetric
    positive-definite ``M`` from x_0 = 0. After k iterations (up to n + 3) it must return CG's
    k-th iterate, the minimiser of the quadratic over the Krylov space of order k
    (:func:`krylov_minimiser`); at k = n that is the exact solution. So a direct solve, or any
    other method that is exact after n steps, does not pass; nor does a loop that keeps going
    once the residual is exactly 0 (b = 0, or a system solved in one step: see
    :func:`_cg_inputs`), which divides 0 by 0."""
    check_function(
        candidate,
        krylov_minimiser,
        _cg_inputs,
        name="conjugate_gradient",
        trials=40,
        rtol=1e-6,
        atol=1e-8,
    )


def _difference_inputs(gen: torch.Generator) -> tuple:
    frames, n, c = (int(v) for v in torch.randint(2, 6, (3,), generator=gen))
    return torch.randn(n * frames, c, 3, 3, generator=gen), frames


def feature_difference(candidate: Callable[[torch.Tensor, int], torch.Tensor]) -> None:
    """Chapter 04 exercise: ``candidate(x, frames)`` for per-frame features (N*T, C, H, W) returns
    D_t = X_{t+1} - X_t, zero at each clip's last frame (eq. (4.1) with g = id)."""
    from f2p.video.motion import shifted_difference

    check_function(
        candidate, shifted_difference, _difference_inputs, name="feature_difference", trials=10
    )


def reference_tea_frames(frames: int, t: int) -> torch.Tensor:
    """Chapter 04: which input frames can change output frame ``t`` of a TEA module (ME, then
    MTA with 4 groups), per channel group: a bool (4, frames) mask. ME's output at frame s
    reads frames s and s + 1 (D_s = g(F_{s+1}) - F_s; the last frame reads itself only); MTA's
    group i (from 0) reads ME's frames within i of t. So group i sees t - i .. t + i + 1,
    clipped to the clip; `tests/test_video_motion.py` checks this against a module."""
    s = torch.arange(frames)
    return torch.stack([(s >= t - i) & (s <= t + i + 1) for i in range(4)])


def _tea_frames_inputs(gen: torch.Generator) -> tuple[int, int]:
    frames = int(torch.randint(2, 11, (1,), generator=gen))
    return frames, int(torch.randint(frames, (1,), generator=gen))


def tea_receptive_field(candidate: Callable[[int, int], Any]) -> None:
    """Chapter 04 exercise: ``candidate(frames, t)`` returns a (4, frames) mask of the input
    frames that can change output frame ``t`` of each channel group of a TEA module. Checked on
    every t of clips of 2 to 10 frames, then on random draws."""

    def as_mask(frames: int, t: int) -> torch.Tensor:
        return torch.as_tensor(candidate(frames, t)).bool().long()

    for frames in range(2, 11):
        for t in range(frames):
            problem = compare(as_mask(frames, t), reference_tea_frames(frames, t).long())
            if problem:
                raise CheckFailed(f"tea_receptive_field: {problem} (frames={frames}, t={t})")
    check_function(
        as_mask,
        lambda f, t: reference_tea_frames(f, t).long(),
        _tea_frames_inputs,
        name="tea_receptive_field",
        trials=5,
    )


def stm_identity(candidate: Callable[[torch.nn.Module], Any]) -> None:
    """Chapter 04 exercise: ``candidate(stm)`` sets an ``f2p.video.motion.STM`` built with
    ``reduction=1`` so that its motion path returns the expansion of X_{t+1} - X_t (zero at the
    last frame), up to BatchNorm's epsilon: reduction and neighbour convolution as identities,
    BatchNorm in evaluation mode with running mean 0 and variance 1. The checker builds modules
    with random weights (BatchNorm statistics included) and compares on random features."""
    from f2p.video.motion import STM, shifted_difference

    gen = torch.Generator().manual_seed(0)
    for trial in range(4):
        channels, frames = (int(v) for v in torch.randint(2, 6, (2,), generator=gen))
        torch.manual_seed(trial)
        stm = STM(channels, frames, reduction=1)
        with torch.no_grad():  # nothing left as initialised by luck: the reader must set it
            for p in (stm.reduce[0].weight, stm.neighbour.weight):
                p.copy_(torch.randn(p.shape, generator=gen))
            stm.reduce[1].running_mean.copy_(torch.randn(channels, generator=gen))
            stm.reduce[1].running_var.copy_(1 + torch.rand(channels, generator=gen))
            stm.reduce[1].weight.copy_(1 + torch.rand(channels, generator=gen))
            stm.reduce[1].bias.copy_(torch.randn(channels, generator=gen))
        stm.train()
        expand = stm.expand.weight.detach().clone()
        try:
            returned = candidate(stm)
        except Exception as err:
            raise CheckFailed(f"stm_identity: raised {type(err).__name__}: {err}") from err
        module = returned if isinstance(returned, torch.nn.Module) else stm
        if not torch.equal(module.expand.weight, expand):
            raise CheckFailed("stm_identity: the expansion changed; leave it as initialised")
        x = torch.randn(2 * frames, channels, 5, 5, generator=gen)
        with torch.no_grad():
            got = module.motion(x)
            want = module.expand(shifted_difference(x, frames)) / (1 + module.reduce[1].eps) ** 0.5
        problem = compare(got, want, rtol=1e-4, atol=1e-5)
        if problem:
            raise CheckFailed(
                f"stm_identity: motion path is not the expanded difference: {problem} (trial "
                f"{trial}, {channels} channels, {frames} frames; BatchNorm in "
                f"{'training' if module.training else 'evaluation'} mode)"
            )
    print("PASS stm_identity: the motion path is the expanded difference on 4 random modules.")


def _kernel_inputs(gen: torch.Generator) -> tuple[torch.Tensor]:
    c_out, c_in, t = (int(v) for v in torch.randint(1, 5, (3,), generator=gen))
    return (torch.randn(c_out, c_in, t + 1, 3, 3, generator=gen),)


def temporal_uniformity(candidate: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Chapter 05 exercise: the uniformity (sum_i w_i)^2 / (t sum_i w_i^2) of every temporal
    kernel of a Conv3d weight (C_out, C_in, t, k, k), flattened in the order of the other axes."""
    from f2p.video.spatiotemporal import temporal_uniformity as reference

    check_function(candidate, reference, _kernel_inputs, name="temporal_uniformity", trials=10)


def _ap_inputs(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    n = int(torch.randint(5, 60, (1,), generator=gen))
    targets = torch.rand(n, generator=gen) < 0.3
    targets[0], targets[1] = True, False  # at least one positive and one negative
    return torch.rand(n, generator=gen), targets


def calibrated_ap(candidate: Callable[[torch.Tensor, torch.Tensor], float]) -> None:
    """Chapter 06 exercise: calibrated average precision of ``scores`` (N,) for boolean
    ``targets`` (N,), ``cPrec = TP / (TP + FP / w)`` with ``w = negatives / positives``."""
    from f2p.oad.metrics import average_precision

    check_function(
        lambda s, t: torch.tensor(float(candidate(s, t)), dtype=torch.float64),
        lambda s, t: torch.tensor(average_precision(s, t, calibrated=True), dtype=torch.float64),
        _ap_inputs,
        name="calibrated_ap",
        trials=20,
    )


def _fusion_inputs(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    n, classes = (int(v) for v in torch.randint(1, 7, (2,), generator=gen))
    return tuple(torch.randn(n, classes + 1, generator=gen) * 4 for _ in range(2))


def late_fusion(candidate: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Chapter 01 exercise: two-stream late fusion of (N, classes) logits, the average of the two
    streams' softmax probabilities."""
    from f2p.video.models import late_fusion as reference

    check_function(candidate, reference, _fusion_inputs, name="late_fusion", trials=10)


def _cross_modality_inputs(gen: torch.Generator) -> tuple[torch.Tensor, int]:
    c_out, k = (
        int(torch.randint(1, 9, (1,), generator=gen)),
        int(torch.randint(1, 4, (1,), generator=gen)),
    )
    channels = int(torch.randint(1, 11, (1,), generator=gen))
    return torch.randn(c_out, 3, 2 * k - 1, 2 * k - 1, generator=gen), channels


def reference_cross_modality_weight(rgb_weight: torch.Tensor, channels: int) -> torch.Tensor:
    """TSN's cross-modality initialisation of a first convolution's weight (C_out, 3, k, k): the
    average over the RGB channels, replicated across ``channels`` new input channels (what
    :func:`f2p.video.models.cross_modality_init` does to a network's stem)."""
    return rgb_weight.mean(1, keepdim=True).expand(-1, channels, -1, -1).contiguous()


def cross_modality_weight(candidate: Callable[[torch.Tensor, int], torch.Tensor]) -> None:
    """Chapter 02 exercise: TSN's cross-modality initialisation of a stem weight."""
    check_function(
        candidate,
        reference_cross_modality_weight,
        _cross_modality_inputs,
        name="cross_modality_weight",
        trials=10,
    )


def _shift_inputs(gen: torch.Generator) -> tuple[torch.Tensor, int, int]:
    clips, frames = (int(v) for v in torch.randint(1, 5, (2,), generator=gen))
    fold_div = int((2, 4, 8)[int(torch.randint(0, 3, (1,), generator=gen))])
    channels = fold_div * int(torch.randint(1, 3, (1,), generator=gen)) + int(
        torch.randint(0, 3, (1,), generator=gen)
    )
    return torch.randn(clips * frames, channels, 2, 2, generator=gen), frames, fold_div


def temporal_shift(candidate: Callable[[torch.Tensor, int, int], torch.Tensor]) -> None:
    """Chapter 03 exercise: TSM's bidirectional shift of (N*T, C, H, W) features,
    ``candidate(x, frames, fold_div)``: the first C // fold_div channels come from frame t+1, the
    next C // fold_div from frame t-1, zeros at the clip's ends, the rest unchanged."""
    from f2p.video.models import temporal_shift as reference

    check_function(candidate, reference, _shift_inputs, name="temporal_shift", trials=15)


def _length_inputs(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    groups, k = (
        int(torch.randint(1, 5, (1,), generator=gen)),
        int(torch.randint(2, 7, (1,), generator=gen)),
    )
    lengths = torch.randint(3, 12, (groups, k), generator=gen)
    lengths[0] = lengths[0, 0]  # one group without a length signal
    return lengths, torch.rand(groups, k, generator=gen) < 0.5


def length_penalty(candidate: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Chapter 11 exercise: k1.5's length reward over each problem's k responses,
    ``candidate(lengths, correct)`` for (G, k) tensors."""
    from f2p.llm.losses import length_penalty as reference

    check_function(candidate, reference, _length_inputs, name="length_penalty", trials=15)


# --- second exercises of chapters 01-11 (references written from the chapters' equations) ----


def reference_hs_update(ix, iy, it, u_bar, v_bar, alpha: float):
    """One Horn-Schunck iteration (chapter 01, eq. ch01-hs): u = u_bar - I_x c, v = v_bar - I_y c
    with c = (I_x u_bar + I_y v_bar + I_t) / (alpha^2 + I_x^2 + I_y^2)."""
    common = (ix * u_bar + iy * v_bar + it) / (alpha**2 + ix**2 + iy**2)
    return u_bar - ix * common, v_bar - iy * common


def _hs_inputs(gen: torch.Generator) -> tuple:
    h, w = (int(v) for v in torch.randint(1, 6, (2,), generator=gen))
    fields = [torch.randn(1, 1, h, w, generator=gen, dtype=torch.float64) for _ in range(5)]
    return (*fields, float(0.1 + 2 * torch.rand(1, generator=gen)))


def reference_hs_update_kappa(ix, iy, it, u_bar, v_bar, alpha: float, kappa: float):
    """One Horn-Schunck iteration with the discrete Laplacian kept as kappa (u_bar - u) instead
    of absorbed in alpha^2 (chapter 01's third exercise, ch01-ex-hs-update): the same step with
    alpha^2 replaced by kappa alpha^2 (Horn and Schunck's mean kernel has kappa = 3 at unit
    grid spacing)."""
    return reference_hs_update(ix, iy, it, u_bar, v_bar, kappa**0.5 * alpha)


def _hs_kappa_inputs(gen: torch.Generator) -> tuple:
    *fields, alpha = _hs_inputs(gen)
    return (*fields, alpha, float(1.5 + 3 * torch.rand(1, generator=gen)))


def _solver_alpha_inputs(gen: torch.Generator) -> tuple[float, float]:
    return float(0.02 + torch.rand(1, generator=gen)), float(1.5 + 3 * torch.rand(1, generator=gen))


def solver_alpha(candidate: Callable[[float, float], float]) -> None:
    """Chapter 01's third exercise: the ``alpha`` to give ``flow.horn_schunck`` (whose update has
    alpha^2 where the kappa-kept update has kappa alpha^2) for an energy's ``alpha`` and a
    Laplacian constant ``kappa``: sqrt(kappa) alpha, on 10 drawn pairs."""
    check_function(
        candidate,
        lambda alpha, kappa: float(kappa**0.5 * alpha),
        _solver_alpha_inputs,
        name="solver_alpha",
        trials=10,
    )


def fusion_disagreement(spatial: torch.Tensor, temporal: torch.Tensor, classes: int) -> None:
    """Chapter 01's fusion exercise: one clip's logits from each stream, ``(C,)`` or ``(1, C)``,
    on which the average of logits and the average of softmax probabilities pick different
    classes, each by a margin of at least 1e-3 (no ties), and ``classes``: the fewest classes
    for which such a pair exists."""
    s, t = (torch.as_tensor(x, dtype=torch.float64).reshape(-1) for x in (spatial, temporal))
    if s.shape != t.shape or len(s) < 2:
        raise CheckFailed(f"need two logit vectors of one length >= 2, got {s.shape}, {t.shape}")
    for rule, fused in (
        ("average of logits", (s + t) / 2),
        ("average of probabilities", (s.softmax(0) + t.softmax(0)) / 2),
    ):
        top2 = fused.topk(2).values
        if top2[0] - top2[1] < 1e-3:
            raise CheckFailed(f"the {rule} ties (its top two differ by {top2[0] - top2[1]:.2g})")
    by_logits, by_probs = int((s + t).argmax()), int((s.softmax(0) + t.softmax(0)).argmax())
    if by_logits == by_probs:
        raise CheckFailed(f"both rules pick class {by_logits}: no disagreement")
    if classes != 3:
        raise CheckFailed(f"fewest classes: {classes} is wrong (this pair has {len(s)})")
    print(
        f"PASS fusion_disagreement: logits pick {by_logits}, probabilities {by_probs}; "
        "3 classes is the fewest."
    )


def reference_weighted_consensus(scores: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """TSN's weighted consensus (chapter 02): sum_k softmax(w)_k s_k over the K snippets'
    class scores s_k, (N, K, C) -> (N, C)."""
    return (torch.softmax(weights, 0)[None, :, None] * scores).sum(1)


def _consensus_inputs(gen: torch.Generator) -> tuple:
    n, k, c = (int(v) for v in torch.randint(1, 6, (3,), generator=gen))
    return torch.randn(n, k, c, generator=gen), torch.randn(k, generator=gen) * 2


def reference_nonlocal(theta: torch.Tensor, phi: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """The embedded-Gaussian non-local operation (chapter 03): y_i = sum_j softmax_j(theta_i .
    phi_j) g_j, for theta (N, L, D), phi (N, M, D), g (N, M, C) -> (N, L, C)."""
    return torch.softmax(theta @ phi.transpose(1, 2), dim=-1) @ g


def _nonlocal_inputs(gen: torch.Generator) -> tuple:
    n, length, m, d, c = (int(v) for v in torch.randint(1, 6, (5,), generator=gen))
    return tuple(
        torch.randn(n, rows, cols, generator=gen) for rows, cols in ((length, d), (m, d), (m, c))
    )


def reference_excitation(x: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """TEA's motion excitation (chapter 04) with its 1x1 convolutions as identities:
    X + X * (2 sigmoid(avgpool(D)) - 1), the pool over space."""
    return x + x * (2 * torch.sigmoid(d.mean(dim=(2, 3), keepdim=True)) - 1)


def _excitation_inputs(gen: torch.Generator) -> tuple:
    n, c, h, w = (int(v) for v in torch.randint(1, 5, (4,), generator=gen))
    return torch.randn(n, c, h, w, generator=gen), torch.randn(n, c, h, w, generator=gen)


def reference_mid_channels(c_in: int, c_out: int, t: int, k: int) -> int:
    """(2+1)D's intermediate width (chapter 05, eq. ch05-m):
    M = floor(t k^2 C_in C_out / (k^2 C_in + t C_out))."""
    return (t * k * k * c_in * c_out) // (k * k * c_in + t * c_out)


def _mid_inputs(gen: torch.Generator) -> tuple:
    c_in, c_out = (int(v) for v in torch.randint(1, 513, (2,), generator=gen))
    return (
        c_in,
        c_out,
        int(torch.randint(1, 8, (1,), generator=gen)),
        int(2 * torch.randint(0, 4, (1,), generator=gen) + 1),
    )


def reference_contrastive(e: torch.Tensor, labels: torch.Tensor, margin: float) -> torch.Tensor:
    """IDN's contrastive term (chapter 06, eq. ch06-idn-loss), averaged over the chunks whose
    label is not ignored (-100): ||e_t - e_0||^2 for chunks with the current chunk's label y_0
    (the last one), max(0, m - ||e_t - e_0||)^2 for the others."""
    distance = (e - e[:, -1:]).norm(dim=-1)
    same = (labels == labels[:, -1:]).float()
    pair = same * distance**2 + (1 - same) * torch.relu(margin - distance) ** 2
    valid = labels != -100
    return (pair * valid).sum() / valid.sum()


def _contrastive_inputs(gen: torch.Generator) -> tuple:
    n, t, d = (int(v) for v in torch.randint(1, 6, (3,), generator=gen))
    labels = torch.randint(0, 3, (n, t + 1), generator=gen)
    labels[:, :-1][torch.rand(n, t, generator=gen) < 0.2] = -100  # the current chunk is labelled
    margin = float(0.5 + torch.rand(1, generator=gen))
    # every chunk at a distance from the current one drawn uniformly in [0, 2m]: about half of
    # the different-label pairs fall inside the margin, where (m - d)^2 and m^2 - d^2 differ
    # by 2d(m - d), so a squared-margin variant is off by a clear amount, not by 1e-3
    e0 = torch.randn(n, 1, d, generator=gen, dtype=torch.float64)
    direction = torch.randn(n, t, d, generator=gen, dtype=torch.float64)
    radius = 2 * margin * torch.rand(n, t, 1, generator=gen, dtype=torch.float64)
    e = torch.cat([e0 + radius * direction / direction.norm(dim=-1, keepdim=True), e0], 1)
    return e, labels, margin


def reference_made_mask(degrees_in: torch.Tensor, degrees_out: torch.Tensor, output: bool):
    """MADE's mask (chapter 07): (K_out, K_in) with 1[m_out(k) >= m_in(k')] for a hidden layer
    (eq. ch07-made-hidden), 1[m_out(d) > m_in(k)] for the output layer (eq. ch07-made-out)."""
    if output:
        return (degrees_out[:, None] > degrees_in[None, :]).float()
    return (degrees_out[:, None] >= degrees_in[None, :]).float()


def _made_inputs(gen: torch.Generator) -> tuple:
    dim, width = (
        int(torch.randint(2, 8, (1,), generator=gen)),
        int(torch.randint(1, 9, (1,), generator=gen)),
    )
    output = bool(torch.rand(1, generator=gen) < 0.5)
    hidden = torch.randint(1, dim, (width,), generator=gen)
    places = torch.randperm(dim, generator=gen) + 1
    return (hidden, places, True) if output else (places, hidden, False)


def reference_nade_preactivations(w: torch.Tensor, c: torch.Tensor, x: torch.Tensor):
    """NADE's pre-activations (chapter 07, eq. ch07-nade-rec) for the ordering 0, 1, ..., D-1:
    (N, D, H) with a[:, k] = c + sum_{j<k} W[:, j] x[:, j], an exclusive cumulative sum."""
    terms = x[:, :, None] * w.T[None]  # (N, D, H): W[:, j] x_j
    return c + terms.cumsum(1) - terms


def _nade_inputs(gen: torch.Generator) -> tuple:
    n, dim, hidden = (int(v) for v in torch.randint(1, 7, (3,), generator=gen))
    x = (torch.rand(n, dim + 1, generator=gen) < 0.5).double()
    w = torch.randn(hidden, dim + 1, generator=gen, dtype=torch.float64)
    return w, torch.randn(hidden, generator=gen, dtype=torch.float64), x


def _returns_inputs(gen: torch.Generator) -> tuple:
    t, n = (int(v) for v in torch.randint(1, 9, (2,), generator=gen))
    return torch.randn(t, n, generator=gen), float(0.5 + 0.5 * torch.rand(1, generator=gen))


def reference_soft_update(target: torch.Tensor, source: torch.Tensor, tau: float) -> torch.Tensor:
    """DDPG's soft target update (chapter 09, eq. ch09-soft), returned instead of in place:
    tau theta + (1 - tau) theta'."""
    return tau * source + (1 - tau) * target


def _soft_inputs(gen: torch.Generator) -> tuple:
    n = int(torch.randint(1, 20, (1,), generator=gen))
    return (
        torch.randn(n, generator=gen, dtype=torch.float64),
        torch.randn(n, generator=gen, dtype=torch.float64),
        float(torch.rand(1, generator=gen) * 0.99 + 0.01),
    )


def reference_softmax_fisher(probs: torch.Tensor) -> torch.Tensor:
    """The Fisher matrix of a softmax policy in its logits (chapter 10, exercise 2):
    diag(pi) - pi pi^T."""
    return torch.diag(probs) - torch.outer(probs, probs)


def _softmax_fisher_inputs(gen: torch.Generator) -> tuple[torch.Tensor]:
    k = int(torch.randint(2, 7, (1,), generator=gen))
    return (torch.softmax(2 * torch.randn(k, generator=gen, dtype=torch.float64), -1),)


def reference_bandit_step(
    logits: torch.Tensor,
    actions: torch.Tensor,
    advantages: torch.Tensor,
    delta: float,
    damping: float,
) -> torch.Tensor:
    """One TRPO update of a softmax bandit whose parameters are its logits (chapter 10, exercise
    4), by the package's :func:`f2p.rl.trpo.trust_region_step` (CG run to convergence, line
    search 0.8^j for j < 10): the new logits, or the old ones if no step is accepted."""
    from torch.distributions import Categorical, kl_divergence

    from f2p.rl.trpo import trust_region_step

    old = Categorical(logits=logits.detach())
    old_log_prob = old.log_prob(actions)
    theta = logits.detach().clone().requires_grad_(True)

    def surrogate() -> torch.Tensor:
        ratio = torch.exp(Categorical(logits=theta).log_prob(actions) - old_log_prob)
        return (ratio * advantages).mean()

    def kl() -> torch.Tensor:
        return kl_divergence(old, Categorical(logits=theta))

    trust_region_step(theta, surrogate, kl, [theta], delta, damping, cg_iterations=3 * len(logits))
    return theta.detach()


def _bandit_inputs(gen: torch.Generator) -> tuple:
    """K = 2..6 arms, logits of scale 1.5, 4-40 sampled actions with standard-normal advantages,
    delta log-uniform in [0.003, 1] (the large ones make the full step overshoot, so the line
    search matters) and damping 1e-3, 1e-2 or 0.1."""
    k = int(torch.randint(2, 7, (1,), generator=gen))
    logits = 1.5 * torch.randn(k, generator=gen, dtype=torch.float64)
    n = int(torch.randint(4, 41, (1,), generator=gen))
    actions = torch.multinomial(torch.softmax(logits, -1), n, replacement=True, generator=gen)
    advantages = torch.randn(n, generator=gen, dtype=torch.float64)
    delta = float(10 ** (-2.5 * torch.rand(1, generator=gen)))
    damping = (1e-3, 1e-2, 0.1)[int(torch.randint(0, 3, (1,), generator=gen))]
    return logits, actions, advantages, delta, damping


def _k15_inputs(gen: torch.Generator) -> tuple:
    groups, k = (
        int(torch.randint(1, 5, (1,), generator=gen)),
        int(torch.randint(2, 7, (1,), generator=gen)),
    )
    logp = -5 * torch.rand(groups, k, generator=gen, dtype=torch.float64)
    old = logp + 0.3 * torch.randn(groups, k, generator=gen, dtype=torch.float64)
    rewards = (torch.rand(groups, k, generator=gen) < 0.5).double()
    return logp, old, rewards, float(0.1 + torch.rand(1, generator=gen))


def _checker(reference: Callable[..., Any], inputs: InputMaker, name: str, trials: int = 10):
    """A chapter checker: ``candidate`` against ``reference`` on ``trials`` drawn inputs."""

    def check(candidate: Callable[..., Any]) -> None:
        check_function(candidate, reference, inputs, name=name, trials=trials)

    check.__doc__ = f"Check a reader's {name} against {reference.__name__} ({trials} inputs)."
    return check


def _package_returns(rewards: torch.Tensor, gamma: float) -> torch.Tensor:
    from f2p.rl.returns import discounted_returns

    return discounted_returns(rewards, gamma)


def _package_k15(logp, logp_old, rewards, tau: float) -> torch.Tensor:
    from f2p.llm.losses import k15_loss

    return k15_loss(logp, logp_old, rewards, tau)


hs_update = _checker(reference_hs_update, _hs_inputs, "hs_update")
hs_update_kappa = _checker(reference_hs_update_kappa, _hs_kappa_inputs, "hs_update_kappa")
weighted_consensus = _checker(reference_weighted_consensus, _consensus_inputs, "weighted_consensus")
nonlocal_attention = _checker(reference_nonlocal, _nonlocal_inputs, "nonlocal_attention")
motion_excitation = _checker(reference_excitation, _excitation_inputs, "motion_excitation")


def mid_channels(candidate: Callable[[int, int, int, int], int]) -> None:
    """Chapter 05 exercise: (2+1)D's intermediate width M (eq. ch05-m) on 30 drawn layer sizes,
    as an ``int``: a float (even a whole one) is refused, since M is a channel count, and so is
    rounding to the nearest integer instead of down (a wider layer exceeds the 3D weights)."""

    def as_int(*args: int) -> int:
        got = candidate(*args)
        if isinstance(got, bool) or not isinstance(got, int):
            raise TypeError(f"expected an int (a channel count), got {type(got).__name__} {got!r}")
        return got

    as_int.__name__ = getattr(candidate, "__name__", "mid_channels")
    check_function(as_int, reference_mid_channels, _mid_inputs, name="mid_channels", trials=30)


contrastive = _checker(reference_contrastive, _contrastive_inputs, "contrastive", trials=15)
made_mask = _checker(reference_made_mask, _made_inputs, "made_mask", trials=20)
nade_preactivations = _checker(
    reference_nade_preactivations, _nade_inputs, "nade_preactivations", trials=10
)
discounted_returns = _checker(_package_returns, _returns_inputs, "discounted_returns")
softmax_fisher = _checker(
    reference_softmax_fisher, _softmax_fisher_inputs, "softmax_fisher", trials=10
)
bandit_trust_region_step = _checker(
    reference_bandit_step, _bandit_inputs, "bandit_trust_region_step", trials=30
)


def soft_update(candidate: Callable[..., torch.Tensor]) -> None:
    """Chapter 09 exercise: the soft target update ``candidate(target, source, tau)`` returned as
    a new tensor on 10 drawn inputs. The exercise asks for the inputs to be left unchanged, so a
    candidate that writes into ``target`` or ``source`` (``target.lerp_(source, tau)``,
    ``target.mul_(1 - tau).add_(...)``) fails even when what it returns is right."""

    def unchanged(target: torch.Tensor, source: torch.Tensor, tau: float) -> torch.Tensor:
        before = target.clone(), source.clone()
        got = candidate(target, source, tau)
        for label, now, then in (("target", target, before[0]), ("source", source, before[1])):
            if not torch.equal(now, then):
                raise RuntimeError(f"it changed {label} in place; return a new tensor instead")
        return got

    unchanged.__name__ = getattr(candidate, "__name__", "soft_update")
    check_function(unchanged, reference_soft_update, _soft_inputs, name="soft_update")


def _smoothing_inputs(gen: torch.Generator) -> tuple:
    """mu'(s') inside asymmetric bounds, with some rows on a bound; sigma in [0.2, 0.7] (never 1)
    and c in [0.1, 0.4], so sigma z exceeds c in many entries and the order of scaling and
    clipping, either clip, and the bounds all change the answer."""
    n, k = 32, int(torch.randint(1, 4, (1,), generator=gen))
    low = -1.0 - 2.0 * torch.rand(k, generator=gen, dtype=torch.float64)
    high = 0.2 + torch.rand(k, generator=gen, dtype=torch.float64)
    u = torch.rand(n, k, generator=gen, dtype=torch.float64)
    u[:4], u[4:8] = 0.0, 1.0  # actions on the bounds, where only the final clip keeps them inside
    mu = low + (high - low) * u
    z = 2.0 * torch.randn(n, k, generator=gen, dtype=torch.float64)
    sigma = float(0.2 + 0.5 * torch.rand(1, generator=gen))
    clip = float(0.1 + 0.3 * torch.rand(1, generator=gen))
    return mu, z, sigma, clip, low, high


def td3_smoothing(candidate: Callable[..., torch.Tensor]) -> None:
    """Chapter 09 exercise: TD3's smoothed target action
    ``candidate(mu_next, z, sigma, clip, low, high)`` on 15 drawn batches."""
    from f2p.rl.ddpg import td3_smoothed_action as reference

    check_function(
        candidate, reference, _smoothing_inputs, name="td3_smoothing", trials=15, atol=1e-9
    )


def k15_loss(candidate: Callable[..., torch.Tensor]) -> None:
    """Chapter 11 exercise: k1.5's loss ``candidate(logp, logp_old, rewards, tau)`` on 15 drawn
    (G, k) inputs, in value and in gradient. ``logp`` and ``logp_old`` both require gradients
    here: the gradient with respect to ``logp`` must equal the reference's, and none may reach
    ``logp_old`` (the sampler's log-probabilities are constants). A loss without ``.detach()``
    on ``logp_old`` has the right value but sends gradient to it; one that detaches ``logp``
    too has none where it should."""
    gen = torch.Generator().manual_seed(0)
    for trial in range(15):
        args = _k15_inputs(gen)
        logp, old = (a.clone().requires_grad_(True) for a in args[:2])
        want = _package_k15(logp, old, args[2].clone(), args[3])
        (want_grad,) = torch.autograd.grad(want, logp)
        logp, old = (a.clone().requires_grad_(True) for a in args[:2])
        where = f"(trial {trial}, inputs {_describe(list(args))})"
        try:
            got = candidate(logp, old, args[2].clone(), args[3])
        except Exception as err:  # the reader's code: report, do not crash the checker
            raise CheckFailed(f"k15_loss: raised {type(err).__name__}: {err} {where}") from err
        problem = compare(got.detach() if isinstance(got, torch.Tensor) else got, want.detach())
        if problem:
            raise CheckFailed(f"k15_loss: {problem} {where}")
        if not got.requires_grad:
            raise CheckFailed(f"k15_loss: the loss has no gradient with respect to logp {where}")
        grad, grad_old = torch.autograd.grad(got, (logp, old), allow_unused=True)
        if grad is None:
            raise CheckFailed(f"k15_loss: no gradient reaches logp {where}")
        problem = compare(grad, want_grad)
        if problem:
            raise CheckFailed(f"k15_loss: gradient with respect to logp: {problem} {where}")
        if grad_old is not None and grad_old.abs().max() > 0:
            raise CheckFailed(
                "k15_loss: gradient flows into logp_old (the sampler's log-probabilities must "
                f"be constants: detach them) {where}"
            )
    print("PASS k15_loss: matches the reference's value and gradient on 15 random inputs.")
