"""Uncertainty for the numbers the chapters compare (used wherever the prose compares two).

The Wilson score interval for a binomial proportion (Wilson, 1927): with p = x/n and z the
normal quantile of the confidence level,

    centre = (p + z^2 / 2n) / (1 + z^2 / n),
    half   = z sqrt(p (1 - p) / n + z^2 / 4n^2) / (1 + z^2 / n),

which, unlike p +- z sqrt(p(1-p)/n), stays inside [0, 1] and is not empty at x = 0 or x = n.

For figures averaged over a few seeds, :func:`apart` is the course's reading rule: two means
differ beyond the run's uncertainty when their gap exceeds the sum of the two seed spreads.
"""

from __future__ import annotations

import math
from statistics import NormalDist


def binomial_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for the success probability after ``successes`` of ``n`` trials."""
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n >= 1, got {successes} of {n}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    scale = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / scale
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / scale
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends, no rounding residue
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def apart(mean_a: float, std_a: float, mean_b: float, std_b: float) -> bool:
    """Whether two means over seeds differ by more than the sum of their stds,
    |mean_a - mean_b| > std_a + std_b: a reading rule (overlapping one-std bands are "not told
    apart", i.e. undecided), not a significance test. With n seeds a side and population stds
    (ddof = 0), a gap just at the threshold has Welch's t = sqrt(n - 1) (std_a + std_b) /
    sqrt(std_a^2 + std_b^2), a two-sided p of 0.29-0.50 for n = 2, 0.12-0.29 for n = 3 and
    0.02-0.12 for n = 5 (from equal stds to one of them 0): with 2 or 3 seeds "apart" is weak
    evidence, and "not told apart" is the common outcome."""
    if std_a < 0 or std_b < 0:
        raise ValueError(f"stds must be >= 0, got {std_a}, {std_b}")
    return abs(mean_a - mean_b) > std_a + std_b
