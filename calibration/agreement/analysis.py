"""From a :class:`LabelSet` to an :class:`AgreementReport`: runs every statistic the labels allow."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from itertools import combinations
from typing import NamedTuple

import numpy as np

from camdrift.calibration.agreement.boundary import boundary_agreement
from camdrift.calibration.agreement.boxes import PairTally, empty_tally, tally_item
from camdrift.calibration.agreement.kappa import (
    Agreement,
    Fleiss,
    cohen_from_table,
    confusion_table,
    fleiss_kappa,
    item_agreement,
    krippendorff_alpha,
    label_counts,
    specific_agreement,
)
from camdrift.calibration.agreement.labels import LabelSet
from camdrift.calibration.agreement.report import (
    AgreementReport,
    AnnotatorFlag,
    BoundaryCase,
    ClassAgreement,
    DetectionClass,
    DetectionPair,
    PairAgreement,
)
from camdrift.calibration.agreement.rules import BoundaryRules
from camdrift.calibration.agreement.timeline import agreement_windows


class _Parts(NamedTuple):
    """What the classification or the detection half contributes to the report."""

    n_labels: int
    n_single: int
    n_pairable: int
    percent: float
    disputed: tuple[BoundaryCase, ...]
    fleiss: Fleiss | None = None
    krippendorff: Agreement | None = None
    pairs: tuple[PairAgreement, ...] = ()
    classes: tuple[ClassAgreement, ...] = ()
    detection_pairs: tuple[DetectionPair, ...] = ()
    detection_classes: tuple[DetectionClass, ...] = ()


def _ranked_cases(disagreement: np.ndarray, n_labels: np.ndarray) -> list[int]:
    """Indices of items with disagreement > 0: most disagreement first, then most labels, then input order."""
    idx = np.nonzero(disagreement > 0)[0]
    order = np.lexsort((idx, -n_labels[idx], -disagreement[idx]))
    return [int(i) for i in idx[order]]


def _classification(labels: LabelSet) -> _Parts:
    codes = labels.codes()
    k = len(labels.categories)
    counts = label_counts(codes, k)
    n_per_item = counts.sum(axis=1)
    p_i = item_agreement(counts)
    pairable = ~np.isnan(p_i)
    pairs = []
    for i, j in combinations(range(len(labels.annotators)), 2):
        table = confusion_table(codes[:, i], codes[:, j], k)
        kappa = cohen_from_table(table)
        pairs.append(PairAgreement(labels.annotators[i], labels.annotators[j], kappa.observed, kappa, table))
    complete = (codes >= 0).all(axis=1)
    fleiss = fleiss_kappa(counts[complete])
    specific = specific_agreement(codes, k)
    totals = counts.sum(axis=0)
    classes = tuple(
        ClassAgreement(
            name, int(totals[c]), totals[c] / max(int(totals.sum()), 1), specific[c], fleiss.kappa_j[c]
        )
        for c, name in enumerate(labels.categories)
    )
    cases = []
    for i in _ranked_cases(np.where(pairable, 1.0 - p_i, 0.0), n_per_item):
        said = tuple(
            (a, labels.categories[codes[i, j]]) for j, a in enumerate(labels.annotators) if codes[i, j] >= 0
        )
        cases.append(BoundaryCase(labels.items[i], float(1.0 - p_i[i]), said))
    return _Parts(
        n_labels=int(n_per_item.sum()),
        n_single=int((n_per_item == 1).sum()),
        n_pairable=int(pairable.sum()),
        percent=float(p_i[pairable].mean()) if pairable.any() else float("nan"),
        disputed=tuple(cases),
        fleiss=fleiss if len(labels.annotators) >= 3 else None,
        krippendorff=krippendorff_alpha(codes, k),
        pairs=tuple(pairs),
        classes=classes,
    )


def _detection(labels: LabelSet, iou_threshold: float) -> _Parts:
    k = len(labels.categories)
    cat = {c: i for i, c in enumerate(labels.categories)}
    drawn: dict[tuple[str, str], list] = defaultdict(list)
    for b in labels.boxes:
        drawn[(b.item, b.annotator)].append(b)

    def boxes_of(item: str, annotator: str) -> tuple[np.ndarray, np.ndarray]:
        bs = drawn.get((item, annotator), [])
        xywh = np.array([[b.x, b.y, b.w, b.h] for b in bs], dtype=np.float64).reshape(-1, 4)
        return xywh, np.array([cat[b.label] for b in bs], dtype=np.int64)

    ann = labels.annotators
    totals = {pair: empty_tally(k) for pair in combinations(range(len(ann)), 2)}
    disagreement = np.zeros(len(labels.items))
    n_labels = np.zeros(len(labels.items), dtype=np.int64)
    scores: list[float] = []
    for t, item in enumerate(labels.items):
        who = [a for a in range(len(ann)) if (item, ann[a]) in labels.labelled]
        n_labels[t] = len(who)
        scores.clear()
        for i, j in combinations(who, 2):
            tally: PairTally = tally_item(*boxes_of(item, ann[i]), *boxes_of(item, ann[j]), k, iou_threshold)
            totals[(i, j)] = totals[(i, j)] + tally
            scores.append(tally.score)
        if scores:
            disagreement[t] = 1.0 - float(np.mean(scores))
    pairs = tuple(
        DetectionPair(ann[i], ann[j], tally, cohen_from_table(tally.confusion[:-1, :-1]))
        for (i, j), tally in totals.items()
    )
    pooled = sum((d.tally for d in pairs), empty_tally(k))
    conf = pooled.confusion
    classes = []
    for c, name in enumerate(labels.categories):
        n_boxes = int(conf[c, :].sum() + conf[:, c].sum())
        same = int(conf[c, c])
        classes.append(
            DetectionClass(
                name,
                n_boxes,
                2.0 * same / n_boxes if n_boxes else float("nan"),
                pooled.same_iou[c] / same if same else float("nan"),
            )
        )
    cases = []
    for t in _ranked_cases(disagreement, n_labels):
        item = labels.items[t]
        said = []
        for a in ann:
            if (item, a) in labels.labelled:
                bs = drawn.get((item, a), [])
                said.append(
                    (a, f"{len(bs)} box{'es' if len(bs) != 1 else ''}" + "".join(f" {b.label}" for b in bs))
                )
        cases.append(BoundaryCase(item, float(disagreement[t]), tuple(said)))
    n_drawn = pooled.n_a + pooled.n_b
    return _Parts(
        n_labels=len(labels.boxes),
        n_single=int((n_labels == 1).sum()),
        n_pairable=int((n_labels >= 2).sum()),
        # Detection "percent agreement": share of drawn boxes that the other annotator also drew, same class.
        percent=2.0 * pooled.same_class / n_drawn if n_drawn else float("nan"),
        disputed=tuple(cases),
        detection_pairs=pairs,
        detection_classes=tuple(classes),
    )


def analyse(
    labels: LabelSet,
    *,
    sources: Sequence[str] = (),
    iou_threshold: float = 0.5,
    top: int = 20,
    by_time: bool = False,
    window: int = 50,
    z_threshold: float = 3.0,
    min_drop: float = 0.15,
    min_items: int = 10,
    rules: BoundaryRules | None = None,
) -> AgreementReport:
    """Every agreement statistic for ``labels``.

    iou_threshold: detection boxes match at IoU >= this (0, 1]. top: boundary cases shown (every disputed item
    is kept in ``report.disputed``).
    by_time: also compute windows of ``window`` items with drift flags (classification labels only; see
    timeline.py for z_threshold, min_drop, min_items). rules: the team's boundary rules, evaluated into
    ``report.boundary`` (see boundary.py). Raises ValueError for settings out of range or
    ``by_time`` on data that cannot be ordered.
    """
    if top < 0:
        raise ValueError(f"top must be >= 0, got {top}")
    if not 0.0 < iou_threshold <= 1.0:
        raise ValueError(f"IoU threshold must be in (0, 1], got {iou_threshold}")
    if labels.kind == "classification":
        parts = _classification(labels)
    else:
        parts = _detection(labels, iou_threshold)
    windows, flags = (), []
    if by_time:
        if labels.kind != "classification":
            raise ValueError("--by-time needs classification labels with a time per label (COCO has none)")
        times = labels.times()
        windows = tuple(
            agreement_windows(
                labels.codes(), len(labels.categories), times, window, z_threshold, min_drop, min_items
            )
        )
        for w_ix, w in enumerate(windows):
            for a in np.nonzero(w.flagged)[0]:
                flags.append(
                    AnnotatorFlag(
                        labels.annotators[a],
                        w_ix,
                        w.start,
                        w.stop,
                        w.t_start,
                        w.t_end,
                        float(w.rate[a]),
                        float(w.baseline[a]),
                        float(w.others[a]),
                        float(w.z[a]),
                    )
                )
    return AgreementReport(
        kind=labels.kind,
        sources=tuple(sources),
        annotators=labels.annotators,
        categories=labels.categories,
        n_items=len(labels.items),
        n_labels=parts.n_labels,
        n_single=parts.n_single,
        n_pairable=parts.n_pairable,
        percent=parts.percent,
        fleiss=parts.fleiss,
        krippendorff=parts.krippendorff,
        pairs=parts.pairs,
        classes=parts.classes,
        detection_pairs=parts.detection_pairs,
        detection_classes=parts.detection_classes,
        disputed=parts.disputed,
        top=top,
        windows=windows,
        flags=tuple(flags),
        iou_threshold=iou_threshold,
        window=window,
        boundary=None if rules is None else boundary_agreement(labels, rules, iou_threshold, top),
    )
