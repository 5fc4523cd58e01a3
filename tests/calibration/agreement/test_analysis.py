"""The full report from real label files: statistics against the oracles, boundary cases, JSON shape."""

from __future__ import annotations

import json
import math

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from camdrift.calibration.agreement import analyse, load_labels, summary_text, to_json

CLASSES = ["ok", "scratch", "dent", "stain"]


@pytest.fixture
def team_csv(tmp_path):
    """A CSV of 4 annotators on 80 items, some items skipped by some annotators; returns (path, codes)."""
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 4, size=80)
    codes = np.where(rng.random((80, 4)) < 0.8, truth[:, None], rng.integers(0, 4, size=(80, 4)))
    codes[rng.random((80, 4)) < 0.15] = -1
    lines = ["item,annotator,label"]
    for i in range(80):
        for a in range(4):
            if codes[i, a] >= 0:
                lines.append(f"part-{i:03d},tech{a},{CLASSES[codes[i, a]]}")
    path = tmp_path / "labels.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, codes


def test_report_matches_the_oracles(team_csv):
    path, codes = team_csv
    labels = load_labels([path])
    report = analyse(labels, sources=[str(path)])
    order = [CLASSES.index(c) for c in labels.categories]  # report categories are in order of first use
    assert labels.annotators == ("tech0", "tech1", "tech2", "tech3")
    for p in report.pairs:
        i, j = int(p.a[-1]), int(p.b[-1])
        both = (codes[:, i] >= 0) & (codes[:, j] >= 0)
        assert p.kappa.value == pytest.approx(cohen_kappa_score(codes[both, i], codes[both, j]), rel=1e-9)
        assert p.percent == pytest.approx(np.mean(codes[both, i] == codes[both, j]))
        assert p.confusion.sum() == both.sum()
        assert p.confusion[0, 0] == np.sum((codes[both, i] == order[0]) & (codes[both, j] == order[0]))
    complete = (codes >= 0).all(axis=1)
    assert report.fleiss.n_items == complete.sum()
    theirs = sm_fleiss_kappa(aggregate_raters(codes[complete])[0], method="fleiss")
    assert report.fleiss.kappa == pytest.approx(theirs, rel=1e-9)
    data = np.where(codes >= 0, codes, np.nan).T
    alpha = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert report.krippendorff.value == pytest.approx(alpha, rel=1e-9)
    n_labels = (codes >= 0).sum(axis=1)
    assert report.n_single == np.sum(n_labels == 1) and report.n_items == np.sum(n_labels > 0)
    assert sum(c.n_labels for c in report.classes) == (codes >= 0).sum()


def test_boundary_cases_are_the_most_disputed_items(team_csv):
    path, codes = team_csv
    report = analyse(load_labels([path]), top=5)
    assert len(report.boundary_cases) == 5
    d = [b.disagreement for b in report.boundary_cases]
    assert d == sorted(d, reverse=True) and d[0] > 0
    worst = report.boundary_cases[0]
    i = int(worst.item.split("-")[1])
    given = [c for c in codes[i] if c >= 0]
    pairs = [(x, y) for x in range(len(given)) for y in range(len(given)) if x != y]
    assert worst.disagreement == pytest.approx(1 - np.mean([given[x] == given[y] for x, y in pairs]))
    assert {a for a, _ in worst.labels} == {f"tech{a}" for a in range(4) if codes[i, a] >= 0}


def test_every_disputed_item_is_kept_beyond_the_boundary_cases_shown(team_csv):
    path, codes = team_csv
    report = analyse(load_labels([path]), top=5)
    labelled = codes >= 0
    disputed_rows = [
        i for i in range(len(codes)) if labelled[i].sum() >= 2 and len(set(codes[i][labelled[i]])) > 1
    ]
    assert len(disputed_rows) > 5 and len(report.disputed) == len(disputed_rows)
    assert report.disputed[:5] == report.boundary_cases
    doc = to_json(report)
    assert [c["item"] for c in doc["disputed_items"]] == [b.item for b in report.disputed]
    assert len(doc["boundary_cases"]) == 5


def test_json_has_null_and_a_reason_for_undefined_kappa(tmp_path):
    p = tmp_path / "one_class.csv"
    p.write_text("item,annotator,label\n" + "".join(f"i{i},{a},ok\n" for i in range(5) for a in "xyz"))
    report = analyse(load_labels([p]))
    doc = json.loads(json.dumps(to_json(report), allow_nan=False))
    assert doc["percent_agreement"] == 1.0
    assert doc["fleiss_kappa"]["value"] is None and "one category" in doc["fleiss_kappa"]["reason"]
    assert doc["krippendorff_alpha"]["value"] is None and doc["krippendorff_alpha"]["reason"]
    assert all(p["cohen_kappa"]["value"] is None and p["cohen_kappa"]["reason"] for p in doc["pairs"])
    assert doc["boundary_cases"] == []
    text = summary_text(report)
    assert "n/a" in text and "every item with two or more labels is agreed on" in text


def test_two_annotators_have_no_fleiss(tmp_path):
    p = tmp_path / "two.csv"
    p.write_text("item,annotator,label\na,x,1\na,y,2\nb,x,1\nb,y,1\nc,x,2\nc,y,2\n")
    report = analyse(load_labels([p]))
    assert report.fleiss is None and len(report.pairs) == 1
    doc = to_json(report)
    assert doc["fleiss_kappa"]["value"] is None and "three or more" in doc["fleiss_kappa"]["reason"]


def test_detection_report(tmp_path):
    imgs = [{"id": i, "file_name": f"im{i}.png"} for i in range(3)]
    cats = [{"id": 1, "name": "scratch"}, {"id": 2, "name": "dent"}]
    a_anns = [
        {"image_id": 0, "category_id": 1, "bbox": [0, 0, 10, 10]},
        {"image_id": 1, "category_id": 2, "bbox": [50, 50, 10, 10]},
    ]
    b_anns = [
        {"image_id": 0, "category_id": 1, "bbox": [0, 0, 10, 20]},  # IoU 0.5, same class
        {"image_id": 1, "category_id": 1, "bbox": [50, 50, 10, 10]},  # IoU 1, other class
        {"image_id": 2, "category_id": 2, "bbox": [5, 5, 5, 5]},  # only b sees it
    ]
    for name, anns in (("a", a_anns), ("b", b_anns)):
        (tmp_path / f"{name}.json").write_text(
            json.dumps({"images": imgs, "annotations": anns, "categories": cats})
        )
    report = analyse(load_labels([tmp_path]), iou_threshold=0.5)
    (d,) = report.detection_pairs
    assert (d.tally.n_items, d.tally.n_a, d.tally.n_b, d.tally.matched) == (3, 2, 3, 2)
    assert d.tally.presence == pytest.approx(4 / 5)
    assert d.tally.class_agreement == pytest.approx(0.5)
    assert d.tally.boundary == pytest.approx(0.75)
    scratch, dent = report.detection_classes
    assert scratch.n_boxes == 3 and scratch.specific == pytest.approx(2 / 3) and scratch.mean_iou == 0.5
    assert dent.n_boxes == 2 and dent.specific == 0.0 and math.isnan(dent.mean_iou)
    assert [b.item for b in report.boundary_cases] == ["im1.png", "im2.png", "im0.png"]
    doc = json.loads(json.dumps(to_json(report), allow_nan=False))
    assert doc["detection"]["pairs"][0]["confusion_labels"] == ["scratch", "dent", "(none)"]
    assert doc["boundary_cases"][1]["labels"] == {"a": "0 boxes", "b": "1 box dent"}
    with pytest.raises(ValueError, match="--by-time needs classification"):
        analyse(load_labels([tmp_path]), by_time=True)
