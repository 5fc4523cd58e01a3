"""Agreement on the boundary cases the team declared (rules.py), against the agreement on the rest.

Detection, ``[defect]``: a box's size is its longest side in pixels. A box of a rule class is a *boundary box*
when that size lies within ``min_size_px * (1 +- margin)``, and a *violation* when it is below ``min_size_px``
(drawn although the criteria say not to label it; counted per annotator). Boxes are matched per annotator pair
as in boxes.py; a matched pair is a boundary case when either of its boxes is a boundary box, an unmatched box
when it is one. Per group, presence agreement is 2 M / (2 M + U) (M matched pairs, U unmatched boxes; the same
Dice as the headline figure, which the two groups split) and class agreement the share of same-class matches.

Classification, ``boundary_pairs``: an item *involves* a pair when it has two or more labels and one of them is
a class of the pair; the boundary items are those involving any pair, the rest are the other items with two or
more labels. Per pair: the items involving it, how many the annotators split between its two classes, and the
agreement with labels collapsed to (first class, second class, other): how well the team draws that line. A
disagreement is *on a declared pair* when all of the item's labels are the pair's two classes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from typing import NamedTuple

import numpy as np

from camdrift.calibration.agreement.boxes import greedy_match, iou_matrix
from camdrift.calibration.agreement.kappa import Agreement, item_agreement, krippendorff_alpha, label_counts
from camdrift.calibration.agreement.records import Box, LabelSet
from camdrift.calibration.agreement.rules import BoundaryRules, DefectRule


class BoxGroup(NamedTuple):
    """Boxes of one group pooled over annotator pairs: n_boxes = 2 matched + unmatched (a box counts once per
    pair it was compared in), matched pairs, same-class matched pairs."""

    n_boxes: int
    matched: int
    same_class: int

    @property
    def presence(self) -> float:
        return 2.0 * self.matched / self.n_boxes if self.n_boxes else float("nan")

    @property
    def class_agreement(self) -> float:
        return self.same_class / self.matched if self.matched else float("nan")


@dataclass(frozen=True)
class AnnotatorSizes:
    """One annotator's boxes of the rule's classes: all, near the minimum (boundary), below it (violations)."""

    annotator: str
    n_boxes: int
    n_boundary: int
    n_below_min: int


@dataclass(frozen=True)
class SizeViolation:
    """A box below the minimum defect size: ``size_px`` is its longest side in pixels."""

    item: str
    annotator: str
    label: str
    size_px: float


@dataclass(frozen=True)
class DefectBoundary:
    """The size rule's figures: boxes of its classes, boundary boxes and the items holding one, agreement on
    boundary cases vs the rest, per-annotator counts and the first ``top`` violations (file order)."""

    rule: DefectRule
    n_boxes: int
    n_boundary_boxes: int
    n_boundary_items: int
    boundary: BoxGroup
    rest: BoxGroup
    annotators: tuple[AnnotatorSizes, ...]
    n_violations: int
    violations: tuple[SizeViolation, ...]
    unknown_classes: tuple[str, ...]


class Subset(NamedTuple):
    """Agreement on a subset of items: items with two or more labels, mean per-item agreement, alpha."""

    n_items: int
    percent: float
    alpha: Agreement


@dataclass(frozen=True)
class PairBoundary:
    """One declared pair: items involving it, items split between its classes, agreement on (a, b, other)."""

    a: str
    b: str
    n_split: int
    agreement: Subset


@dataclass(frozen=True)
class ClassBoundary:
    """The pairs, agreement on the boundary items vs the rest, and how much disagreement the pairs explain."""

    pairs: tuple[PairBoundary, ...]
    boundary: Subset
    rest: Subset
    n_disagreements: int
    n_on_pairs: int
    unknown_classes: tuple[str, ...]


@dataclass(frozen=True)
class BoundaryReport:
    """What ``--rules`` found; a rule the labels cannot use (boxes rule, class labels) is named in skipped."""

    source: str
    defect: DefectBoundary | None
    classification: ClassBoundary | None
    skipped: tuple[str, ...]


def size_px(box: Box) -> float:
    """A box's size for the rules: its longest side in pixels."""
    return max(box.w, box.h)


def _defect(labels: LabelSet, rule: DefectRule, iou_threshold: float, top: int) -> DefectBoundary:
    def near(b: Box) -> bool:
        return rule.applies_to(b.label) and rule.low_px <= size_px(b) <= rule.high_px

    drawn: dict[tuple[str, str], list[Box]] = defaultdict(list)
    for b in labels.boxes:
        drawn[(b.item, b.annotator)].append(b)
    tally = {True: [0, 0, 0], False: [0, 0, 0]}  # boundary? -> [boxes, matched, same class]
    for item in labels.items:
        who = [a for a in labels.annotators if (item, a) in labels.labelled]
        for a, b in combinations(who, 2):
            ba, bb = drawn.get((item, a), []), drawn.get((item, b), [])
            xa, xb = (np.array([[x.x, x.y, x.w, x.h] for x in bs]).reshape(-1, 4) for bs in (ba, bb))
            m = greedy_match(iou_matrix(xa, xb), iou_threshold)
            for i, j in zip(m.rows.tolist(), m.cols.tolist(), strict=True):
                t = tally[near(ba[i]) or near(bb[j])]
                t[0], t[1], t[2] = t[0] + 2, t[1] + 1, t[2] + (ba[i].label == bb[j].label)
            for boxes, used in ((ba, set(m.rows.tolist())), (bb, set(m.cols.tolist()))):
                for k, box in enumerate(boxes):
                    if k not in used:
                        tally[near(box)][0] += 1
    ruled = [b for b in labels.boxes if rule.applies_to(b.label)]
    below = [b for b in ruled if size_px(b) < rule.min_size_px]
    per = {
        a: AnnotatorSizes(
            a,
            sum(b.annotator == a for b in ruled),
            sum(b.annotator == a and near(b) for b in ruled),
            sum(b.annotator == a for b in below),
        )
        for a in labels.annotators
    }
    return DefectBoundary(
        rule=rule,
        n_boxes=len(ruled),
        n_boundary_boxes=sum(near(b) for b in ruled),
        n_boundary_items=len({b.item for b in ruled if near(b)}),
        boundary=BoxGroup(*tally[True]),
        rest=BoxGroup(*tally[False]),
        annotators=tuple(per.values()),
        n_violations=len(below),
        violations=tuple(SizeViolation(b.item, b.annotator, b.label, size_px(b)) for b in below[:top]),
        unknown_classes=tuple(c for c in rule.classes if c not in labels.categories),
    )


def _subset(codes: np.ndarray, k: int) -> Subset:
    p = item_agreement(label_counts(codes, k))
    ok = ~np.isnan(p)
    return Subset(
        int(ok.sum()), float(p[ok].mean()) if ok.any() else float("nan"), krippendorff_alpha(codes, k)
    )


def _classes(labels: LabelSet, pairs: tuple[tuple[str, str], ...]) -> ClassBoundary:
    codes = labels.codes()
    k = len(labels.categories)
    cat = {c: i for i, c in enumerate(labels.categories)}
    counts = label_counts(codes, k)
    pairable = counts.sum(axis=1) >= 2
    none = np.zeros(len(labels.items), dtype=bool)
    involved, within = none.copy(), none.copy()
    out = []
    for a, b in pairs:
        has_a, has_b = (counts[:, cat[c]] > 0 if c in cat else none for c in (a, b))
        rows = pairable & (has_a | has_b)
        involved |= rows
        others = [i for c, i in cat.items() if c not in (a, b)]
        within |= rows & (counts[:, others].sum(axis=1) == 0)
        collapsed = np.where(codes >= 0, 2, -1)
        collapsed[codes == cat.get(a, -2)] = 0
        collapsed[codes == cat.get(b, -2)] = 1
        out.append(PairBoundary(a, b, int((rows & has_a & has_b).sum()), _subset(collapsed[rows], 3)))
    disagree = pairable & (item_agreement(counts) < 1.0)
    return ClassBoundary(
        pairs=tuple(out),
        boundary=_subset(codes[involved], k),
        rest=_subset(codes[pairable & ~involved], k),
        n_disagreements=int(disagree.sum()),
        n_on_pairs=int((disagree & within).sum()),
        unknown_classes=tuple(dict.fromkeys(c for p in pairs for c in p if c not in cat)),
    )


def boundary_agreement(
    labels: LabelSet, rules: BoundaryRules, iou_threshold: float = 0.5, top: int = 20
) -> BoundaryReport:
    """The rules that fit ``labels`` (size rule: boxes; pairs: classification), evaluated; see the module doc.

    iou_threshold: boxes match at IoU >= this; top: violations listed (all are counted).
    """
    skipped = []
    defect = classes = None
    if rules.defect is not None:
        if labels.kind == "detection":
            defect = _defect(labels, rules.defect, iou_threshold, top)
        else:
            skipped.append("defect: the size rule needs detection labels (boxes)")
    if rules.pairs:
        if labels.kind == "classification":
            classes = _classes(labels, rules.pairs)
        else:
            skipped.append("classification.boundary_pairs: needs classification labels")
    return BoundaryReport(rules.source, defect, classes, tuple(skipped))


def _num(x: float | int) -> float | int | None:
    """A JSON number; None for NaN (JSON has none)."""
    return x if isinstance(x, int) else (float(x) if np.isfinite(x) else None)


def _subset_json(s: Subset) -> dict:
    a = s.alpha
    return {
        "n_items": s.n_items,
        "percent_agreement": _num(s.percent),
        "krippendorff_alpha": {"value": _num(a.value), "reason": a.reason},
    }


def _group_json(g: BoxGroup) -> dict:
    return {
        "n_boxes": g.n_boxes,
        "matched": g.matched,
        "presence_agreement": _num(g.presence),
        "class_agreement": _num(g.class_agreement),
    }


def boundary_json(b: BoundaryReport) -> dict:
    """The ``boundary`` section of the JSON report (sizes in pixels; NaN as null)."""
    out: dict = {"rules": b.source, "skipped": list(b.skipped), "defect": None, "classification": None}
    if (d := b.defect) is not None:
        out["defect"] = {
            "min_size_px": d.rule.min_size_px,
            "margin": d.rule.margin,
            "boundary_px": [d.rule.low_px, d.rule.high_px],
            "classes": list(d.rule.classes) or None,
            "unknown_classes": list(d.unknown_classes),
            "n_boxes": d.n_boxes,
            "n_boundary_boxes": d.n_boundary_boxes,
            "n_boundary_items": d.n_boundary_items,
            "boundary": _group_json(d.boundary),
            "rest": _group_json(d.rest),
            "annotators": [
                {
                    "annotator": a.annotator,
                    "n_boxes": a.n_boxes,
                    "n_boundary": a.n_boundary,
                    "n_below_min": a.n_below_min,
                }
                for a in d.annotators
            ],
            "n_violations": d.n_violations,
            "violations": [
                {"item": v.item, "annotator": v.annotator, "label": v.label, "size_px": v.size_px}
                for v in d.violations
            ],
        }
    if (c := b.classification) is not None:
        out["classification"] = {
            "unknown_classes": list(c.unknown_classes),
            "pairs": [
                {"classes": [p.a, p.b], "n_split": p.n_split, **_subset_json(p.agreement)} for p in c.pairs
            ],
            "boundary": _subset_json(c.boundary),
            "rest": _subset_json(c.rest),
            "n_disagreements": c.n_disagreements,
            "n_disagreements_on_pairs": c.n_on_pairs,
        }
    return out
