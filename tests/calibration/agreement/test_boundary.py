"""Boundary rules applied to Label Studio exports through ``camdrift agreement --rules``: boxes near and below the
minimum defect size (counted by hand below), class pairs (checked against the ``krippendorff`` package), and no
``boundary`` section without ``--rules``."""

from __future__ import annotations

import json

import krippendorff
import numpy as np
import pytest

from camdrift.agent.cli import main
from camdrift.calibration.agreement.boundary import BoxGroup, boundary_agreement, size_px
from camdrift.calibration.agreement.labels import load_labels
from camdrift.calibration.agreement.records import Box, LabelSet
from camdrift.calibration.agreement.rules import BoundaryRules, DefectRule
from tests.calibration.agreement.test_label_studio import (
    ANA,
    BEN,
    CLASSES,
    CLEO,
    NAMES,
    annotation,
    classification_export,
    rect,
    task,
    write,
)

SIZE = (1280, 960)
NONE: list = []
# item -> boxes [x, y, w, h, class] (px) of ana, ben, cleo
BOXES = {
    "A.jpg": (
        [[100, 100, 100, 80, "scratch"]],
        [[102, 100, 100, 80, "scratch"]],
        [[100, 101, 100, 80, "scratch"]],
    ),
    "B.jpg": (
        [[400, 400, 24, 20, "scratch"]],
        [[400, 400, 24, 20, "scratch"]],
        NONE,
    ),  # at the minimum: boundary
    "C.jpg": (
        [[600, 300, 23.9, 15, "scratch"]],
        NONE,
        NONE,
    ),  # just under it: a violation, and a boundary box
    "D.jpg": (NONE, [[50, 600, 10, 8, "scratch"]], NONE),  # far under it: a violation, not a boundary box
    "E.jpg": (NONE, NONE, [[800, 800, 12, 12, "stain"]]),  # a class the rule is not for
}
RULES = '[defect]\nmin_size_px = 24\nmargin = 0.25\nclasses = ["scratch", "pit"]\n'


def detection_export() -> list[dict]:
    return [
        task(
            n,
            item,
            [
                annotation(10 * n + a, user, [rect(*b[:4], b[4], SIZE) for b in boxes])
                for a, (user, boxes) in enumerate(zip((ANA, BEN, CLEO), per, strict=True))
            ],
        )
        for n, (item, per) in enumerate(BOXES.items())
    ]


def agreement(tmp_path, export, rules: str) -> dict:
    src = write(tmp_path / "export.json", export)
    (tmp_path / "rules.toml").write_text(rules)
    out = tmp_path / "r.json"
    assert main(["agreement", str(src), "--rules", str(tmp_path / "rules.toml"), "--out", str(out)]) == 0
    return json.loads(out.read_text())


def test_size_rule_counts_boundary_boxes_violations_and_splits_agreement(tmp_path, capsys):
    doc = agreement(tmp_path, detection_export(), RULES)
    d = doc["boundary"]["defect"]
    assert d["boundary_px"] == [18.0, 30.0] and d["unknown_classes"] == ["pit"]
    assert (d["n_boxes"], d["n_boundary_boxes"], d["n_boundary_items"]) == (7, 3, 2)
    # Pairs (ana, ben), (ana, cleo), (ben, cleo) on every image. Boundary: B's pair matched (2 boxes) and B's
    # two lone boxes against cleo, C's box against ben and cleo: 6 boxes, 1 match. Rest: A's 3 matched pairs,
    # D's box against ana and cleo, E's box against ana and ben: 10 boxes, 3 matches.
    assert d["boundary"] == {
        "n_boxes": 6,
        "matched": 1,
        "presence_agreement": pytest.approx(1 / 3),
        "class_agreement": 1.0,
    }
    assert d["rest"] == {"n_boxes": 10, "matched": 3, "presence_agreement": 0.6, "class_agreement": 1.0}
    assert doc["percent_agreement"] == pytest.approx(2 * 4 / 16)  # the two groups split the headline figure
    per = {a["annotator"]: (a["n_boxes"], a["n_boundary"], a["n_below_min"]) for a in d["annotators"]}
    assert per == {NAMES[0]: (3, 2, 1), NAMES[1]: (3, 1, 1), NAMES[2]: (1, 0, 0)}
    assert d["n_violations"] == 2
    assert [(v["item"], v["annotator"]) for v in d["violations"]] == [
        ("C.jpg", NAMES[0]),
        ("D.jpg", NAMES[1]),
    ]
    assert d["violations"][0]["size_px"] == pytest.approx(23.9)
    text = capsys.readouterr().out
    assert (
        "3 of 7 boxes near the minimum, on 2 items" in text
        and "below minimum: C.jpg user2 scratch 23.9 px" in text
    )
    assert "classes in the rules but not in the labels: pit" in text


def test_the_minimum_itself_is_no_violation():
    rule = DefectRule(24.0, 0.0)
    boxes = [Box("i", "a", "s", 0, 0, 24.0, 3.0, ""), Box("i", "b", "s", 0, 0, 23.999, 30.0, "")]
    assert [size_px(b) for b in boxes] == [24.0, 30.0]  # the longest side
    labels = LabelSet(
        "detection",
        ("a", "b"),
        ("i",),
        ("s",),
        boxes=tuple(boxes),
        labelled=frozenset({("i", "a"), ("i", "b")}),
    )
    d = boundary_agreement(labels, BoundaryRules("r", rule)).defect
    assert d.n_violations == 0 and d.n_boundary_boxes == 1  # margin 0: only exactly 24 px is a boundary box
    assert BoxGroup(0, 0, 0).presence != BoxGroup(0, 0, 0).presence  # NaN without boxes


def _alpha(rows: list[tuple], cats: list[str]) -> float:
    table = np.array([[np.nan if v is None else cats.index(v) for v in r] for r in rows]).T
    return krippendorff.alpha(reliability_data=table, level_of_measurement="nominal")


def test_class_pairs_split_agreement_on_boundary_items_from_the_rest(tmp_path, capsys):
    rules = '[classification]\nboundary_pairs = [["ok", "minor_scratch"], ["crack", "pit"]]\n[defect]\nmin_size_px = 9\n'
    doc = agreement(tmp_path, classification_export(), rules)
    c = doc["boundary"]["classification"]
    pair = {"ok", "minor_scratch"}
    rows = [r for r in CLASSES if sum(v is not None for v in r) >= 2]
    involved = [r for r in rows if pair & set(r)]
    rest = [r for r in rows if not pair & set(r)]
    cats = ["ok", "minor_scratch", "scratch", "dent"]
    assert c["boundary"]["n_items"] == len(involved) == 9 and c["rest"]["n_items"] == len(rest) == 3
    assert c["boundary"]["krippendorff_alpha"]["value"] == pytest.approx(_alpha(involved, cats))
    assert c["rest"]["krippendorff_alpha"]["value"] == pytest.approx(_alpha(rest, cats))
    collapsed = [tuple(None if v is None else v if v in pair else "other" for v in r) for r in involved]
    ok_minor = c["pairs"][0]
    assert ok_minor["classes"] == ["ok", "minor_scratch"] and ok_minor["n_split"] == 3
    assert ok_minor["krippendorff_alpha"]["value"] == pytest.approx(
        _alpha(collapsed, ["ok", "minor_scratch", "other"])
    )
    agree = [np.mean([a == b for i, a in enumerate(r) for b in r[i + 1 :] if a and b]) for r in collapsed]
    assert ok_minor["percent_agreement"] == pytest.approx(np.mean(agree))
    assert (c["n_disagreements"], c["n_disagreements_on_pairs"]) == (5, 3)
    assert c["unknown_classes"] == ["crack", "pit"] and c["pairs"][1]["n_items"] == 0
    assert doc["boundary"]["skipped"] == ["defect: the size rule needs detection labels (boxes)"]
    text = capsys.readouterr().out
    assert "ok / minor_scratch" in text and "5 items with disagreement, 3 of them on a declared pair" in text
    assert "skipped defect" in text


def test_without_rules_the_report_has_no_boundary_section(tmp_path):
    src = write(tmp_path / "export.json", detection_export())
    out = tmp_path / "r.json"
    assert main(["agreement", str(src), "--out", str(out)]) == 0
    assert "boundary" not in json.loads(out.read_text())
    assert boundary_agreement(load_labels([src]), BoundaryRules("r")).defect is None
