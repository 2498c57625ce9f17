"""Per-frame detection metrics of online action detection (chapter 06).

- :func:`average_precision`: area under the precision-recall curve of one class, ranked by
  score, ties grouped (the definition scikit-learn's ``average_precision_score`` implements):
  ``AP = sum_k (R_k - R_{k-1}) P_k`` over the distinct score thresholds.
- ``calibrated=True``: TVSeries' calibrated AP (De Geest et al., 2016). Precision counts false
  positives at the rate they would have if positives and negatives were equally many:
  ``cPrec = TP / (TP + FP / w)`` with ``w = negatives / positives``, so the score does not change
  when the negatives are replicated (more background of the same kind).

Tied scores form one threshold here (scikit-learn's convention), for both AP and cAP: the value
does not depend on how tied frames happen to be ordered. The TVSeries definition and OadTR's
evaluation code step rank by rank instead, which differs only when a positive and a negative
share a score (rare with continuous scores). Without negatives every threshold has precision 1,
so (c)AP is 1.
- :func:`frame_map`: the THUMOS'14 protocol, the mean over action classes (background excluded,
  classes without positives skipped) of per-frame AP; calibrated, it is TVSeries' mcAP.
"""

from __future__ import annotations

import torch


def average_precision(scores: torch.Tensor, targets: torch.Tensor, calibrated: bool = False):
    """AP (or calibrated AP) of ``scores`` (N,) for binary ``targets`` (N,)."""
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
        fp = fp * positives / max(len(targets) - positives, 1)
    precision = tp / (tp + fp)
    recall = tp / positives
    gained = torch.diff(recall, prepend=recall.new_zeros(1))
    return float((gained * precision).sum())


def frame_map(
    scores: torch.Tensor, labels: torch.Tensor, calibrated: bool = False, background: int = 0
) -> tuple[float, dict[int, float]]:
    """Mean per-frame (calibrated) AP over the classes of ``scores`` (N, K+1) except
    ``background``, and the per-class values; classes absent from ``labels`` are skipped."""
    if scores.dim() != 2 or labels.shape != (len(scores),):
        raise ValueError(f"need scores (N, K+1) and labels (N,); got {tuple(scores.shape)}, "
                         f"{tuple(labels.shape)}")  # fmt: skip
    per_class = {
        k: average_precision(scores[:, k], labels == k, calibrated)
        for k in range(scores.shape[1])
        if k != background and bool((labels == k).any())
    }
    if not per_class:
        raise ValueError("no action class has a positive frame")
    return sum(per_class.values()) / len(per_class), per_class
