"""The COCO export loads with pycocotools (as training code reads it) and carries predictions and context."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
from pycocotools.coco import COCO

from camdrift.calibration.agreement import load_labels
from camdrift.calibration.evidence.coco import write_coco
from camdrift.calibration.evidence.items import IMAGES, copy_images, read_items
from camdrift.calibration.evidence.select import spool_records
from tests.calibration.evidence.spools import T0, unknown_label_spool


def _export(spool: Path, out: Path) -> tuple[list, Path]:
    items = read_items(spool, spool_records(spool))
    copy_images(items, out / IMAGES)
    return items, write_coco(items, out, T0 + 9000)


def test_pycocotools_loads_the_export_with_every_image_and_prediction(
    classifier: Path, tmp_path: Path
) -> None:
    items, path = _export(classifier, tmp_path)
    coco = COCO(str(path))
    assert len(coco.getImgIds()) == len(items) == 12
    assert len(coco.getAnnIds()) == sum(it.outputs is not None for it in items) == 10
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["ok", "scratch", "dent"]
    for img in coco.loadImgs(coco.getImgIds()):
        pixels = cv2.imread(str(tmp_path / IMAGES / img["file_name"]))
        assert pixels is not None and pixels.shape[:2] == (img["height"], img["width"])


def test_a_classification_is_an_image_level_prediction_with_its_confidence(
    classifier: Path, tmp_path: Path
) -> None:
    _, path = _export(classifier, tmp_path)
    coco = COCO(str(path))
    (img,) = [i for i in coco.dataset["images"] if i["file_name"] == "ep-focus-f36000__frame_00.jpg"]
    (ann,) = coco.loadAnns(coco.getAnnIds(imgIds=[img["id"]]))
    assert "bbox" not in ann and ann["segmentation"] == [] and ann["area"] == 0
    assert coco.loadCats(ann["category_id"])[0]["name"] == "dent" and ann["score"] == pytest.approx(0.8)
    assert ann["attributes"] == {"source": "prediction", "target": "image"}
    assert (img["item"], img["episode_id"], img["cause"], img["reason"]) == (
        img["file_name"],
        "ep-focus",
        "defocus",
        None,
    )


def test_image_records_carry_the_flag_reason_and_the_corrected_label(
    classifier: Path, tmp_path: Path
) -> None:
    _, path = _export(classifier, tmp_path)
    images = json.loads(path.read_text())["images"]
    (fixed,) = [i for i in images if i["reason"] == "operator_corrected"]
    assert (fixed["corrected"], fixed["prediction"], fixed["reason_kind"]) == (
        "dent",
        "scratch",
        "operator_corrected",
    )
    (inside,) = [i for i in images if i["kind"] == "flag" and i["episode_id"]]
    assert (inside["episode_id"], inside["cause"], inside["reason"]) == (
        "ep-light",
        "lighting",
        "false_positive",
    )


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pycocotools' mask decoding under numpy 2
def test_detections_are_bbox_annotations_with_area_and_scores(detector: Path, tmp_path: Path) -> None:
    _, path = _export(detector, tmp_path)
    coco = COCO(str(path))
    anns = coco.loadAnns(coco.getAnnIds())
    assert [a["bbox"] for a in anns] == [[10, 20, 100, 50], [200, 100, 40, 80.5], [5, 5, 30, 30]]
    assert [a["area"] for a in anns] == [5000, 3220, 900]
    assert [a["score"] for a in anns] == pytest.approx([0.9, 0.35, 0.5])
    names = {c["id"]: c["name"] for c in coco.dataset["categories"]}
    assert [names[a["category_id"]] for a in anns] == ["scratch", "dent", "class_2"]  # unnamed: class_<i>
    assert coco.annToMask(anns[0]).sum() == pytest.approx(5000, rel=0.05)  # the polygon is the box
    res = coco.loadRes([{k: a[k] for k in ("image_id", "category_id", "bbox", "score")} for a in anns])
    assert len(res.getAnnIds()) == 3  # the same boxes also read as COCO detection results


def test_camdrift_agreement_reads_the_export_with_the_exported_names_as_items(
    classifier: Path, tmp_path: Path
) -> None:
    """Two annotators' COCO files made from the export: the agreement tool's items are the export names."""
    _, path = _export(classifier, tmp_path)
    doc = json.loads(path.read_text())
    for who in ("ana", "ben"):
        (tmp_path / f"{who}.json").write_text(json.dumps(doc))
    labels = load_labels([tmp_path / "ana.json", tmp_path / "ben.json"], fmt="coco")
    annotated = {
        i["file_name"] for i in doc["images"] for a in doc["annotations"] if a["image_id"] == i["id"]
    }
    assert set(labels.items) >= annotated and "ep-focus-f36000__frame_00.jpg" in labels.items


def test_a_corrected_label_the_model_does_not_know_is_a_category(tmp_path: Path) -> None:
    _, path = _export(unknown_label_spool(tmp_path / "spool"), tmp_path / "out")
    names = [c["name"] for c in COCO(str(path)).dataset["categories"]]
    assert {"crack", "chip"} <= set(names) and len(names) == len(set(names))
