"""Spool records + decision.json -> one typed item per exported image, with what a labeller needs to know."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import pytest

from camdrift.calibration.evidence.items import ExportError, jpeg_size, read_items, write_context
from camdrift.calibration.evidence.select import spool_records
from tests.calibration.evidence.spools import T0


def test_every_frame_of_every_capture_is_one_item_named_after_its_capture(classifier: Path) -> None:
    items = read_items(classifier, spool_records(classifier))
    assert len(items) == 2 + 2 + 3 + 5
    assert items[0].item == "ep-light-f0__frame_00.jpg" and items[1].item == "ep-light-f0__frame_01.jpg"
    assert len({it.item for it in items}) == len(items)
    for it in items:
        assert it.item == f"{it.evidence_id}__{it.image.stem}.jpg"
        h, w = cv2.imread(str(it.image)).shape[:2]
        assert (it.width, it.height) == (w, h)


def test_items_carry_the_capture_context_and_the_model_outputs(classifier: Path) -> None:
    by_name = {it.item: it for it in read_items(classifier, spool_records(classifier))}
    ep = by_name["ep-focus-f36000__frame_01.jpg"]
    assert (ep.kind, ep.episode_id, ep.cause, ep.baseline_id, ep.reason) == (
        "episode",
        "ep-focus",
        "defocus",
        "base-7",
        "",
    )
    assert ep.predicted_class == "dent" and ep.label_class == "dent" and ep.created_at == T0 + 3600
    assert by_name["ep-light-f6000__frame_01.jpg"].outputs is None  # the app handed none over for it
    fixed = next(it for it in by_name.values() if it.reason == "operator_corrected")
    assert (fixed.prediction, fixed.corrected, fixed.predicted_class, fixed.label_class) == (
        "scratch",
        "dent",
        "scratch",
        "dent",  # the operator's label wins
    )
    odd = next(it for it in by_name.values() if it.reason == "looks odd")
    assert odd.reason_kind == "other" and odd.outputs is None and odd.label_class == "ok"  # the app's text
    inside = [it for it in by_name.values() if it.kind == "flag" and it.episode_id == "ep-light"]
    assert len(inside) == 1 and inside[0].cause == "lighting"


def test_detector_items_name_unnamed_classes_and_pick_the_most_confident_box(detector: Path) -> None:
    items = read_items(detector, spool_records(detector))
    boxes, empty, unnamed = items
    assert boxes.outputs.n_detections == 2 and boxes.predicted_class == "scratch"  # score 0.9 over 0.35
    assert empty.outputs.n_detections == 0 and empty.predicted_class == ""
    assert unnamed.class_names == () and unnamed.predicted_class == "class_2"


def test_context_file_has_one_line_per_image(classifier: Path, tmp_path: Path) -> None:
    items = read_items(classifier, spool_records(classifier))
    lines = write_context(items, tmp_path).read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["item"] for r in rows] == [it.item for it in items]
    assert rows[0]["created_at"] == "2023-11-14T22:13:20+00:00" and rows[0]["reason"] is None


def test_jpeg_size_reads_the_header_and_names_a_file_that_is_not_a_jpeg(
    classifier: Path, tmp_path: Path
) -> None:
    frame = next(classifier.glob("*/frame_00.jpg"))
    h, w = cv2.imread(str(frame)).shape[:2]
    assert jpeg_size(frame) == (w, h)
    png = tmp_path / "x.jpg"
    cv2.imwrite(str(tmp_path / "x.png"), cv2.imread(str(frame)))
    (tmp_path / "x.png").rename(png)
    with pytest.raises(ExportError, match="x.jpg: not a JPEG"):
        jpeg_size(png)


def test_a_broken_decision_file_is_named(classifier: Path, tmp_path: Path) -> None:
    spool = shutil.copytree(classifier, tmp_path / "spool")
    record = spool_records(spool)[0]
    (spool / record.evidence_id / "decision.json").write_text("{not json")
    with pytest.raises(ExportError, match=f"{record.evidence_id}/decision.json: cannot read"):
        read_items(spool, [record])
    doc = {"outputs": [{"kind": "classification", "probs": [0.9, 0.9]}]}
    (spool / record.evidence_id / "decision.json").write_text(json.dumps(doc))
    with pytest.raises(ExportError, match=r"decision.json: outputs\[0\]: outputs.probs must"):
        read_items(spool, [record])


def test_a_version_1_capture_without_a_decision_file_reads_without_outputs(
    classifier: Path, tmp_path: Path
) -> None:
    spool = tmp_path / "old"
    (spool / "old-f1").mkdir(parents=True)
    shutil.copyfile(next(classifier.glob("*/frame_00.jpg")), spool / "old-f1" / "frame_00.jpg")
    line = {"evidence_id": "old-f1", "kind": "flag", "camera_id": "c", "frame_index": 1, "stream_time": 0.0}
    line |= {"created_at": T0, "bytes": 1, "files": ["frame_00.jpg"], "reason": "false_negative"}
    (spool / "manifest.jsonl").write_text(json.dumps(line) + "\n")  # no version: version 1
    (item,) = read_items(spool, spool_records(spool))
    assert item.outputs is None and item.reason_kind == "false_negative" and item.class_names == ()
