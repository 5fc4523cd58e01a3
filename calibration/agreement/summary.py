"""The agreement report as a short plain-text summary for a technician's terminal: headline numbers, the pair
and class tables, the boundary cases and, with ``--by-time``, the annotators whose agreement dropped."""

from __future__ import annotations

import math

from camdrift.calibration.agreement.boundary import BoundaryReport, ClassBoundary, DefectBoundary
from camdrift.calibration.agreement.report import AgreementReport, iso_time


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


def _classification(r: AgreementReport) -> list[str]:
    """Krippendorff's alpha, Fleiss' kappa, then the pair and class tables."""
    lines = []
    k = r.krippendorff
    if k is not None:
        why = f"  ({k.reason})" if k.reason else ""
        lines.append(f"  Krippendorff alpha  {_fmt(k.value)}{why}")
    if r.fleiss is not None:
        why = f" ({r.fleiss.reason})" if r.fleiss.reason else ""
        lines.append(
            f"  Fleiss kappa        {_fmt(r.fleiss.kappa)}  ({r.fleiss.n_items} items labelled by all)" + why
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
    return lines


def _detection(r: AgreementReport) -> list[str]:
    """The pair table of matched boxes, then the class table."""
    lines = ["", f"Pairs (boxes matched at IoU >= {r.iou_threshold:g}):"]
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
    return lines


def _boundary_cases(r: AgreementReport, max_cases: int) -> list[str]:
    lines = ["", "Boundary cases (most disagreement first; calibrate the team on these before labelling):"]
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
    return lines


def _defect_lines(d: DefectBoundary) -> list[str]:
    rule = d.rule
    which = ", ".join(rule.classes) if rule.classes else "every class"
    lines = [
        f"  defect size: at least {rule.min_size_px:g} px (longest side; boundary {rule.low_px:g}-"
        f"{rule.high_px:g} px) for {which}: {d.n_boundary_boxes} of {d.n_boxes} boxes near the minimum, "
        f"on {d.n_boundary_items} items"
    ]
    lines += _table(
        ["boxes", "compared", "presence", "class"],
        [
            [name, str(g.n_boxes), _fmt(g.presence), _fmt(g.class_agreement)]
            for name, g in (("boundary", d.boundary), ("rest", d.rest))
        ],
    )
    lines += _table(
        ["annotator", "boxes", "near min", "below min"],
        [[a.annotator, str(a.n_boxes), str(a.n_boundary), str(a.n_below_min)] for a in d.annotators],
    )
    for v in d.violations[:5]:
        lines.append(f"  below minimum: {v.item} {v.annotator} {v.label} {v.size_px:.1f} px")
    if d.n_violations > 5:
        lines.append(f"  ... {d.n_violations - 5} more below the minimum in the JSON report (--out)")
    return lines


def _class_lines(c: ClassBoundary) -> list[str]:
    rows = [
        [
            f"{p.a} / {p.b}",
            str(p.agreement.n_items),
            str(p.n_split),
            _fmt(p.agreement.percent),
            _fmt(p.agreement.alpha.value),
        ]
        for p in c.pairs
    ]
    rows += [
        [name, str(s.n_items), "", _fmt(s.percent), _fmt(s.alpha.value)]
        for name, s in (("all boundary items", c.boundary), ("the rest", c.rest))
    ]
    lines = _table(["pair", "items", "split", "agree", "alpha"], rows)
    lines.append(f"  {c.n_disagreements} items with disagreement, {c.n_on_pairs} of them on a declared pair")
    return lines


def _boundary(b: BoundaryReport) -> list[str]:
    lines = ["", f"Boundary rules ({b.source}):"]
    if b.defect is not None:
        lines += _defect_lines(b.defect)
    if b.classification is not None:
        lines += _class_lines(b.classification)
    unknown = (b.defect.unknown_classes if b.defect else ()) + (
        b.classification.unknown_classes if b.classification else ()
    )
    if unknown:
        lines.append(f"  classes in the rules but not in the labels: {', '.join(unknown)}")
    lines += [f"  skipped {s}" for s in b.skipped]
    return lines


def _over_time(r: AgreementReport) -> list[str]:
    lines = ["", f"Agreement over time ({len(r.windows)} windows of {r.window} items):"]
    if not r.flags:
        lines.append("  no annotator's agreement with the others dropped")
    for f in r.flags:
        when = iso_time(f.t_start)
        when = f", from {when}" if when else ""
        lines.append(
            f"  FLAG {f.annotator}: window {f.window} (items {f.start + 1}-{f.stop}{when}): agreement "
            f"{_fmt(f.rate)} vs {_fmt(f.baseline)} earlier, others {_fmt(f.others)} (z {_fmt(f.z, 1)})"
        )
    return lines


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
    lines += _classification(r) if r.kind == "classification" else _detection(r)
    lines += _boundary_cases(r, max_cases)
    if r.boundary is not None:
        lines += _boundary(r.boundary)
    if r.windows:
        lines += _over_time(r)
    return "\n".join(lines) + "\n"
