"""COCO label files, one per annotator (coco.py): images matched by file name, classification labels or boxes,
images without boxes still labelled, and malformed files named with the field at fault."""

from __future__ import annotations

import json

import numpy as np
import pytest

from camdrift.calibration.agreement.coco import read_coco
from camdrift.calibration.agreement.labels import LabelError, load_labels
from tests.calibration.agreement.test_labels import coco, write


def test_coco_classification_directory_matches_images_by_file_name(tmp_path):
    d = tmp_path / "coco"
    d.mkdir()
    write(
        d / "ann.json",
        coco(
            [{"id": 1, "file_name": "x.png"}, {"id": 2, "file_name": "y.png"}],
            [{"image_id": 1, "category_id": 1}, {"image_id": 2, "category_id": 2}],
        ),
    )
    # bob's tool numbered the images differently and left y.png unlabelled.
    write(
        d / "bob.json",
        coco(
            [{"id": 7, "file_name": "y.png"}, {"id": 9, "file_name": "x.png"}],
            [{"image_id": 9, "category_id": 1}],
        ),
    )
    ls = load_labels([d])
    assert ls.kind == "classification" and ls.annotators == ("ann", "bob")
    np.testing.assert_array_equal(ls.codes(), [[0, 0], [1, -1]])
    assert load_labels([d], annotator_names=["A", "B"]).annotators == ("A", "B")


def test_coco_detection_counts_images_without_boxes_as_labelled(tmp_path):
    imgs = [{"id": 1, "file_name": "x.png"}, {"id": 2, "file_name": "y.png"}]
    a = write(tmp_path / "a.json", coco(imgs, [{"image_id": 1, "category_id": 2, "bbox": [1, 2, 3, 4]}]))
    b = write(tmp_path / "b.json", coco(imgs[:1], []))
    ls = load_labels([a, b])
    assert ls.kind == "detection" and ls.items == ("x.png", "y.png") and ls.categories == ("dent",)
    assert ls.labelled == {("x.png", "a"), ("y.png", "a"), ("x.png", "b")}
    box = ls.boxes[0]
    assert (box.x, box.y, box.w, box.h, box.label) == (1.0, 2.0, 3.0, 4.0, "dent")


IMG = [{"id": 1, "file_name": "x.png"}]


@pytest.mark.parametrize(
    ("doc", "expect"),
    [
        ("{not json", r"a\.json: bad JSON"),
        ("[]", r"mix formats \(coco, label-studio\): a \.json holding a list is read as Label Studio"),
        (json.dumps({"annotations": []}), "field 'images': expected a list"),
        (coco(IMG, [{"image_id": 5, "category_id": 1}]), "image_id 5 is not in 'images'"),
        (coco(IMG, [{"image_id": 1}]), "no 'category_id'"),
        (coco(IMG, [{"image_id": 1, "category_id": 1, "bbox": [0, 0, -1, 2]}]), "field 'bbox'"),
        (coco(IMG, [{"image_id": 1, "category_id": 1, "bbox": "0,0,1,1"}]), "field 'bbox'"),
        (
            coco(
                IMG,
                [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}, {"image_id": 1, "category_id": 1}],
            ),
            "mixes annotations with and without 'bbox'",
        ),
        (
            coco(IMG, [{"image_id": 1, "category_id": 1}, {"image_id": 1, "category_id": 2}]),
            r"annotator 'a' labelled item 'x.png' twice",
        ),
    ],
)
def test_coco_errors_name_the_file_and_field(tmp_path, doc, expect):
    a = write(tmp_path / "a.json", doc)
    b = write(tmp_path / "b.json", coco(IMG, [{"image_id": 1, "category_id": 1}]))
    with pytest.raises(LabelError, match=expect):
        load_labels([a, b])


def test_a_list_read_as_coco_is_refused(tmp_path):
    # Without --format a .json list is a Label Studio export (test_label_studio.py); as COCO it is malformed.
    a = write(tmp_path / "a.json", "[]")
    b = write(tmp_path / "b.json", coco(IMG, [{"image_id": 1, "category_id": 1}]))
    with pytest.raises(LabelError, match=r"a\.json: neither a COCO object"):
        load_labels([a, b], "coco")


def test_an_object_that_is_neither_format_says_so_with_its_keys(tmp_path):
    a = write(tmp_path / "a.json", json.dumps({"tasks": []}))
    b = write(tmp_path / "b.json", coco(IMG, [{"image_id": 1, "category_id": 1}]))
    with pytest.raises(LabelError, match=r"a\.json: neither a COCO .* nor a Label Studio .*its keys: tasks"):
        load_labels([a, b])


def test_image_without_file_name_is_its_id_and_category_without_name_its_id(tmp_path):
    p = write(
        tmp_path / "a.json",
        json.dumps(
            {
                "images": [{"id": 3}, {"id": 4, "file_name": ""}, {"id": 5, "file_name": "z.png"}],
                "annotations": [{"image_id": 3, "category_id": 7}, {"image_id": 5, "category_id": 1}],
                "categories": [{"id": 1, "name": "scratch"}],
            }
        ),
    )
    kind, items, labels, boxes = read_coco(p, "ann")
    assert kind == "classification" and boxes == []
    assert items == ["3", "4", "z.png"]
    assert [(a.item, a.annotator, a.label, a.time) for a in labels] == [
        ("3", "ann", "7", None),
        ("z.png", "ann", "scratch", None),
    ]
    assert labels[1].source == f"{p}:annotations[1]"


def test_detection_boxes_are_float_pixels_and_a_file_without_annotations_has_no_kind_of_its_own(tmp_path):
    imgs = [{"id": 1, "file_name": "x.png"}]
    det = write(tmp_path / "d.json", coco(imgs, [{"image_id": 1, "category_id": 1, "bbox": [1, 2.5, 3, 0]}]))
    kind, items, labels, boxes = read_coco(det, "a")
    assert kind == "detection" and labels == [] and items == ["x.png"]
    assert boxes[0][:7] == ("x.png", "a", "scratch", 1.0, 2.5, 3.0, 0.0)
    empty = write(tmp_path / "e.json", coco(imgs, []))
    assert read_coco(empty, "b") == ("classification", ["x.png"], [], [])
    # the empty file joins the detection study, its annotator having labelled x.png "no boxes"
    np.testing.assert_array_equal(
        sorted(load_labels([det, empty]).labelled), [("x.png", "d"), ("x.png", "e")]
    )
