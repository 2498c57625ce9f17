"""The numerical core of TRPO (Schulman et al., 2015), chapter 10.

TRPO maximises the surrogate L(theta) = E[ pi_theta(a|s) / pi_old(a|s) * A(s, a) ] subject to
mean KL(pi_old || pi_theta) <= delta. With the objective linearised (gradient g) and the
constraint expanded to second order (Fisher matrix F, the Hessian of the mean KL at theta_old),
the step is along the natural gradient s = F^{-1} g, scaled to the boundary of the trust region,

    theta_new = theta_old + alpha s,   alpha = sqrt(2 delta / (s^T F s)),

followed by a backtracking line search that accepts only a step that keeps the measured KL
within delta and improves the surrogate. F is never formed: conjugate gradient needs only
Fisher-vector products, computed by differentiating the KL twice (double back-propagation).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

Vector = torch.Tensor


def conjugate_gradient(
    matvec: Callable[[Vector], Vector], b: Vector, iterations: int = 10, tolerance: float = 1e-10
) -> Vector:
    """Solve A x = b for a symmetric positive-definite A given only x -> A x.

    In exact arithmetic it terminates in at most n iterations (n = len(b)). Raises if a search
    direction p has p^T A p <= 0, i.e. A is not positive definite along it.
    """
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    x = torch.zeros_like(b)
    r = b.clone()  # residual b - A x
    p = r.clone()
    rr = r @ r
    for _ in range(iterations):
        if rr <= tolerance:
            break
        Ap = matvec(p)
        curvature = p @ Ap
        if curvature <= 0:
            raise ValueError(
                f"the curvature p^T A p = {curvature.item():.3g} is not positive along the search "
                "direction: the matrix is not positive definite (add damping?)"
            )
        step = rr / curvature
        x += step * p
        r -= step * Ap
        rr_new = r @ r
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x


def fisher_vector_product(
    mean_kl: Callable[[], torch.Tensor], params: list[torch.Tensor], damping: float = 0.0
) -> Callable[[Vector], Vector]:
    """Return v -> (F + damping I) v, with F the Hessian of ``mean_kl()`` at the current
    parameters (the Fisher information when the KL is taken from a frozen copy of the policy).

    Computed by double back-propagation: the gradient of (grad KL . v), never forming F.
    """
    if damping < 0:
        raise ValueError(f"damping must be >= 0, got {damping}")
    grads = torch.autograd.grad(mean_kl(), params, create_graph=True)
    flat_grad = torch.cat([g.reshape(-1) for g in grads])

    def product(v: Vector) -> Vector:
        hv = torch.autograd.grad(flat_grad @ v, params, retain_graph=True)
        return torch.cat([h.reshape(-1) for h in hv]).detach() + damping * v

    return product


@dataclass
class StepResult:
    """What one TRPO update did."""

    accepted: bool
    kl: float
    """mean KL(pi_old || pi_new) after the step (0 if rejected)"""
    improvement: float
    """surrogate improvement L(theta_new) - L(theta_old) (0 if rejected)"""
    step_fraction: float
    """the line search's accepted fraction of the full step (0 if rejected)"""


def trust_region_step(
    flat_params: torch.Tensor,
    surrogate: Callable[[], torch.Tensor],
    mean_kl: Callable[[], torch.Tensor],
    params: list[torch.Tensor],
    max_kl: float,
    damping: float = 0.1,
    cg_iterations: int = 10,
    backtracks: int = 10,
    shrink: float = 0.8,
) -> StepResult:
    """One TRPO update of the parameters whose storage is ``flat_params``.

    ``surrogate()`` and ``mean_kl()`` are evaluated at the current parameters (the KL from a frozen
    old policy); ``params`` are the module's parameter tensors (views into ``flat_params``). If no
    backtracked step satisfies both conditions, the parameters are left unchanged.
    """
    if max_kl <= 0:
        raise ValueError(f"max_kl (delta) must be > 0, got {max_kl}")
    if not 0 < shrink < 1 or backtracks < 1:
        raise ValueError(f"need 0 < shrink < 1 and backtracks >= 1, got {shrink}, {backtracks}")
    old = flat_params.detach().clone()
    loss_old = surrogate()
    grads = torch.autograd.grad(loss_old, params)
    g = torch.cat([x.reshape(-1) for x in grads]).detach()
    fvp = fisher_vector_product(mean_kl, params, damping)
    direction = conjugate_gradient(fvp, g, cg_iterations)
    shs = direction @ fvp(direction)
    if shs <= 0:
        raise ValueError("the step has no positive curvature under the Fisher matrix")
    full_step = torch.sqrt(2 * max_kl / shs) * direction  # alpha s, on the KL boundary
    with torch.no_grad():
        for k in range(backtracks):
            fraction = shrink**k
            flat_params.copy_(old + fraction * full_step)
            improvement = (surrogate() - loss_old).item()
            kl = mean_kl().item()
            if kl <= max_kl and improvement > 0:
                return StepResult(True, kl, improvement, fraction)
        flat_params.copy_(old)
    return StepResult(False, 0.0, 0.0, 0.0)
