"""Label Studio JSON exports (the documented task format: https://labelstud.io/guide/export.html), three
annotators on images of real sizes, read and round-tripped through ``camdrift agreement``; the numbers are checked
against scikit-learn's Cohen's kappa and the ``krippendorff`` package."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from camdrift.agent.cli import main
from camdrift.calibration.agreement.label_studio import looks_like_label_studio, read_label_studio
from camdrift.calibration.agreement.labels import LabelError, load_labels

# Users as Label Studio exports them: plain ids, or the user object of exports that include it.
ANA, BEN, CLEO = 2, 3, {"id": 4, "email": "cleo@plant.example", "first_name": "Cleo", "last_name": ""}
NAMES = ["user2", "user3", "cleo@plant.example"]
SIZES = [(2448, 2048), (1280, 960), (1920, 1080), (640, 480)]  # px: the line cameras' sensors
STAMP = "2024-05-02T08:{:02d}:00.000000Z"


def choice(label: str) -> dict:
    return {
        "id": "c" + label[:5],
        "type": "choices",
        "from_name": "class",
        "to_name": "image",
        "origin": "manual",
        "value": {"choices": [label]},
    }


def rect(
    x: float, y: float, w: float, h: float, label: str, size: tuple[int, int], rotation: float = 0
) -> dict:
    """A ``rectanglelabels`` result for a box given in pixels (stored in percent, as Label Studio does)."""
    width, height = size
    value = {
        "x": 100 * x / width,
        "y": 100 * y / height,
        "width": 100 * w / width,
        "height": 100 * h / height,
    }
    return {
        "id": f"r{x:g}",
        "type": "rectanglelabels",
        "from_name": "label",
        "to_name": "image",
        "original_width": width,
        "original_height": height,
        "image_rotation": 0,
        "value": {**value, "rotation": rotation, "rectanglelabels": [label]},
    }


def annotation(n: int, user: object, result: list, cancelled: bool = False) -> dict:
    return {
        "id": 1000 + n,
        "completed_by": user,
        "result": result,
        "was_cancelled": cancelled,
        "ground_truth": False,
        "created_at": STAMP.format(n % 60),
        "updated_at": STAMP.format(n % 60),
        "lead_time": 4.2,
        "result_count": len(result),
        "task": n,
    }


def task(n: int, item: str, annotations: list, predictions: list | None = None) -> dict:
    return {
        "id": n,
        "data": {"image": f"/data/upload/3/8f3a2b1c-{item}", "item": item},
        "annotations": annotations,
        "predictions": predictions or [],
        "project": 3,
        "created_at": STAMP.format(0),
        "updated_at": STAMP.format(0),
    }


def item_name(i: int) -> str:
    return f"ev{i // 4:04d}__frame{i:06d}.jpg"


# Classification: items x (ana, ben, cleo); None = that annotator skipped the task (a cancelled annotation).
CLASSES = [
    ("ok", "ok", "ok"),
    ("ok", "ok", "minor_scratch"),
    ("minor_scratch", "minor_scratch", "minor_scratch"),
    ("scratch", "scratch", "scratch"),
    ("ok", "minor_scratch", "ok"),
    ("scratch", "minor_scratch", "scratch"),
    ("ok", "ok", "ok"),
    ("dent", "dent", "scratch"),
    ("ok", None, "ok"),
    ("minor_scratch", "ok", "minor_scratch"),
    ("dent", "dent", "dent"),
    ("ok", "ok", None),
]


def classification_export(rows=CLASSES) -> list[dict]:
    tasks = []
    for i, labels in enumerate(rows):
        anns = [
            annotation(3 * i + a, user, [] if lab is None else [choice(lab)], cancelled=lab is None)
            for a, (user, lab) in enumerate(zip((ANA, BEN, CLEO), labels, strict=True))
        ]
        tasks.append(
            task(i, item_name(i), anns, predictions=[{"model_version": "v7", "result": [choice("ok")]}])
        )
    return tasks


def write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return path


def run(*args: str | Path) -> int:
    return main(["agreement", *map(str, args)])


def test_classification_round_trip_matches_sklearn_and_krippendorff(tmp_path, capsys):
    src = write(tmp_path / "project-3-at-2024-05-02.json", classification_export())
    out = tmp_path / "report.json"
    assert run(src, "--out", out) == 0
    doc = json.loads(out.read_text())
    assert doc["kind"] == "classification" and doc["annotators"] == NAMES and doc["n_items"] == len(CLASSES)
    cats = ["ok", "minor_scratch", "scratch", "dent"]
    table = np.array([[np.nan if v is None else cats.index(v) for v in row] for row in CLASSES]).T
    want = krippendorff.alpha(reliability_data=table, level_of_measurement="nominal")
    assert doc["krippendorff_alpha"]["value"] == pytest.approx(want, abs=1e-12)
    for pair, (i, j) in zip(doc["pairs"], combinations(range(3), 2), strict=True):
        both = ~np.isnan(table[i]) & ~np.isnan(table[j])
        assert (pair["a"], pair["b"], pair["n_items"]) == (NAMES[i], NAMES[j], int(both.sum()))
        assert pair["cohen_kappa"]["value"] == pytest.approx(
            cohen_kappa_score(table[i][both], table[j][both])
        )
    assert "Krippendorff alpha" in capsys.readouterr().out


def test_predictions_are_not_annotators_unless_asked(tmp_path):
    src = write(tmp_path / "export.json", classification_export())
    assert load_labels([src]).annotators == tuple(NAMES)
    labels = load_labels([src], include_predictions=True)
    assert labels.annotators == (*NAMES, "model:v7")
    assert {a.label for a in labels.annotations if a.annotator == "model:v7"} == {"ok"}


def test_cancelled_annotations_are_skipped_and_times_read(tmp_path):
    labels = load_labels([write(tmp_path / "e.json", classification_export())])
    said = {(a.item, a.annotator) for a in labels.annotations}
    assert (item_name(8), "user3") not in said and (item_name(8), "user2") in said
    assert len(labels.annotations) == 3 * len(CLASSES) - 2
    assert all(a.time is not None and a.time > 1.7e9 for a in labels.annotations)


def test_annotator_names_map_ids_and_emails(tmp_path):
    src = write(tmp_path / "e.json", classification_export())
    labels = load_labels([src], annotator_names=["2=ana", "3=ben", "cleo@plant.example=cleo"])
    assert labels.annotators == ("ana", "ben", "cleo")
    with pytest.raises(LabelError, match="ID=NAME pairs"):
        load_labels([src], annotator_names=["ana", "ben"])
    with pytest.raises(LabelError, match="--annotators|unknown annotator 'user3'"):
        load_labels([src], annotator_names=["2=ana"], annotators=["ana", "cleo@plant.example"])


DETECTIONS = {  # item index -> per annotator: boxes [x, y, w, h] px on image SIZES[i % 4]
    0: ([[100, 200, 300, 150]], [[110, 205, 290, 150]], [[100, 200, 300, 150]]),
    1: ([[40, 40, 60, 60], [500, 300, 80, 40]], [[40, 40, 60, 60]], [[42, 38, 60, 62], [500, 300, 80, 40]]),
    2: ([], [], []),
    3: ([[10, 10, 50, 50]], [], [[300, 200, 40, 40]]),
}


def detection_export() -> list[dict]:
    tasks = []
    for i, per in DETECTIONS.items():
        size = SIZES[i]
        anns = [
            annotation(10 * i + a, user, [rect(*b, "scratch", size) for b in boxes])
            for a, (user, boxes) in enumerate(zip((ANA, BEN, CLEO), per, strict=True))
        ]
        tasks.append(task(i, item_name(i), anns))
    return tasks


def _iou(a, b) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy / (a[2] * a[3] + b[2] * b[3] - ix * iy)


def test_detection_round_trip_in_pixels(tmp_path):
    src = write(tmp_path / "export.json", detection_export())
    labels = load_labels([src])
    assert labels.kind == "detection" and len(labels.labelled) == 12  # image 2: labelled, no box
    got = sorted(
        (b.item, b.annotator, round(b.x, 9), round(b.y, 9), round(b.w, 9), round(b.h, 9))
        for b in labels.boxes
    )
    want = sorted(
        (item_name(i), NAMES[a], *map(float, box))
        for i, per in DETECTIONS.items()
        for a in range(3)
        for box in per[a]
    )
    assert got == want
    out = tmp_path / "r.json"
    assert run(src, "--out", out) == 0
    for pair, (i, j) in zip(
        json.loads(out.read_text())["detection"]["pairs"], combinations(range(3), 2), strict=True
    ):
        matched = n = 0
        for per in DETECTIONS.values():  # independent: every box here overlaps at most one other box
            n += len(per[i]) + len(per[j])
            matched += sum(_iou(a, b) >= 0.5 for a in per[i] for b in per[j])
        assert (pair["a"], pair["b"], pair["matched"]) == (NAMES[i], NAMES[j], matched)
        assert pair["presence_agreement"] == pytest.approx(2 * matched / n)


def test_rotated_box_becomes_its_envelope_and_items_fall_back_to_the_image_name(tmp_path):
    t = task(1, "x.jpg", [annotation(1, ANA, [rect(100, 100, 40, 20, "dent", (1280, 960), rotation=90)])])
    t["data"] = {"image": "/data/local-files/?d=line%202/e1__f3.jpg"}
    read = read_label_studio(write(tmp_path / "e.json", [t]))
    (box,) = read.boxes
    assert box.item == "e1__f3.jpg"
    assert (box.x, box.y, box.w, box.h) == pytest.approx(
        (80, 100, 20, 40)
    )  # clockwise about the top-left corner


def test_a_list_json_is_label_studio_and_an_object_is_coco(tmp_path):
    assert looks_like_label_studio(write(tmp_path / "a.json", []))
    assert not looks_like_label_studio(write(tmp_path / "b.json", {"images": []}))
    assert not looks_like_label_studio(tmp_path / "missing.json")


def _one(result: list, **fields) -> list[dict]:
    t = task(5, "a.jpg", [annotation(1, ANA, result), annotation(2, BEN, [])])
    t.update(fields)
    return [t]


@pytest.mark.parametrize(
    ("doc", "expect"),
    [
        ({"images": []}, None),  # an object is COCO: with --format label-studio a list is expected
        ([{"image": "a.jpg", "class": "ok", "annotator": "x@y", "annotation_id": 3}], "JSON-MIN export"),
        ([{"id": 9, "data": {"image": "a.jpg"}}], r"task 0 \(id 9\): .*no annotations"),
        (_one([choice("ok"), choice("dent")]), r"task 0 \(id 5\): 'user2' gave 2 choices"),
        (_one([{**choice("ok"), "value": {"choices": ["ok", "dent"]}}]), "exactly one label"),
        (
            _one([{k: v for k, v in rect(1, 1, 5, 5, "d", (64, 64)).items() if k != "original_width"}]),
            "original_width",
        ),
        (_one([rect(1, 1, -5, 5, "d", (64, 64))]), "width and height must be >= 0"),
        (
            _one([{**rect(1, 1, 5, 5, "d", (64, 64)), "type": "polygonlabels"}]),
            "polygonlabels regions are not supported",
        ),
        (_one([choice("ok")], data={"text": "no image"}), r"field 'data': task 0 \(id 5\): no data.item"),
        (_one([choice("ok")])[0:1] * 2, r"annotator 'user2' labelled item 'a.jpg' twice"),
        (
            _one([rect(1, 1, 5, 5, "d", (64, 64))]) + _one([choice("ok")], data={"item": "b.jpg"}),
            "holds boxes",
        ),
        ([{**_one([])[0], "annotations": [{"completed_by": None, "result": []}]}], "field 'completed_by'"),
    ],
)
def test_errors_name_the_file_task_and_field(tmp_path, doc, expect):
    src = write(tmp_path / "export.json", doc)
    with pytest.raises(LabelError, match=expect or "expected a Label Studio JSON export") as err:
        load_labels([src], "label-studio")
    assert "export.json" in str(err.value) and "\n" not in str(err.value)


def test_oversized_export_is_refused_before_reading(tmp_path, monkeypatch):
    from camdrift.calibration.agreement import label_studio

    monkeypatch.setattr(label_studio, "MAX_BYTES", 100)
    src = write(tmp_path / "e.json", classification_export())
    with pytest.raises(LabelError, match="more than 100: split the export"):
        load_labels([src])


def test_cli_bad_export_exits_2_with_one_line(tmp_path, capsys):
    src = write(tmp_path / "e.json", _one([choice("ok"), choice("dent")]))
    assert run(src) == 2
    err = capsys.readouterr().err
    assert err.startswith("camdrift agreement: ") and "e.json" in err and err.count("\n") == 1
