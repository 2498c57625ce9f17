"""f2p.checks: the exercise checker passes right answers and names the first wrong entry."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from f2p import checks


def stable_softmax(z):
    e = torch.exp(z - z.max(dim=-1, keepdim=True).values)
    return e / e.sum(dim=-1, keepdim=True)


def test_correct_answer_passes(capsys):
    checks.softmax(stable_softmax)
    assert capsys.readouterr().out.startswith("PASS softmax")


def naive_softmax(z):
    return torch.exp(z) / torch.exp(z).sum(-1, keepdim=True)


def global_max_softmax(z):  # subtracts the maximum of the whole tensor, not each row's
    e = torch.exp(z - z.max())
    return e / e.sum(dim=-1, keepdim=True)


def shifted_softmax(statistic):  # shifts each row by a statistic other than its maximum
    def softmax(z):
        e = torch.exp(z - statistic(z))
        return e / e.sum(dim=-1, keepdim=True)

    return softmax


@pytest.mark.parametrize(
    ("wrong", "rows_broken"),
    [
        (naive_softmax, "all"),
        (global_max_softmax, "some"),
        (shifted_softmax(lambda z: z.mean(-1, keepdim=True)), "some"),
        (shifted_softmax(lambda z: z.min(-1, keepdim=True).values), "some"),
        (shifted_softmax(lambda z: z[..., :1]), "some"),
    ],
)
def test_softmax_shortcuts_fail_on_every_trial(wrong, rows_broken):
    """Not one lucky entry: in every trial the naive form is NaN in every row (each row's largest
    logit is beyond +-709.8, where float64's exp overflows or underflows to 0), and subtracting
    the whole tensor's maximum is NaN in some row, while the row-maximum form stays finite."""
    gen = torch.Generator().manual_seed(0)  # the checker's seed
    for _ in range(5):  # the checker's trials
        (z,) = checks._softmax_inputs(gen)
        assert z.dtype == torch.float64
        assert (z.max(-1).values.abs() > math.log(torch.finfo(torch.float64).max)).all()
        broken = (~torch.isfinite(wrong(z))).any(-1)
        assert broken.all() if rows_broken == "all" else broken.any()
        assert torch.isfinite(stable_softmax(z)).all()
    with pytest.raises(checks.CheckFailed, match=r"wrong values at index .*\(trial 0,"):
        checks.softmax(wrong)


def test_shape_mismatch_is_reported():
    with pytest.raises(
        checks.CheckFailed, match=r"shape mismatch: expected \(\d+, \d+\), got \(\d+,\)"
    ):
        checks.softmax(lambda z: stable_softmax(z).sum(0))


def test_exception_in_reader_code_is_reported():
    def broken(z):
        raise IndexError("oops")

    with pytest.raises(checks.CheckFailed, match="raised IndexError: oops on trial 0"):
        checks.softmax(broken)


def test_in_place_changes_cannot_fool_the_check():
    def cheat(z):  # modifies its input, then returns the reference result on the modified input
        z.zero_()
        return torch.softmax(z, -1)

    with pytest.raises(checks.CheckFailed):
        checks.softmax(cheat)


def test_compare_reports_the_first_wrong_index():
    want = torch.zeros(2, 3)
    got = want.clone()
    got[1, 2] = 5.0
    assert checks.compare(got, want) == (
        "wrong values at index (1, 2): expected 0, got 5 (1 of 6 entries differ)"
    )
    assert checks.compare(np.zeros((2, 3)), want) is None
    assert checks.compare((want, 1), (want, 2)) == "item 1: expected 2, got 1"
    assert checks.compare([want], (want, want)).startswith("expected a sequence of 2 items")
    assert checks.compare(1.0 + 1e-9, 1.0) is None
    assert checks.compare("x", torch.zeros(1)) == "expected a Tensor, got str"


def test_bad_arguments():
    with pytest.raises(TypeError, match="expected a function"):
        checks.check_function(42, stable_softmax, lambda g: (torch.zeros(1),))
    with pytest.raises(ValueError, match="trials"):
        checks.check_function(stable_softmax, stable_softmax, lambda g: (torch.zeros(1),), trials=0)


def test_pixelcnn_mask_checker(capsys):
    from f2p.generative import causal_mask

    checks.pixelcnn_mask(causal_mask)
    assert "PASS pixelcnn_mask" in capsys.readouterr().out

    def type_b_only(k, mask_type):
        return causal_mask(k, "B")

    with pytest.raises(checks.CheckFailed, match="wrong values at index"):
        checks.pixelcnn_mask(type_b_only)


def test_gae_checker_passes_the_reference_and_catches_a_missing_truncation_rule(capsys):
    from f2p.rl.returns import gae

    checks.gae(gae)
    assert "PASS gae" in capsys.readouterr().out

    def bootstraps_at_every_end(rewards, values, next_values, terminated, ended, gamma, lam):
        return gae(rewards, values, next_values, ended, ended, gamma, lam)

    with pytest.raises(checks.CheckFailed, match="wrong values"):
        checks.gae(bootstraps_at_every_end)


def test_conjugate_gradient_checker_passes_our_solver_and_catches_steepest_ascent(capsys):
    from f2p.rl.trpo import conjugate_gradient

    checks.conjugate_gradient(lambda a, b, n: conjugate_gradient(lambda v: a @ v, b, n, 0.0))
    assert "PASS conjugate_gradient" in capsys.readouterr().out

    def steepest_descent(a, b, n):  # exact line search, but no conjugate directions
        x = torch.zeros_like(b)
        for _ in range(n):
            r = b - a @ x
            x = x + (r @ r) / (r @ a @ r) * r
        return x

    with pytest.raises(checks.CheckFailed, match="conjugate_gradient"):
        checks.conjugate_gradient(steepest_descent)
    with pytest.raises(checks.CheckFailed, match="conjugate_gradient"):  # exact, but not CG
        checks.conjugate_gradient(lambda a, b, n: torch.linalg.solve(a, b))


def test_krylov_minimiser_is_cg_iterate_by_iterate_and_the_solution_at_n():
    from f2p.rl.trpo import conjugate_gradient

    gen = torch.Generator().manual_seed(3)
    a, b, _ = checks._cg_inputs(gen)
    n = len(b)
    for k in range(1, n + 1):
        ours = conjugate_gradient(lambda v: a @ v, b, k, 0.0)
        torch.testing.assert_close(checks.krylov_minimiser(a, b, k), ours, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(checks.krylov_minimiser(a, b, n), torch.linalg.solve(a, b))
    # the minimiser's gradient A x - b is orthogonal to the Krylov space (Galerkin condition)
    x2 = checks.krylov_minimiser(a, b, 2)
    residual = a @ x2 - b
    assert abs(residual @ b) < 1e-9 and abs(residual @ (a @ b)) < 1e-8


def test_video_and_detection_checkers_pass_references_and_catch_mistakes(capsys):
    from f2p.oad.metrics import average_precision
    from f2p.video.motion import shifted_difference
    from f2p.video.spatiotemporal import temporal_uniformity

    checks.feature_difference(shifted_difference)
    checks.temporal_uniformity(temporal_uniformity)
    checks.calibrated_ap(lambda s, t: average_precision(s, t, calibrated=True))
    assert capsys.readouterr().out.count("PASS") == 3
    with pytest.raises(checks.CheckFailed):  # backward difference instead of forward
        checks.feature_difference(lambda x, f: shifted_difference(x, f, backward=True))
    with pytest.raises(checks.CheckFailed):  # forgot the factor t
        checks.temporal_uniformity(lambda w: temporal_uniformity(w) * w.shape[2])
    with pytest.raises(checks.CheckFailed):  # plain AP is not calibrated
        checks.calibrated_ap(average_precision)
    checks.mid_channels(checks.reference_mid_channels)
    with pytest.raises(checks.CheckFailed, match="expected an int"):  # a whole float
        checks.mid_channels(
            lambda c_in, c_out, t, k: float(
                (t * k * k * c_in * c_out) // (k * k * c_in + t * c_out)
            )
        )
    with pytest.raises(checks.CheckFailed):  # rounded to nearest, not down
        checks.mid_channels(
            lambda c_in, c_out, t, k: round(t * k * k * c_in * c_out / (k * k * c_in + t * c_out))
        )


def test_the_new_chapter_checkers_pass_references_and_catch_typical_mistakes(capsys):
    from f2p.llm.losses import length_penalty
    from f2p.video.models import late_fusion, temporal_shift

    checks.late_fusion(late_fusion)
    checks.cross_modality_weight(checks.reference_cross_modality_weight)
    checks.temporal_shift(temporal_shift)
    checks.length_penalty(length_penalty)
    assert capsys.readouterr().out.count("PASS") == 4
    with pytest.raises(checks.CheckFailed):  # averaging logits, then normalising
        checks.late_fusion(lambda a, b: torch.softmax((a + b) / 2, dim=-1))
    with pytest.raises(checks.CheckFailed):  # summing the RGB filters instead of averaging
        checks.cross_modality_weight(lambda w, c: w.sum(1, keepdim=True).repeat(1, c, 1, 1))
    with pytest.raises(checks.CheckFailed):  # the online (one-way) shift
        checks.temporal_shift(lambda x, f, d: temporal_shift(x, f, d, online=True))
    with pytest.raises(checks.CheckFailed):  # wrong answers keep a positive lambda too
        checks.length_penalty(lambda n, c: length_penalty(n, torch.ones_like(c)))


def test_the_second_exercises_references_agree_with_the_package():
    """The inline references of the graded second exercises compute what the package's modules
    compute: Horn-Schunck's iteration, TSN's weighted consensus, the (2+1)D width, DDPG's soft
    update, IDN's contrastive term, and TRPO's step lands on the trust region's boundary."""
    from f2p.oad.models import IDN
    from f2p.rl.ddpg import soft_update
    from f2p.video import flow, models, spatiotemporal

    gen = torch.Generator().manual_seed(0)
    first, second = torch.rand(2, 1, 1, 6, 7, generator=gen, dtype=torch.float64)
    ix = flow._conv(first, flow._KX) + flow._conv(second, flow._KX)
    iy = flow._conv(first, flow._KY) + flow._conv(second, flow._KY)
    it = flow._conv(second, flow._KT) - flow._conv(first, flow._KT)
    u = v = torch.zeros_like(first)
    for _ in range(3):
        u, v = checks.reference_hs_update(
            ix, iy, it, flow._conv(u, flow._MEAN), flow._conv(v, flow._MEAN), 0.7
        )
    torch.testing.assert_close(torch.cat([u, v], 1), flow.horn_schunck(first, second, 0.7, 3))

    tsn = models.TSN(4, frames=3, consensus="weighted", widths=(4, 4, 4)).double().eval()
    with torch.no_grad():
        tsn.weights.copy_(torch.tensor([0.3, -1.0, 2.0]))
        clips = torch.rand(2, 3, 3, 8, 8, generator=gen, dtype=torch.float64)
        consensus = checks.reference_weighted_consensus(tsn.frame_scores(clips), tsn.weights)
        torch.testing.assert_close(consensus, tsn(clips))

    for c_in, c_out in ((3, 16), (64, 64), (32, 128)):
        layer = spatiotemporal.SpaceTimeConv(c_in, c_out, kind=spatiotemporal.KINDS[-1])
        middle = layer.spatial[0].out_channels if layer.spatial is not None else None
        assert middle == checks.reference_mid_channels(c_in, c_out, 3, 3)

    target, source = torch.randn(5, generator=gen), torch.randn(5, generator=gen)
    expected = checks.reference_soft_update(target, source, 0.3)
    soft_update(target, source, 0.3)
    torch.testing.assert_close(target, expected)

    torch.manual_seed(0)
    idn = IDN(6, 3, margin=0.8, contrastive=1.0).double().eval()
    x = torch.randn(4, 5, 6, dtype=torch.float64)
    y = torch.randint(0, 3, (4, 5))
    y[:2, 1] = -100
    lengths = torch.full((4,), 5)
    with torch.no_grad():
        scores, e = idn.run(x, lengths)
        without = IDN(6, 3, margin=0.8, contrastive=0.0).double().eval()
        without.load_state_dict(idn.state_dict())
        term = idn.loss(x, y, lengths) - without.loss(x, y, lengths)
    torch.testing.assert_close(term, checks.reference_contrastive(e, y, 0.8))


def test_k15_loss_checker_compares_gradients_and_rejects_plausible_wrong_answers(capsys):
    """The chapter 11 checker passes the package's loss and the chapter's solution, and rejects
    the loss without .detach() on logp_old (same value, gradient into logp_old), one with no
    gradient to logp, and the usual mistakes in the baseline, the sign, tau and the reduction."""
    from f2p.llm.losses import k15_loss

    def k15(baseline=None, ratio=None, reduce=torch.mean):
        def loss(logp, old, r, tau):
            b = r.mean(1, keepdim=True) if baseline is None else baseline(r)
            d = (logp - old.detach()) if ratio is None else ratio(logp, old)
            return reduce((r - b - tau * d).pow(2))

        return loss

    checks.k15_loss(k15_loss)
    checks.k15_loss(k15())
    assert capsys.readouterr().out.count("PASS k15_loss") == 2
    k = lambda r: r.shape[1]  # noqa: E731
    wrong = {
        "no detach on logp_old": k15(ratio=lambda lp, old: lp - old),
        "both detached": k15(ratio=lambda lp, old: (lp - old).detach()),
        "ratio reversed": k15(ratio=lambda lp, old: old.detach() - lp),
        "batch-wide baseline": k15(baseline=lambda r: r.mean()),
        "no baseline": k15(baseline=lambda r: 0.0),
        "leave-one-out baseline": k15(baseline=lambda r: (r.sum(1, keepdim=True) - r) / (k(r) - 1)),
        "mean without keepdim": k15(baseline=lambda r: r.mean(1)),
        "summed": k15(reduce=torch.sum),
    }
    for name, candidate in wrong.items():
        with pytest.raises(checks.CheckFailed):
            checks.k15_loss(candidate)
            pytest.fail(f"accepted: {name}")
    # the value alone cannot tell the no-detach loss apart: only its gradient does
    logp, old, r, tau = checks._k15_inputs(torch.Generator().manual_seed(0))
    old = old.clone().requires_grad_(True)
    no_detach = wrong["no detach on logp_old"](logp, old, r, tau)
    torch.testing.assert_close(no_detach, k15_loss(logp, old, r, tau))
    assert torch.autograd.grad(no_detach, old)[0].abs().max() > 0
    with pytest.raises(checks.CheckFailed, match="logp_old"):
        checks.k15_loss(wrong["no detach on logp_old"])


def test_hs_update_kappa_rejects_plausible_wrong_placements_of_kappa(capsys):
    """Chapter 01's Horn-Schunck exercise: kappa multiplies alpha^2 in the denominator only.
    The page's own update (kappa ignored), alpha^2 / kappa, (kappa alpha)^2, and kappa
    scaling the correction are all refused."""
    ref = checks.reference_hs_update

    def correct(ix, iy, it, ub, vb, a, k):
        common = (ix * ub + iy * vb + it) / (k * a**2 + ix**2 + iy**2)
        return ub - ix * common, vb - iy * common

    checks.hs_update_kappa(correct)
    assert capsys.readouterr().out.count("PASS") == 1
    wrong = [
        lambda ix, iy, it, ub, vb, a, k: ref(ix, iy, it, ub, vb, a),
        lambda ix, iy, it, ub, vb, a, k: ref(ix, iy, it, ub, vb, a / k**0.5),
        lambda ix, iy, it, ub, vb, a, k: ref(ix, iy, it, ub, vb, a * k),
        lambda ix, iy, it, ub, vb, a, k: tuple(
            b + (x - b) * k for x, b in zip(ref(ix, iy, it, ub, vb, a), (ub, vb), strict=True)
        ),
    ]
    for candidate in wrong:
        with pytest.raises(checks.CheckFailed):
            checks.hs_update_kappa(candidate)


def test_chapter01_solver_alpha_and_fusion_disagreement_reject_plausible_wrong_answers(capsys):
    """Chapter 01: the solver's alpha is sqrt(kappa) alpha (not kappa alpha, alpha / sqrt(kappa),
    kappa alpha^2 or alpha itself); a fusion counterexample must disagree, without ties, and
    name 3 as the fewest classes."""
    checks.solver_alpha(lambda a, k: a * k**0.5)
    spatial, temporal = torch.tensor([[0.0, 6.0, 7.0]]), torch.tensor([[8.0, 4.0, 0.0]])
    checks.fusion_disagreement(spatial, temporal, 3)
    assert capsys.readouterr().out.count("PASS") == 2
    for wrong in (
        lambda a, k: a * k,
        lambda a, k: a / k**0.5,
        lambda a, k: k * a**2,
        lambda a, k: a,
    ):
        with pytest.raises(checks.CheckFailed):
            checks.solver_alpha(wrong)
    with pytest.raises(checks.CheckFailed):  # right pair, wrong count
        checks.fusion_disagreement(spatial, temporal, 2)
    with pytest.raises(checks.CheckFailed):  # two classes: the rules always agree
        checks.fusion_disagreement(torch.tensor([0.0, 5.0]), torch.tensor([3.0, 0.0]), 3)
    with pytest.raises(checks.CheckFailed):  # three classes on which they agree
        checks.fusion_disagreement(torch.tensor([0.0, 1.0, 2.0]), torch.tensor([0.0, 1.0, 2.0]), 3)
    with pytest.raises(checks.CheckFailed):  # a tie that argmax would break by index
        checks.fusion_disagreement(torch.tensor([1.0, 1.0, 0.0]), torch.tensor([1.0, 1.0, 0.0]), 3)


def test_conjugate_gradient_checker_runs_past_n_and_needs_the_early_exit(capsys):
    """Chapter 10: the checker draws up to n + 3 iterations, b = 0 and systems solved exactly
    in one step; a loop without the stop at r = 0 divides 0 by 0 there and fails."""
    from f2p.rl.trpo import conjugate_gradient

    gen = torch.Generator().manual_seed(0)
    drawn = [checks._cg_inputs(gen) for _ in range(40)]
    assert any(k > len(b) for _, b, k in drawn) and any(not b.any() for _, b, _ in drawn)
    for a, b, k in drawn:  # the reference is CG's iterate, and exact once the space is full
        torch.testing.assert_close(
            checks.krylov_minimiser(a, b, k), conjugate_gradient(a.__matmul__, b, k, 0.0)
        )

    def no_early_exit(a, b, n):
        x, r = torch.zeros_like(b), b.clone()
        p, rr = r.clone(), r @ r
        for _ in range(n):
            mp = a @ p
            omega = rr / (p @ mp)
            x, r = x + omega * p, r - omega * mp
            rr, rr_old = r @ r, rr
            p = r + (rr / rr_old) * p
        return x

    with pytest.raises(checks.CheckFailed, match="conjugate_gradient"):
        checks.conjugate_gradient(no_early_exit)
    with pytest.raises(checks.CheckFailed, match="conjugate_gradient"):  # stops at k = n
        checks.conjugate_gradient(
            lambda a, b, k: conjugate_gradient(lambda v: a @ v, b, min(k, len(b) - 1), 0.0)
        )


def test_softmax_fisher_checker_passes_the_formula_and_rejects_near_misses(capsys):
    checks.softmax_fisher(lambda p: torch.diag(p) - torch.outer(p, p))
    assert "PASS softmax_fisher" in capsys.readouterr().out
    for wrong in (
        torch.diag,  # forgets the rank-one term
        lambda p: torch.outer(p, p) - torch.diag(p),  # sign
        lambda p: torch.diag(p) - torch.outer(p, p) / len(p),
        lambda p: torch.eye(len(p), dtype=p.dtype) - torch.outer(p, p),
    ):
        with pytest.raises(checks.CheckFailed, match="softmax_fisher"):
            checks.softmax_fisher(wrong)


def _bandit_step(direction="natural", line_search=True, two=2.0, damped_alpha=True, fisher=None):
    """Chapter 10, exercise 4's solution, and the near misses the tests below feed the checker."""

    def step(logits, actions, advantages, delta, damping):
        k = len(logits)
        pi = torch.softmax(logits, -1)
        g = (advantages[:, None] * (torch.eye(k, dtype=pi.dtype)[actions] - pi)).mean(0)
        f = torch.diag(pi) - torch.outer(pi, pi) if fisher is None else fisher(pi)
        m = f + damping * torch.eye(k, dtype=pi.dtype)
        x = torch.linalg.solve(m, g) if direction == "natural" else g
        full = torch.sqrt(two * delta / (x @ (m if damped_alpha else f) @ x)) * x
        logp_old = torch.log_softmax(logits, -1)
        for j in range(10 if line_search else 1):
            new = logits + 0.8**j * full
            logp = torch.log_softmax(new, -1)
            kl = (pi * (logp_old - logp)).sum()
            gain = (torch.exp(logp - logp_old)[actions] * advantages).mean() - advantages.mean()
            if kl <= delta and gain > 0:
                return new
        return logits.clone()

    return step


def test_bandit_trust_region_step_checker_rejects_plausible_wrong_answers(capsys):
    checks.bandit_trust_region_step(_bandit_step())
    assert "PASS bandit_trust_region_step" in capsys.readouterr().out
    for wrong in (
        _bandit_step(direction="plain"),  # the plain gradient scaled to the model's boundary
        _bandit_step(line_search=False),  # the full step whatever its measured KL
        _bandit_step(two=1.0),  # alpha = sqrt(delta / x^T F x)
        _bandit_step(damped_alpha=False),  # alpha from the undamped F
        _bandit_step(fisher=torch.diag),  # F without - pi pi^T
    ):
        with pytest.raises(checks.CheckFailed, match="bandit_trust_region_step"):
            checks.bandit_trust_region_step(wrong)


def test_chapter_04_receptive_field_and_stm_identity_checkers(capsys):
    from f2p.video.motion import STM

    checks.tea_receptive_field(checks.reference_tea_frames)

    def mask(frames, t, low, high):  # groups i = 0..3 see t - low(i) .. t + high(i)
        s = torch.arange(frames)
        return torch.stack([(s >= t - low(i)) & (s <= t + high(i)) for i in range(4)])

    wrong = {
        "MTA alone (forgets ME's next frame)": lambda f, t: mask(f, t, lambda i: i, lambda i: i),
        "ME reads the previous frame": lambda f, t: mask(f, t, lambda i: i + 1, lambda i: i),
        "one frame too many on each side": lambda f, t: mask(
            f, t, lambda i: i + 1, lambda i: i + 2
        ),
        "identity group sees t only": lambda f, t: mask(
            f, t, lambda i: i, lambda i: i + 1 if i else 0
        ),
    }
    for answer in wrong.values():  # each key says the mistake
        with pytest.raises(checks.CheckFailed):
            checks.tea_receptive_field(answer)

    def identity(stm: STM, centre: bool = True, evaluate: bool = True, affine: bool = True):
        inner = stm.reduce[0].weight.shape[0]
        with torch.no_grad():
            stm.reduce[0].weight.copy_(torch.eye(inner)[:, :, None, None])
            stm.reduce[1].running_mean.zero_()
            stm.reduce[1].running_var.fill_(1.0)
            if affine:
                stm.reduce[1].weight.fill_(1.0)
                stm.reduce[1].bias.zero_()
            stm.neighbour.weight.zero_()
            stm.neighbour.weight[:, :, 1, 1] = 1.0 if centre else 0.0
            if not centre:
                stm.neighbour.weight[:, :, 0, 0] = 1.0  # a delta off centre: a shift
        return stm.eval() if evaluate else stm

    checks.stm_identity(identity)
    assert capsys.readouterr().out.count("PASS") == 2
    for kwargs in ({"centre": False}, {"evaluate": False}, {"affine": False}):
        with pytest.raises(checks.CheckFailed):
            checks.stm_identity(lambda stm, kw=kwargs: identity(stm, **kw))
    with pytest.raises(checks.CheckFailed):  # the expansion set to identity too
        checks.stm_identity(
            lambda stm: (identity(stm), torch.nn.init.eye_(stm.expand.weight[:, :, 0, 0]))
        )


def test_temporal_uniformity_checker_does_not_test_all_zero_kernels(capsys):
    """Chapter 05's exercise says so: the reference drops kernels whose taps are all zero (u is
    undefined there), the checker's random weights never contain one, so a candidate that keeps
    them (and returns NaN there) still passes; on a weight with a zero kernel it differs."""
    from f2p.video.spatiotemporal import temporal_uniformity

    def keeps_zero_kernels(weight: torch.Tensor) -> torch.Tensor:
        taps = weight.movedim(2, -1).reshape(-1, weight.shape[2])
        return taps.sum(-1) ** 2 / (weight.shape[2] * (taps**2).sum(-1))

    gen = torch.Generator().manual_seed(0)
    for _ in range(10):  # the checker's own inputs: no kernel has zero energy
        (weight,) = checks._kernel_inputs(gen)
        assert (weight.movedim(2, -1).pow(2).sum(-1) > 0).all()
    checks.temporal_uniformity(keeps_zero_kernels)
    assert "PASS" in capsys.readouterr().out
    weight = torch.randn(2, 1, 3, 1, 1)
    weight[1] = 0.0
    assert temporal_uniformity(weight).shape == (1,)  # the zero kernel is dropped
    kept = keeps_zero_kernels(weight)
    assert kept.shape == (2,) and kept[1].isnan()
