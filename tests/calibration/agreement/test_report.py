"""The agreement report's JSON (report.py, schema ``camdrift.agreement/1``): strict JSON (no NaN), the kappa
of every pair and class a reader looks up, and the by-time windows with ISO-8601 UTC times."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from camdrift.calibration.agreement.analysis import analyse
from camdrift.calibration.agreement.records import Annotation, LabelSet
from camdrift.calibration.agreement.report import SCHEMA, iso_time, to_json
from tests.calibration.agreement.test_timeline import K, label_stream

NAMES = ("ana", "ben", "cleo")


def labelset(codes: np.ndarray, times: np.ndarray | None = None) -> LabelSet:
    """(n_items, 3) category codes (and POSIX times) as a classification LabelSet of categories c0..c3."""
    rows = tuple(
        Annotation(f"p{i}", NAMES[a], f"c{codes[i, a]}", None if times is None else float(times[i, a]), "t")
        for i in range(len(codes))
        for a in range(codes.shape[1])
    )
    cats = tuple(dict.fromkeys(r.label for r in rows))
    return LabelSet(
        "classification", NAMES, tuple(f"p{i}" for i in range(len(codes))), cats, annotations=rows
    )


def strict(doc: dict) -> dict:
    return json.loads(json.dumps(doc, allow_nan=False))


def test_classification_json_carries_kappa_per_pair_and_per_class():
    codes, _ = label_stream(seed=4, n_items=120, accuracy=[0.9, 0.8, 0.7])
    report = analyse(labelset(codes), sources=["labels.csv"])
    doc = strict(to_json(report))
    assert doc["schema"] == SCHEMA == "camdrift.agreement/1"
    assert (doc["kind"], doc["sources"], doc["annotators"]) == ("classification", ["labels.csv"], list(NAMES))
    assert doc["settings"] == {"iou_threshold": 0.5, "window": 50} and "by_time" not in doc
    assert doc["fleiss_kappa"]["value"] == pytest.approx(report.fleiss.kappa)
    assert doc["fleiss_kappa"]["n_raters"] == 3 and doc["fleiss_kappa"]["reason"] == ""
    assert [(p["a"], p["b"]) for p in doc["pairs"]] == [("ana", "ben"), ("ana", "cleo"), ("ben", "cleo")]
    for p, mine in zip(doc["pairs"], report.pairs, strict=True):
        assert set(p["cohen_kappa"]) == {"value", "observed", "expected", "n_items", "reason"}
        assert p["cohen_kappa"]["value"] == pytest.approx(mine.kappa.value) and p["n_items"] == 120
        assert np.array(p["confusion"]).shape == (K, K) and np.sum(p["confusion"]) == 120
    assert [c["label"] for c in doc["classes"]] == list(report.categories)
    for c, mine in zip(doc["classes"], report.classes, strict=True):
        assert c["fleiss_kappa"] == pytest.approx(mine.fleiss_kappa)
        assert c["specific_agreement"] == pytest.approx(mine.specific)
    assert sum(c["n_labels"] for c in doc["classes"]) == doc["n_labels"] == 360
    assert sum(c["share"] for c in doc["classes"]) == pytest.approx(1.0)


def test_undefined_statistics_are_null_with_a_reason():
    report = analyse(labelset(np.zeros((6, 3), np.int64)))  # one class only: kappa is undefined
    doc = strict(to_json(report))
    assert doc["percent_agreement"] == 1.0
    assert doc["krippendorff_alpha"]["value"] is None and doc["krippendorff_alpha"]["reason"]
    assert doc["krippendorff_alpha"]["level"] == "nominal"
    assert doc["classes"][0]["fleiss_kappa"] is None


def test_by_time_windows_and_flags_with_iso_times():
    codes, times = label_stream(seed=7, n_items=600, accuracy=[0.92, 0.92, 0.92], drift_at=300)
    report = analyse(labelset(codes, times), by_time=True)
    doc = strict(to_json(report))["by_time"]
    assert len(doc["windows"]) == 12 and doc["windows"][0]["t_start"] == iso_time(times[0].min())
    first = doc["windows"][6]
    assert (first["start"], first["stop"]) == (300, 350)
    assert set(first["annotators"]) == set(NAMES) and first["annotators"]["cleo"]["flagged"] is True
    assert first["annotators"]["ana"]["compared_items"] == 50
    assert doc["flags"][0]["annotator"] == "cleo" and doc["flags"][0]["window"] == 6
    assert [f["window"] for f in doc["flags"]] == [f.window for f in report.flags]
    assert doc["flags"][0]["t_start"].endswith("+00:00")


def test_iso_time_is_utc_to_the_second_and_none_when_untimed():
    assert iso_time(1.7e9 + 0.6) == "2023-11-14T22:13:20+00:00"
    assert iso_time(math.nan) is None
