"""Uncertainty for the numbers the chapters compare (used wherever the prose compares two).

The Wilson score interval for a binomial proportion (Wilson, 1927): with p = x/n and z the
normal quantile of the confidence level,

    centre = (p + z^2 / 2n) / (1 + z^2 / n),
    half   = z sqrt(p (1 - p) / n + z^2 / 4n^2) / (1 + z^2 / n),

which, unlike p +- z sqrt(p(1-p)/n), stays inside [0, 1] and is not empty at x = 0 or x = n.

For figures averaged over a few seeds, :func:`apart` is the course's reading rule: two means
differ beyond the run's uncertainty when their gap exceeds the sum of the two seed spreads.
When the two runs share their seeds (the same seed drives both methods), :func:`paired` reads
the per-seed differences instead, which removes the spread the seeds have in common.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Paired:
    """Per-seed differences a_i - b_i of two runs that share their seeds."""

    mean: float  # mean difference
    std: float  # sample std of the differences (ddof = 1)
    n: int  # number of seeds
    above: int  # seeds with a_i > b_i
    below: int  # seeds with a_i < b_i
    t: float  # paired t statistic, mean / (std / sqrt(n)); +-inf when every difference is equal

    @property
    def apart(self) -> bool:
        """The reading rule on differences: |mean| > std (ddof = 1), i.e. |t| > sqrt(n). At the
        threshold the two-sided paired-t p is 0.39 for n = 2, 0.23 for n = 3 and 0.09 for
        n = 5 (0.01 for n = 10): like :func:`apart`, weak evidence for few seeds."""
        return abs(self.mean) > self.std


def paired(a, b) -> Paired:
    """Paired comparison of two equally long sequences of per-seed results, seed i of ``a``
    against seed i of ``b``: mean and std (ddof = 1) of a_i - b_i, the sign count and the paired
    t. Use it, not :func:`apart`, when both runs used the same seeds."""
    a, b = [float(x) for x in a], [float(x) for x in b]
    if len(a) != len(b) or len(a) < 2:
        raise ValueError(f"need two sequences of the same length >= 2, got {len(a)} and {len(b)}")
    d = [x - y for x, y in zip(a, b, strict=True)]
    n = len(d)
    mean = sum(d) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1))
    if std > 0:
        t = mean / (std / math.sqrt(n))
    else:
        t = 0.0 if mean == 0 else math.copysign(math.inf, mean)
    above, below = sum(x > 0 for x in d), sum(x < 0 for x in d)
    return Paired(mean=mean, std=std, n=n, above=above, below=below, t=t)


@dataclass(frozen=True)
class McNemar:
    """Two classifiers scored on the same test items: the discordant counts and McNemar's exact
    two-sided p (binomial, p = 1/2, on the discordant items; McNemar, 1947)."""

    only_a: int  # items a gets right and b gets wrong
    only_b: int  # items b gets right and a gets wrong
    p: float


def mcnemar(correct_a, correct_b) -> McNemar:
    """Paired comparison of two classifiers on the same items, from two equally long sequences
    of booleans (each item right or wrong): only the items on which they disagree count, and
    under "equally accurate" each such item is a fair coin. Returns the two discordant counts
    and the exact two-sided p, min(1, 2 P(X <= min(only_a, only_b))) for X ~ Bin(n, 1/2)."""
    a, b = [bool(x) for x in correct_a], [bool(x) for x in correct_b]
    if len(a) != len(b) or not a:
        raise ValueError(f"need two non-empty sequences of one length, got {len(a)} and {len(b)}")
    only_a = sum(x and not y for x, y in zip(a, b, strict=True))
    only_b = sum(y and not x for x, y in zip(a, b, strict=True))
    n, k = only_a + only_b, min(only_a, only_b)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n if n else 1.0
    return McNemar(only_a=only_a, only_b=only_b, p=min(1.0, 2 * tail))
