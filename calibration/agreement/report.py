"""The agreement report: typed records and their one JSON serialisation (the terminal summary: summary.py).

JSON (schema ``camdrift.agreement/1``): NaN becomes ``null`` and every statistic that can be undefined carries
a ``reason`` next to it (empty when defined). Times are ISO-8601 UTC strings. ``boundary_cases`` are the
``--top`` most disputed items, for reading; ``disputed_items`` every item with disagreement > 0, in the same
order and form, for ``camdrift evidence curate`` to hold back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np

from camdrift.calibration.agreement.boundary import BoundaryReport, boundary_json
from camdrift.calibration.agreement.boxes import PairTally
from camdrift.calibration.agreement.kappa import Agreement, Fleiss
from camdrift.calibration.agreement.timeline import Window

SCHEMA = "camdrift.agreement/1"


@dataclass(frozen=True)
class PairAgreement:
    """Two annotators on the items both labelled: percent agreement, Cohen's kappa, (K, K) confusion counts
    (rows: annotator a's label, columns: b's, in the report's category order)."""

    a: str
    b: str
    percent: float
    kappa: Agreement
    confusion: np.ndarray


@dataclass(frozen=True)
class ClassAgreement:
    """One category: labels given, share of all labels, specific agreement, Fleiss' kappa_j (complete items)."""

    label: str
    n_labels: int
    share: float
    specific: float
    fleiss_kappa: float


@dataclass(frozen=True)
class DetectionPair:
    """Two annotators' boxes, matched by IoU on the images both labelled (see boxes.py for the measures)."""

    a: str
    b: str
    tally: PairTally
    class_kappa: Agreement


@dataclass(frozen=True)
class DetectionClass:
    """One category of boxes, pooled over annotator pairs: boxes drawn (counted once per pair they are in),
    specific agreement 2 * same-class matches / boxes, mean IoU of same-class matches."""

    label: str
    n_boxes: int
    specific: float
    mean_iou: float


@dataclass(frozen=True)
class BoundaryCase:
    """An item the annotators disagree on: disagreement in (0, 1], and what each annotator said."""

    item: str
    disagreement: float
    labels: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class AnnotatorFlag:
    """An annotator whose agreement with the others dropped in window ``window`` (items start..stop-1)."""

    annotator: str
    window: int
    start: int
    stop: int
    t_start: float
    t_end: float
    rate: float
    baseline: float
    others: float
    z: float


@dataclass(frozen=True)
class AgreementReport:
    """Everything ``camdrift agreement`` measured.

    n_items: items labelled by anyone; n_single: items labelled by one annotator only (excluded from every
    statistic); percent: mean per-item pairwise agreement over the n_pairable items with >= 2 labels.
    fleiss is None with fewer than three annotators; krippendorff is None for detection labels.
    windows / flags are empty unless run with ``by_time``; boundary is None unless run with rules.
    disputed: every item annotators disagree on (disagreement > 0), most disputed first: what curation must
    hold back, however many; ``boundary_cases`` are its first ``top``.
    """

    kind: Literal["classification", "detection"]
    sources: tuple[str, ...]
    annotators: tuple[str, ...]
    categories: tuple[str, ...]
    n_items: int
    n_labels: int
    n_single: int
    n_pairable: int
    percent: float
    fleiss: Fleiss | None
    krippendorff: Agreement | None
    pairs: tuple[PairAgreement, ...]
    classes: tuple[ClassAgreement, ...]
    detection_pairs: tuple[DetectionPair, ...]
    detection_classes: tuple[DetectionClass, ...]
    disputed: tuple[BoundaryCase, ...]
    windows: tuple[Window, ...]
    flags: tuple[AnnotatorFlag, ...]
    iou_threshold: float
    window: int
    top: int = 20
    boundary: BoundaryReport | None = None

    @property
    def boundary_cases(self) -> tuple[BoundaryCase, ...]:
        """The ``top`` most disputed items, for people to read."""
        return self.disputed[: self.top]


def _num(x: float | int | np.number) -> float | int | None:
    """JSON number, or None for NaN/inf (JSON has no NaN)."""
    if isinstance(x, int | np.integer):
        return int(x)
    x = float(x)
    return x if math.isfinite(x) else None


def iso_time(t: float) -> str | None:
    """POSIX seconds ``t`` as an ISO-8601 UTC string to the second; None when ``t`` is NaN (untimed)."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds") if math.isfinite(t) else None


def _agreement(a: Agreement | None, reason_if_none: str = "") -> dict:
    if a is None:
        return {"value": None, "observed": None, "expected": None, "n_items": 0, "reason": reason_if_none}
    return {
        "value": _num(a.value),
        "observed": _num(a.observed),
        "expected": _num(a.expected),
        "n_items": a.n_items,
        "reason": a.reason,
    }


def _fleiss(f: Fleiss | None) -> dict:
    if f is None:
        return {"value": None, "reason": "needs three or more annotators; see the pairwise Cohen's kappa"}
    return {
        "value": _num(f.kappa),
        "p_bar": _num(f.p_bar),
        "p_e_bar": _num(f.p_e_bar),
        "n_items": f.n_items,
        "n_raters": f.n_raters,
        "reason": f.reason,
    }


def _classification(report: AgreementReport) -> dict:
    """Fleiss' and Krippendorff's statistics, the pairs (Cohen's kappa, confusion) and the per-class figures."""
    return {
        "fleiss_kappa": _fleiss(report.fleiss),
        "krippendorff_alpha": {"level": "nominal", **_agreement(report.krippendorff)},
        "pairs": [
            {
                "a": p.a,
                "b": p.b,
                "n_items": p.kappa.n_items,
                "percent_agreement": _num(p.percent),
                "cohen_kappa": _agreement(p.kappa),
                "confusion": p.confusion.tolist(),
            }
            for p in report.pairs
        ],
        "classes": [
            {
                "label": c.label,
                "n_labels": c.n_labels,
                "share": _num(c.share),
                "specific_agreement": _num(c.specific),
                "fleiss_kappa": _num(c.fleiss_kappa),
            }
            for c in report.classes
        ],
    }


def _detection(report: AgreementReport) -> dict:
    """The box-matching figures per annotator pair and per class."""
    pairs = [
        {
            "a": d.a,
            "b": d.b,
            "n_items": d.tally.n_items,
            "n_boxes_a": d.tally.n_a,
            "n_boxes_b": d.tally.n_b,
            "matched": d.tally.matched,
            "presence_agreement": _num(d.tally.presence),
            "class_agreement": _num(d.tally.class_agreement),
            "boundary_mean_iou": _num(d.tally.boundary),
            "class_kappa": _agreement(d.class_kappa),
            "confusion": d.tally.confusion.tolist(),
            "confusion_labels": [*report.categories, "(none)"],
        }
        for d in report.detection_pairs
    ]
    classes = [
        {
            "label": c.label,
            "n_boxes": c.n_boxes,
            "specific_agreement": _num(c.specific),
            "mean_iou": _num(c.mean_iou),
        }
        for c in report.detection_classes
    ]
    return {"pairs": pairs, "classes": classes}


def _window(w: Window, annotators: tuple[str, ...]) -> dict:
    return {
        "start": w.start,
        "stop": w.stop,
        "t_start": iso_time(w.t_start),
        "t_end": iso_time(w.t_end),
        "annotators": {
            name: {
                "agreement": _num(w.rate[i]),
                "compared_items": int(w.compared[i]),
                "others_agreement": _num(w.others[i]),
                "baseline": _num(w.baseline[i]),
                "z": _num(w.z[i]),
                "flagged": bool(w.flagged[i]),
            }
            for i, name in enumerate(annotators)
        },
    }


def _flag(f: AnnotatorFlag) -> dict:
    return {
        "annotator": f.annotator,
        "window": f.window,
        "start": f.start,
        "stop": f.stop,
        "t_start": iso_time(f.t_start),
        "t_end": iso_time(f.t_end),
        "agreement": _num(f.rate),
        "baseline": _num(f.baseline),
        "others_agreement": _num(f.others),
        "z": _num(f.z),
    }


def _case(b: BoundaryCase) -> dict:
    return {"item": b.item, "disagreement": _num(b.disagreement), "labels": dict(b.labels)}


def to_json(report: AgreementReport) -> dict:
    """The report as JSON-ready plain data (the only serialisation point)."""
    out: dict = {
        "schema": SCHEMA,
        "kind": report.kind,
        "sources": list(report.sources),
        "annotators": list(report.annotators),
        "categories": list(report.categories),
        "n_items": report.n_items,
        "n_labels": report.n_labels,
        "n_items_single_annotator": report.n_single,
        "n_items_pairable": report.n_pairable,
        "settings": {"iou_threshold": report.iou_threshold, "window": report.window},
        "percent_agreement": _num(report.percent),
    }
    if report.kind == "classification":
        out.update(_classification(report))
    else:
        out["detection"] = _detection(report)
    out["boundary_cases"] = [_case(b) for b in report.boundary_cases]
    out["disputed_items"] = [_case(b) for b in report.disputed]
    if report.boundary is not None:
        out["boundary"] = boundary_json(report.boundary)
    if report.windows:
        out["by_time"] = {
            "windows": [_window(w, report.annotators) for w in report.windows],
            "flags": [_flag(f) for f in report.flags],
        }
    return out
