"""The terminal summary (summary.py): the headline figures, the pair and class tables, the boundary cases a team
calibrates on (cut at ``max_cases``) and the annotators whose agreement dropped."""

from __future__ import annotations

import json

import numpy as np

from camdrift.calibration.agreement.analysis import analyse
from camdrift.calibration.agreement.labels import load_labels
from camdrift.calibration.agreement.summary import summary_text
from tests.calibration.agreement.test_report import labelset
from tests.calibration.agreement.test_timeline import label_stream


def test_classification_summary_headline_and_tables():
    codes, _ = label_stream(seed=4, n_items=120, accuracy=[0.9, 0.8, 0.7])
    report = analyse(labelset(codes))
    text = summary_text(report)
    lines = text.splitlines()
    assert (
        lines[0]
        == f"classification labels: 3 annotators (ana, ben, cleo), 120 items, {len(report.categories)} classes"
    )
    assert f"  Fleiss kappa        {report.fleiss.kappa:.3f}  (120 items labelled by all)" in lines
    assert f"  Krippendorff alpha  {report.krippendorff.value:.3f}" in lines
    pairs = [ln for ln in lines if " / " in ln]
    assert len(pairs) == 3 and pairs[0].split()[:4] == ["ana", "/", "ben", "120"]
    assert any(ln.split()[:1] == ["class"] and "kappa_j" in ln for ln in lines)
    assert text.endswith("\n")


def test_boundary_cases_are_cut_at_max_cases():
    codes, _ = label_stream(seed=4, n_items=120, accuracy=[0.6, 0.6, 0.6])
    report = analyse(labelset(codes), top=30)
    assert len(report.boundary_cases) == 30
    text = summary_text(report, max_cases=4)
    shown = report.boundary_cases[:4]
    width = max(len(b.item) for b in shown)  # the item column is as wide as its longest shown item
    for b in shown:
        said = "  ".join(f"{a}={lab}" for a, lab in b.labels)
        assert f"  {b.item.ljust(width)}  {b.disagreement:.2f}  {said}\n" in text
    assert report.boundary_cases[4].item + " " not in text.split("Boundary cases")[1]
    assert "  ... 26 more in the JSON report (--out)" in text


def test_by_time_summary_flags_the_drifting_annotator():
    codes, times = label_stream(seed=7, n_items=600, accuracy=[0.92, 0.92, 0.92], drift_at=300)
    text = summary_text(analyse(labelset(codes, times), by_time=True))
    assert "Agreement over time (12 windows of 50 items):" in text
    assert "  FLAG cleo: window 6 (items 301-350, from 2023-11-" in text
    steady, stimes = label_stream(seed=1, n_items=600, accuracy=[0.9, 0.9, 0.9])
    assert "no annotator's agreement with the others dropped" in summary_text(
        analyse(labelset(steady, stimes), by_time=True)
    )


def test_detection_summary_and_single_annotator_items(tmp_path):
    imgs = [{"id": i, "file_name": f"im{i}.png"} for i in range(2)]
    cats = [{"id": 1, "name": "scratch"}]
    box = {"image_id": 0, "category_id": 1, "bbox": [0, 0, 10, 10]}
    for name, anns, images in (("a", [box], imgs), ("b", [box], imgs[:1])):
        doc = {"images": images, "annotations": anns, "categories": cats}
        (tmp_path / f"{name}.json").write_text(json.dumps(doc))
    report = analyse(load_labels([tmp_path]), iou_threshold=0.5)
    text = summary_text(report)
    assert text.startswith("detection labels: 2 annotators (a, b), 2 items, 1 classes")
    assert "  1 item(s) labelled by one annotator only: left out of every statistic" in text
    assert "Pairs (boxes matched at IoU >= 0.5):" in text
    row = next(ln for ln in text.splitlines() if ln.startswith("  a / b"))
    assert row.split()[3:6] == ["1", "1/1", "1"]  # images, boxes a/b, matched
    assert np.isfinite(report.detection_classes[0].mean_iou)
