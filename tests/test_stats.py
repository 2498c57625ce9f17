"""f2p.stats: the Wilson interval against values worked by hand, and its coverage."""

from __future__ import annotations

import numpy as np
import pytest

from f2p.stats import apart, binomial_interval


def test_wilson_interval_matches_hand_computed_values():
    low, high = binomial_interval(5, 10)
    assert (low, high) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    low, high = binomial_interval(0, 10)  # not the empty interval [0, 0] of the naive formula
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    assert binomial_interval(10, 10)[1] == 1.0
    with pytest.raises(ValueError, match="successes"):
        binomial_interval(11, 10)
    with pytest.raises(ValueError, match="confidence"):
        binomial_interval(1, 10, confidence=1.5)


def test_wilson_interval_keeps_its_coverage_where_the_normal_approximation_fails():
    """At a small rate (p = 0.03, n = 40) the interval p +- 1.96 sqrt(p(1-p)/n) covers the true
    rate about 71% of the time; Wilson's stays near the nominal 95%."""
    rng = np.random.default_rng(0)
    p, n = 0.03, 40
    intervals = [binomial_interval(int(x), n) for x in rng.binomial(n, p, 5000)]
    coverage = np.mean([low <= p <= high for low, high in intervals])
    assert 0.93 < coverage < 0.99


def test_apart_needs_a_gap_larger_than_both_spreads():
    assert apart(0.9, 0.02, 0.5, 0.1)
    assert not apart(0.6, 0.05, 0.5, 0.05)  # gap 0.1 = 0.05 + 0.05: touching bands
    assert not apart(0.5, 0.0, 0.5, 0.0)
    assert apart(0.5, 0.0, 0.51, 0.0)
    with pytest.raises(ValueError, match="stds"):
        apart(0.5, -0.1, 0.5, 0.1)


def test_paired_differences_by_hand_and_against_scipy():
    """Seeds shared by two runs: differences [-1, -2, -3] have mean -2, std 1 (ddof = 1) and
    t = -2 sqrt(3); scipy's paired t-test agrees. Unpaired, the same numbers are not apart."""
    from scipy import stats as scipy_stats

    from f2p.stats import paired

    a, b = [10.0, 20.0, 30.0], [11.0, 22.0, 33.0]
    r = paired(a, b)
    assert (r.mean, r.std, r.n, r.above, r.below) == pytest.approx((-2, 1, 3, 0, 3))
    assert r.t == pytest.approx(scipy_stats.ttest_rel(a, b).statistic)
    assert r.apart  # |mean| 2 > std 1
    assert not apart(np.mean(a), np.std(a), np.mean(b), np.std(b))  # the seeds' spread hides it
    assert not paired([1.0, 2.0, 3.0], [2.0, 1.0, 3.5]).apart  # differences -1, 1, -0.5
    same = paired([1.0, 2.0], [0.0, 1.0])
    assert same.t == float("inf") and same.apart and same.above == 2
    assert paired([1.0, 2.0], [1.0, 2.0]).t == 0.0 and not paired([1.0, 2.0], [1.0, 2.0]).apart
    with pytest.raises(ValueError, match="same length"):
        paired([1.0, 2.0], [1.0])


def test_mcnemar_counts_discordant_items_and_matches_scipy():
    """Exact McNemar: 1 vs 9 discordant items give 2 P(Bin(10, 1/2) <= 1) = 22/1024 (scipy's
    binomtest agrees); agreements do not count; equal counts give p = 1."""
    from scipy import stats as scipy_stats

    from f2p.stats import mcnemar

    a = [True] * 1 + [False] * 9 + [True] * 50 + [False] * 40
    b = [False] * 1 + [True] * 9 + [True] * 50 + [False] * 40
    r = mcnemar(a, b)
    assert (r.only_a, r.only_b) == (1, 9)
    assert r.p == pytest.approx(22 / 1024)
    assert r.p == pytest.approx(scipy_stats.binomtest(1, 10, 0.5).pvalue)
    assert mcnemar([True, False], [False, True]).p == 1.0
    assert mcnemar([True, True], [True, True]).p == 1.0
    with pytest.raises(ValueError, match="one length"):
        mcnemar([True], [True, False])
