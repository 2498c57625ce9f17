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
