"""The agreement report: typed records, their one JSON serialisation, and the technician's terminal summary.

JSON (schema ``camdrift.agreement/1``): NaN becomes ``null`` and every statistic that can be undefined carries
a ``reason`` next to it (empty when defined). Times are ISO-8601 UTC strings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np

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
    windows / flags are empty unless run with ``by_time``.
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
    boundary_cases: tuple[BoundaryCase, ...]
    windows: tuple[Window, ...]
    flags: tuple[AnnotatorFlag, ...]
    iou_threshold: float
    window: int


def _num(x: float | int | np.number) -> float | int | None:
    """JSON number, or None for NaN/inf (JSON has no NaN)."""
    if isinstance(x, int | np.integer):
        return int(x)
    x = float(x)
    return x if math.isfinite(x) else None


def _iso(t: float) -> str | None:
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
        f = report.fleiss
        out["fleiss_kappa"] = (
            {"value": None, "reason": "needs three or more annotators; see the pairwise Cohen's kappa"}
            if f is None
            else {
                "value": _num(f.kappa),
                "p_bar": _num(f.p_bar),
                "p_e_bar": _num(f.p_e_bar),
                "n_items": f.n_items,
                "n_raters": f.n_raters,
                "reason": f.reason,
            }
        )
        out["krippendorff_alpha"] = {"level": "nominal", **_agreement(report.krippendorff)}
        out["pairs"] = [
            {
                "a": p.a,
                "b": p.b,
                "n_items": p.kappa.n_items,
                "percent_agreement": _num(p.percent),
                "cohen_kappa": _agreement(p.kappa),
                "confusion": p.confusion.tolist(),
            }
            for p in report.pairs
        ]
        out["classes"] = [
            {
                "label": c.label,
                "n_labels": c.n_labels,
                "share": _num(c.share),
                "specific_agreement": _num(c.specific),
                "fleiss_kappa": _num(c.fleiss_kappa),
            }
            for c in report.classes
        ]
    else:
        out["detection"] = {
            "pairs": [
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
            ],
            "classes": [
                {
                    "label": c.label,
                    "n_boxes": c.n_boxes,
                    "specific_agreement": _num(c.specific),
                    "mean_iou": _num(c.mean_iou),
                }
                for c in report.detection_classes
            ],
        }
    out["boundary_cases"] = [
        {"item": b.item, "disagreement": _num(b.disagreement), "labels": dict(b.labels)}
        for b in report.boundary_cases
    ]
    if report.windows:
        out["by_time"] = {
            "windows": [
                {
                    "start": w.start,
                    "stop": w.stop,
                    "t_start": _iso(w.t_start),
                    "t_end": _iso(w.t_end),
                    "annotators": {
                        name: {
                            "agreement": _num(w.rate[i]),
                            "compared_items": int(w.compared[i]),
                            "others_agreement": _num(w.others[i]),
                            "baseline": _num(w.baseline[i]),
                            "z": _num(w.z[i]),
                            "flagged": bool(w.flagged[i]),
                        }
                        for i, name in enumerate(report.annotators)
                    },
                }
                for w in report.windows
            ],
            "flags": [
                {
                    "annotator": f.annotator,
                    "window": f.window,
                    "start": f.start,
                    "stop": f.stop,
                    "t_start": _iso(f.t_start),
                    "t_end": _iso(f.t_end),
                    "agreement": _num(f.rate),
                    "baseline": _num(f.baseline),
                    "others_agreement": _num(f.others),
                    "z": _num(f.z),
                }
                for f in report.flags
            ],
        }
    return out


def _fmt(x: float, digits: int = 3) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Rows of a plain table: first column left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = []
    for r in [header, *rows]:
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        out.append("  " + "  ".join(cells))
    return out


def summary_text(report: AgreementReport, max_cases: int = 10) -> str:
    """A short plain-text summary for a terminal: headline numbers, a table, boundary cases, flags."""
    r = report
    lines = [
        f"{r.kind} labels: {len(r.annotators)} annotators ({', '.join(r.annotators)}), {r.n_items} items, "
        f"{len(r.categories)} classes",
    ]
    if r.n_single:
        lines.append(f"  {r.n_single} item(s) labelled by one annotator only: left out of every statistic")
    lines.append(f"  percent agreement   {_fmt(r.percent)}  ({r.n_pairable} items with two or more labels)")
    if r.kind == "classification":
        k = r.krippendorff
        if k is not None:
            why = f"  ({k.reason})" if k.reason else ""
            lines.append(f"  Krippendorff alpha  {_fmt(k.value)}{why}")
        if r.fleiss is not None:
            why = f" ({r.fleiss.reason})" if r.fleiss.reason else ""
            lines.append(
                f"  Fleiss kappa        {_fmt(r.fleiss.kappa)}  ({r.fleiss.n_items} items labelled by all)"
                + why
            )
        lines += ["", "Pairs:"]
        lines += _table(
            ["pair", "items", "agree", "Cohen kappa"],
            [[f"{p.a} / {p.b}", str(p.kappa.n_items), _fmt(p.percent), _fmt(p.kappa.value)] for p in r.pairs],
        )
        lines += ["", "Classes:"]
        lines += _table(
            ["class", "labels", "share", "specific agr.", "kappa_j"],
            [
                [c.label, str(c.n_labels), _fmt(c.share, 2), _fmt(c.specific), _fmt(c.fleiss_kappa)]
                for c in r.classes
            ],
        )
    else:
        lines += ["", f"Pairs (boxes matched at IoU >= {r.iou_threshold:g}):"]
        lines += _table(
            ["pair", "images", "boxes a/b", "matched", "presence", "class", "boundary IoU"],
            [
                [
                    f"{d.a} / {d.b}",
                    str(d.tally.n_items),
                    f"{d.tally.n_a}/{d.tally.n_b}",
                    str(d.tally.matched),
                    _fmt(d.tally.presence),
                    _fmt(d.tally.class_agreement),
                    _fmt(d.tally.boundary),
                ]
                for d in r.detection_pairs
            ],
        )
        lines += ["", "Classes:"]
        lines += _table(
            ["class", "boxes", "specific agr.", "mean IoU"],
            [[c.label, str(c.n_boxes), _fmt(c.specific), _fmt(c.mean_iou)] for c in r.detection_classes],
        )
    lines += ["", "Boundary cases (most disagreement first; calibrate the team on these before labelling):"]
    if not r.n_pairable:
        lines.append("  none: no item was labelled by two or more annotators")
    elif not r.boundary_cases:
        lines.append("  none: every item with two or more labels is agreed on")
    shown = r.boundary_cases[:max_cases]
    width = max((len(b.item) for b in shown), default=0)
    for b in shown:
        said = "  ".join(f"{a}={lab}" for a, lab in b.labels)
        lines.append(f"  {b.item.ljust(width)}  {_fmt(b.disagreement, 2)}  {said}")
    if len(r.boundary_cases) > max_cases:
        lines.append(f"  ... {len(r.boundary_cases) - max_cases} more in the JSON report (--out)")
    if r.windows:
        lines += ["", f"Agreement over time ({len(r.windows)} windows of {r.window} items):"]
        if not r.flags:
            lines.append("  no annotator's agreement with the others dropped")
        for f in r.flags:
            when = _iso(f.t_start)
            when = f", from {when}" if when else ""
            lines.append(
                f"  FLAG {f.annotator}: window {f.window} (items {f.start + 1}-{f.stop}{when}): agreement "
                f"{_fmt(f.rate)} vs {_fmt(f.baseline)} earlier, others {_fmt(f.others)} (z {_fmt(f.z, 1)})"
            )
    return "\n".join(lines) + "\n"
