"""Per-frame detection metrics of online action detection (chapter 06).

- :func:`average_precision`: area under the precision-recall curve of one class, ranked by
  score, ties grouped (the definition scikit-learn's ``average_precision_score`` implements):
  ``AP = sum_k (R_k - R_{k-1}) P_k`` over the distinct score thresholds.
- ``calibrated=True``: TVSeries' calibrated AP (De Geest et al., 2016). Precision counts false
  positives at the rate they would have if positives and negatives were equally many:
  ``cPrec = TP / (TP + FP / w)`` with ``w = negatives / positives``, so the score does not change
  when the negatives are replicated (more background of the same kind).

- ``ratio=rho``: precision as if there were ``rho`` negatives per positive (false positives
  rescaled by ``rho / w``), i.e. the AP of the same score distributions at another base rate;
  ``calibrated=True`` is ``ratio=1`` and ``ratio=w`` is plain AP. Chapter 06 uses it to compare two
  test sets at equal positive share.

Tied scores form one threshold here (scikit-learn's convention), for both AP and cAP: the value
does not depend on how tied frames happen to be ordered. The TVSeries definition and OadTR's
evaluation code step rank by rank instead, and the two differ as soon as a tied group holds a
positive and any frame ranked with or above it is a negative: for scores [0.9 (negative),
0.5 (positive), 0.5 (positive)] grouping gives 2/3 and rank by rank (1/2 + 2/3) / 2 = 0.583.
Without negatives every threshold has precision 1, so (c)AP is 1.
- :func:`frame_map`: the THUMOS'14 protocol, the mean over action classes (background excluded,
  classes without positives skipped) of per-frame AP; calibrated, it is TVSeries' mcAP.
"""

from __future__ import annotations

import torch


def average_precision(
    scores: torch.Tensor,
    targets: torch.Tensor,
    calibrated: bool = False,
    ratio: float | None = None,
):
    """AP (or calibrated AP, or AP at ``ratio`` negatives per positive) of ``scores`` (N,) for
    binary ``targets`` (N,)."""
    if calibrated and ratio is not None:
        raise ValueError("give calibrated=True (ratio 1) or a ratio, not both")
    if ratio is not None and not ratio > 0:
        raise ValueError(f"ratio must be > 0, got {ratio}")
    if scores.shape != targets.shape or scores.dim() != 1 or len(scores) == 0:
        raise ValueError(
            f"need scores and targets of the same shape (N,), N >= 1; got "
            f"{tuple(scores.shape)} and {tuple(targets.shape)}"
        )
    targets = targets.bool()
    positives = int(targets.sum())
    if positives == 0:
        raise ValueError("AP is undefined without positives")
    order = torch.argsort(scores.double(), descending=True, stable=True)
    sorted_scores, hits = scores.double()[order], targets[order].double()
    tp, fp = hits.cumsum(0), (1 - hits).cumsum(0)
    last = torch.ones_like(sorted_scores, dtype=torch.bool)  # the end of each group of ties
    last[:-1] = sorted_scores[1:] != sorted_scores[:-1]
    tp, fp = tp[last], fp[last]
    if calibrated:
        ratio = 1.0
    if ratio is not None:
        fp = fp * ratio * positives / max(len(targets) - positives, 1)
    precision = tp / (tp + fp)
    recall = tp / positives
    gained = torch.diff(recall, prepend=recall.new_zeros(1))
    return float((gained * precision).sum())


def frame_map(
    scores: torch.Tensor,
    labels: torch.Tensor,
    calibrated: bool = False,
    background: int = 0,
    ratio: dict[int, float] | None = None,
) -> tuple[float, dict[int, float]]:
    """Mean per-frame (calibrated) AP over the classes of ``scores`` (N, K+1) except
    ``background``, and the per-class values; classes absent from ``labels`` are skipped.
    ``ratio`` (class -> negatives per positive, e.g. :func:`negative_ratios` of another test
    set) evaluates every class at that base rate instead."""
    if scores.dim() != 2 or labels.shape != (len(scores),):
        raise ValueError(f"need scores (N, K+1) and labels (N,); got {tuple(scores.shape)}, "
                         f"{tuple(labels.shape)}")  # fmt: skip
    per_class = {
        k: average_precision(
            scores[:, k], labels == k, calibrated, None if ratio is None else ratio[k]
        )
        for k in range(scores.shape[1])
        if k != background and bool((labels == k).any())
    }
    if not per_class:
        raise ValueError("no action class has a positive frame")
    return sum(per_class.values()) / len(per_class), per_class


def negative_ratios(labels: torch.Tensor, classes: int, background: int = 0) -> dict[int, float]:
    """Negatives per positive of every action class present in ``labels`` (N,): the base rate
    ``w`` that plain AP is evaluated at."""
    return {
        k: float((labels != k).sum() / (labels == k).sum())
        for k in range(classes)
        if k != background and bool((labels == k).any())
    }
