"""Detection agreement: boxes matched across two annotators by IoU, then presence, class and boundary.

Matching is class-agnostic and greedy: all box pairs with IoU >= threshold are taken in order of decreasing
IoU (ties by index), each box at most once. Class-agnostic because "same place, other class" is a class
disagreement, not two missed defects. Greedy rather than Hungarian (scipy is not a runtime dependency): with a
threshold of 0.5 or more a box can overlap two boxes that well only when they overlap each other, so the two
rarely differ.

For one pair of annotators on the images both labelled, with n_a and n_b boxes and M matches:

- presence agreement = 2 M / (n_a + n_b), the Dice/F1 of "is there a defect here" (NaN with no box at all);
- class agreement = share of the M matched pairs with the same class;
- boundary agreement = mean IoU of the M matched pairs ("where exactly is the defect's boundary").

Per image, the score 2 * sum(IoU of same-class matches) / (n_a + n_b) (1 when neither drew a box) is 1 only
for identical boxes with identical classes; 1 - its mean over pairs ranks the boundary cases.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class BoxMatch(NamedTuple):
    """Matched boxes: ``rows[k]`` of annotator a with ``cols[k]`` of b at ``iou[k]``; (M,) int64 / float64."""

    rows: np.ndarray
    cols: np.ndarray
    iou: np.ndarray


def _check_boxes(boxes: np.ndarray, name: str) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{name} must have shape (n, 4) as [x, y, w, h], got {boxes.shape}")
    if not np.isfinite(boxes).all():
        raise ValueError(f"{name} holds non-finite coordinates")
    if (boxes[:, 2:] < 0).any():
        raise ValueError(f"{name} holds a negative width or height")
    return boxes


def _overlap(a0: np.ndarray, aw: np.ndarray, b0: np.ndarray, bw: np.ndarray) -> np.ndarray:
    """Length of the overlap of [a0, a0 + aw] and [b0, b0 + bw], as min(aw - d+, bw - d-) with d = b0 - a0:
    unlike min(a0 + aw, b0 + bw) - max(a0, b0) it never exceeds either length, so identical boxes score 1."""
    d = b0 - a0
    return np.clip(np.minimum(aw - np.maximum(d, 0.0), bw - np.maximum(-d, 0.0)), 0.0, None)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, m) float64 intersection over union of boxes a (n, 4) and b (m, 4), each [x, y, w, h] in pixels.

    Two boxes whose union has zero area (degenerate boxes) have IoU 0: they cannot agree on a boundary.
    """
    a, b = _check_boxes(a, "a"), _check_boxes(b, "b")
    iw = _overlap(a[:, 0:1], a[:, 2:3], b[:, 0], b[:, 2])
    ih = _overlap(a[:, 1:2], a[:, 3:4], b[:, 1], b[:, 3])
    inter = iw * ih  # <= each area exactly (iw <= either width, ih <= either height)
    area_a, area_b = a[:, 2:3] * a[:, 3:4], b[:, 2] * b[:, 3]
    union = area_a + (area_b - inter)  # >= inter in floating point too: the IoU never exceeds 1
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def greedy_match(iou: np.ndarray, threshold: float = 0.5) -> BoxMatch:
    """Greedy one-to-one matching on an (n, m) IoU matrix: best remaining pair first, IoU >= threshold.

    threshold: in (0, 1]; a pair below it never matches.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    iou = np.asarray(iou, dtype=np.float64)
    if iou.ndim != 2:
        raise ValueError(f"iou must be 2-D (n, m), got shape {iou.shape}")
    r, c = np.nonzero(iou >= threshold)
    order = np.lexsort((c, r, -iou[r, c]))  # by IoU descending, then row, then column: deterministic ties
    used_r = np.zeros(iou.shape[0], dtype=bool)
    used_c = np.zeros(iou.shape[1], dtype=bool)
    rows, cols = [], []
    for k in order:
        i, j = r[k], c[k]
        if not used_r[i] and not used_c[j]:
            used_r[i] = used_c[j] = True
            rows.append(i)
            cols.append(j)
    rows_a = np.asarray(rows, dtype=np.int64)
    cols_a = np.asarray(cols, dtype=np.int64)
    return BoxMatch(rows_a, cols_a, iou[rows_a, cols_a])


class PairTally(NamedTuple):
    """Box counts for one pair of annotators over the images both labelled (or one image).

    confusion: (K + 1, K + 1) int64; rows are a's class, columns b's, index K is "no box" (an unmatched box).
    iou_sum: sum of IoU over all matches; same_iou: (K,) sum of IoU over same-class matches, per class.
    """

    n_items: int
    confusion: np.ndarray
    iou_sum: float
    same_iou: np.ndarray

    @property
    def n_a(self) -> int:
        return int(self.confusion[:-1, :].sum())

    @property
    def n_b(self) -> int:
        return int(self.confusion[:, :-1].sum())

    @property
    def matched(self) -> int:
        return int(self.confusion[:-1, :-1].sum())

    @property
    def same_class(self) -> int:
        return int(np.trace(self.confusion[:-1, :-1]))

    @property
    def presence(self) -> float:
        boxes = self.n_a + self.n_b
        return 2.0 * self.matched / boxes if boxes else float("nan")

    @property
    def class_agreement(self) -> float:
        return self.same_class / self.matched if self.matched else float("nan")

    @property
    def boundary(self) -> float:
        return self.iou_sum / self.matched if self.matched else float("nan")

    @property
    def score(self) -> float:
        """2 * sum(IoU of same-class matches) / (n_a + n_b); 1 when neither annotator drew a box."""
        boxes = self.n_a + self.n_b
        return 2.0 * float(self.same_iou.sum()) / boxes if boxes else 1.0

    def __add__(self, other: PairTally) -> PairTally:  # type: ignore[override]
        return PairTally(
            self.n_items + other.n_items,
            self.confusion + other.confusion,
            self.iou_sum + other.iou_sum,
            self.same_iou + other.same_iou,
        )


def empty_tally(n_categories: int) -> PairTally:
    """A tally of nothing, the start of a sum over images."""
    return PairTally(
        0, np.zeros((n_categories + 1, n_categories + 1), dtype=np.int64), 0.0, np.zeros(n_categories)
    )


def tally_item(
    boxes_a: np.ndarray,
    labels_a: np.ndarray,
    boxes_b: np.ndarray,
    labels_b: np.ndarray,
    n_categories: int,
    threshold: float = 0.5,
) -> PairTally:
    """Match one image's boxes of two annotators and count the outcome.

    boxes_*: (n, 4) [x, y, w, h] pixels; labels_*: (n,) int category index in 0..K-1.
    """
    labels_a = np.asarray(labels_a, dtype=np.int64)
    labels_b = np.asarray(labels_b, dtype=np.int64)
    if len(labels_a) != len(boxes_a) or len(labels_b) != len(boxes_b):
        raise ValueError("need one label per box")
    for lab in (labels_a, labels_b):
        if lab.size and (lab.min() < 0 or lab.max() >= n_categories):
            raise ValueError(f"labels must lie in 0..{n_categories - 1}")
    match = greedy_match(iou_matrix(boxes_a, boxes_b), threshold)
    k = n_categories
    conf = np.zeros((k + 1, k + 1), dtype=np.int64)
    np.add.at(conf, (labels_a[match.rows], labels_b[match.cols]), 1)
    lone_a = np.setdiff1d(np.arange(len(labels_a)), match.rows)
    lone_b = np.setdiff1d(np.arange(len(labels_b)), match.cols)
    np.add.at(conf, (labels_a[lone_a], k), 1)
    np.add.at(conf, (k, labels_b[lone_b]), 1)
    same = labels_a[match.rows] == labels_b[match.cols]
    same_iou = np.bincount(labels_a[match.rows][same], weights=match.iou[same], minlength=k).astype(
        np.float64
    )
    return PairTally(1, conf, float(match.iou.sum()), same_iou)
