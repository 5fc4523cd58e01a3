"""The Label Studio export follows Label Studio's documented import format (tasks with pre-annotations,
https://labelstud.io/guide/predictions and https://labelstud.io/guide/task_format) and its labelling config
names the controls the results refer to."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import jsonschema
import pytest

from camdrift.calibration.agreement import load_labels
from camdrift.calibration.evidence.items import IMAGES, copy_images, read_items
from camdrift.calibration.evidence.label_studio import write_label_studio
from camdrift.calibration.evidence.select import spool_records
from tests.calibration.evidence.spools import unknown_label_spool

_PERCENT = {"type": "number", "minimum": 0, "maximum": 100}
_COMMON = {
    "id": {"type": "string", "minLength": 1},
    "from_name": {"type": "string", "minLength": 1},
    "to_name": {"type": "string", "minLength": 1},
    "score": {"type": "number", "minimum": 0, "maximum": 1},
}
# From the documented format: a task is {"data": {...}, "predictions": [{"model_version", "score", "result"}]};
# a choices result has value.choices, a rectanglelabels result value.x/y/width/height in percent of the original
# image size (original_width/original_height in pixels), value.rotation and value.rectanglelabels.
TASKS_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["data"],
        "properties": {
            "data": {"type": "object", "required": ["image"], "properties": {"image": {"type": "string"}}},
            "predictions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["result"],
                    "properties": {
                        "model_version": {"type": "string"},
                        "score": {"type": "number"},
                        "result": {
                            "type": "array",
                            "items": {"oneOf": [{"$ref": "#/$defs/choices"}, {"$ref": "#/$defs/rect"}]},
                        },
                    },
                },
            },
        },
    },
    "$defs": {
        "choices": {
            "type": "object",
            "required": ["id", "type", "from_name", "to_name", "value"],
            "properties": {
                **_COMMON,
                "type": {"const": "choices"},
                "value": {
                    "type": "object",
                    "required": ["choices"],
                    "properties": {"choices": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
                },
            },
        },
        "rect": {
            "type": "object",
            "required": ["id", "type", "from_name", "to_name", "original_width", "original_height", "value"],
            "properties": {
                **_COMMON,
                "type": {"const": "rectanglelabels"},
                "original_width": {"type": "integer", "minimum": 1},
                "original_height": {"type": "integer", "minimum": 1},
                "image_rotation": {"type": "number"},
                "value": {
                    "type": "object",
                    "required": ["x", "y", "width", "height", "rectanglelabels"],
                    "properties": {
                        "x": _PERCENT,
                        "y": _PERCENT,
                        "width": _PERCENT,
                        "height": _PERCENT,
                        "rotation": {"type": "number"},
                        "rectanglelabels": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    },
                },
            },
        },
    },
}


def _export(spool: Path, out: Path) -> tuple[list, list[dict], ET.Element]:
    items = read_items(spool, spool_records(spool))
    copy_images(items, out / IMAGES)
    tasks, config = write_label_studio(items, out)
    return items, json.loads(tasks.read_text()), ET.parse(config).getroot()


def _controls(config: ET.Element) -> dict[str, tuple[str, str, set[str]]]:
    """name -> (tag, toName, values) of the config's control tags."""
    return {
        el.get("name"): (el.tag, el.get("toName"), {c.get("value") for c in el})
        for el in config
        if el.get("toName")
    }


@pytest.mark.parametrize("spool", ["classifier", "detector"])
def test_tasks_follow_the_documented_import_format(spool: str, request, tmp_path: Path) -> None:
    items, tasks, _ = _export(request.getfixturevalue(spool), tmp_path)
    jsonschema.validate(tasks, TASKS_SCHEMA)
    assert [t["data"]["item"] for t in tasks] == [it.item for it in items]
    ids = [r["id"] for t in tasks for p in t["predictions"] for r in p["result"]]
    assert len(ids) == len(set(ids))  # the docs: different ids for every result
    for t in tasks:
        image = cv2.imread(str(tmp_path / IMAGES / t["data"]["item"]))
        assert image is not None and t["data"]["image"].endswith("?d=images/" + t["data"]["item"])


@pytest.mark.parametrize("spool", ["classifier", "detector"])
def test_the_config_names_every_control_and_label_the_results_use(
    spool: str, request, tmp_path: Path
) -> None:
    _, tasks, config = _export(request.getfixturevalue(spool), tmp_path)
    assert config.tag == "View"
    (image,) = config.iter("Image")
    controls = _controls(config)
    for t in tasks:
        for p in t["predictions"]:
            for r in p["result"]:
                tag, to_name, values = controls[r["from_name"]]
                assert to_name == r["to_name"] == image.get("name") and image.get("value") == "$image"
                assert tag == {"choices": "Choices", "rectanglelabels": "RectangleLabels"}[r["type"]]
                assert set(r["value"][r["type"]]) <= values


def test_meta_fields_carry_the_context_and_the_corrected_label_is_a_choice(
    classifier: Path, tmp_path: Path
) -> None:
    _, tasks, config = _export(classifier, tmp_path)
    (fixed,) = [t for t in tasks if t["data"]["reason"] == "operator_corrected"]
    assert (fixed["data"]["corrected"], fixed["data"]["evidence_id"]) == (
        "dent",
        fixed["data"]["item"].split("__")[0],
    )
    prediction = fixed["predictions"][0]
    assert prediction["model_version"] == "base-7" and prediction["score"] == pytest.approx(0.8)
    assert "dent" in _controls(config)["class"][2]
    none = [t for t in tasks if t["data"]["item"] == "ep-light-f6000__frame_01.jpg"]
    assert none[0]["predictions"] == []  # no outputs, no pre-annotation


def test_boxes_are_percent_of_the_image_and_map_back_to_pixels(detector: Path, tmp_path: Path) -> None:
    items, tasks, _ = _export(detector, tmp_path)
    (r0, r1) = tasks[0]["predictions"][0]["result"]
    w, h = items[0].width, items[0].height
    v = r0["value"]
    assert (r0["original_width"], r0["original_height"]) == (w, h) == (512, 512)
    assert [v["x"] * w / 100, v["y"] * h / 100, v["width"] * w / 100, v["height"] * h / 100] == pytest.approx(
        [10, 20, 100, 50], abs=0.01
    )
    assert r1["value"]["rectanglelabels"] == ["dent"] and r1["score"] == pytest.approx(0.35)
    assert tasks[0]["predictions"][0]["score"] == pytest.approx((0.9 + 0.35) / 2)
    assert "score" not in tasks[1]["predictions"][0] and tasks[1]["predictions"][0]["result"] == []


def test_camdrift_agreement_reads_the_tasks_back_by_exported_name(detector: Path, tmp_path: Path) -> None:
    """Two annotators accept the pre-annotations as they are: the agreement tool sees the exported names."""
    _, tasks, _ = _export(detector, tmp_path)
    for i, t in enumerate(tasks):
        t["id"] = i + 1
        t["annotations"] = [
            {
                "id": 10 * i + who,
                "completed_by": who,
                "was_cancelled": False,
                "result": t["predictions"][0]["result"],
            }
            for who in (1, 2)
        ]
    (tmp_path / "export.json").write_text(json.dumps(tasks))
    labels = load_labels([tmp_path / "export.json"], fmt="label-studio")
    assert set(labels.items) == {t["data"]["item"] for t in tasks}


def test_a_corrected_label_the_model_does_not_know_is_a_choice_and_a_box_label(tmp_path: Path) -> None:
    _, _, config = _export(unknown_label_spool(tmp_path / "spool"), tmp_path / "out")
    for tag, _, values in _controls(config).values():
        assert {"crack", "chip"} <= values, tag
