"""Label readers on real files: what they accept, and errors that name the file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from camdrift.calibration.agreement.labels import LabelError, load_labels


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def coco(images, annotations, categories=({"id": 1, "name": "scratch"}, {"id": 2, "name": "dent"})) -> str:
    return json.dumps(
        {"images": list(images), "annotations": list(annotations), "categories": list(categories)}
    )


def test_csv_with_times_extra_columns_bom_and_blank_lines(tmp_path):
    p = write(
        tmp_path / "labels.csv",
        "\ufeffItem,annotator,label,time,comment\n"
        "img1,ann,scratch,2026-01-01T10:00:00,\n"
        "img1,bob,dent,2026-01-01T10:00:00+01:00,unsure\n"
        "\n"
        "img2,ann,ok,1767261600.5,\n"
        "img2,bob,ok,,\n",
    )
    ls = load_labels([p])
    assert ls.kind == "classification"
    assert ls.annotators == ("ann", "bob") and ls.items == ("img1", "img2")
    assert ls.categories == ("scratch", "dent", "ok")
    np.testing.assert_array_equal(ls.codes(), [[0, 1], [2, 2]])
    t = ls.times()
    assert t[0, 0] == 1767261600.0 and t[0, 1] == 1767261600.0 - 3600 and t[1, 0] == 1767261600.5
    assert np.isnan(t[1, 1])
    assert ls.annotations[2].source == f"{p}:5"


def test_jsonl_numbers_are_strings_and_several_files_concatenate(tmp_path):
    a = write(tmp_path / "a.jsonl", '{"item": 1, "annotator": "ann", "label": 3}\n\n')
    b = write(tmp_path / "b.jsonl", '{"item": "1", "annotator": "bob", "label": "3", "time": 5}\n')
    ls = load_labels([a, b])
    assert ls.items == ("1",) and ls.categories == ("3",)
    np.testing.assert_array_equal(ls.codes(), [[0, 0]])


def test_items_unlabelled_by_someone_are_missing(tmp_path):
    p = write(tmp_path / "l.csv", "item,annotator,label\na,x,1\na,y,1\nb,x,2\nc,z,1\n")
    np.testing.assert_array_equal(load_labels([p]).codes(), [[0, 0, -1], [1, -1, -1], [-1, -1, 0]])


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


HEADER = "item,annotator,label\n"


@pytest.mark.parametrize(
    ("name", "text", "kwargs", "expect"),
    [
        ("rows.csv", HEADER + "a,x,1\na,y\n", {}, r"rows\.csv:3: expected 3 fields"),
        ("rows.csv", HEADER + "a,x,1\nb, ,2\n", {}, r"rows\.csv:3: field 'annotator': empty value"),
        ("rows.csv", "item,who,label\na,x,1\n", {}, r"rows\.csv:1: .*lacks annotator"),
        ("rows.csv", "", {}, r"rows\.csv: empty file"),
        ("rows.csv", HEADER, {}, "no labels found"),
        (
            "rows.csv",
            HEADER + "a,x,1\na,y,2\na,x,2\n",
            {},
            r"rows\.csv:4: annotator 'x' labelled item 'a' twice "
            r"\(first at .*rows\.csv:2\)",
        ),
        (
            "rows.csv",
            HEADER + "a,x,1\na,Y,1\n",
            {"annotators": ["x", "y"]},
            r"rows\.csv:3: unknown annotator 'Y'",
        ),
        ("rows.csv", HEADER + "a,x,1\nb,x,2\n", {}, "two or more annotators; found \\['x'\\]"),
        ("rows.csv", "item,annotator,label,time\na,x,1,yesterday\n", {}, r":2: field 'time': expected POSIX"),
        (
            "rows.jsonl",
            '{"item": "a", "annotator": "x", "label": 1}\n{"item": "a", "annot',
            {},
            r":2: bad JSON",
        ),
        ("rows.jsonl", "[1, 2]\n", {}, r"rows\.jsonl:1: expected a JSON object"),
        ("rows.jsonl", '{"item": "a", "label": 1}\n', {}, r":1: field 'annotator': missing"),
        (
            "rows.jsonl",
            '{"item": "a", "annotator": "x", "label": [1]}\n',
            {},
            r"field 'label': expected a string",
        ),
        ("rows.txt", HEADER, {}, "cannot tell the format"),
        ("rows.csv", HEADER + "a,x,1\na,y,1\n", {"annotator_names": ["p", "q"]}, "only for COCO"),
    ],
)
def test_flat_file_errors_name_file_line_and_field(tmp_path, name, text, kwargs, expect):
    p = write(tmp_path / name, text)
    with pytest.raises(LabelError, match=expect):
        load_labels([p], **kwargs)


def test_missing_path_and_mixed_formats(tmp_path):
    with pytest.raises(LabelError, match="no such file"):
        load_labels([tmp_path / "nope.csv"])
    a = write(tmp_path / "a.csv", HEADER + "a,x,1\n")
    b = write(tmp_path / "b.jsonl", '{"item": "a", "annotator": "y", "label": 1}\n')
    with pytest.raises(LabelError, match="mix formats"):
        load_labels([a, b])
    with pytest.raises(LabelError, match="unknown format"):
        load_labels([a], fmt="xml")


IMG = [{"id": 1, "file_name": "x.png"}]


@pytest.mark.parametrize(
    ("doc", "expect"),
    [
        ("{not json", r"a\.json: bad JSON"),
        ("[]", "expected a COCO object"),
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


def test_coco_kind_clash_and_names(tmp_path):
    a = write(tmp_path / "a.json", coco(IMG, [{"image_id": 1, "category_id": 1}]))
    b = write(tmp_path / "b.json", coco(IMG, [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}]))
    with pytest.raises(
        LabelError, match=r"a\.json holds classification labels but .*b\.json holds detections"
    ):
        load_labels([a, b])
    c = write(tmp_path / "c.json", coco(IMG, [{"image_id": 1, "category_id": 2}]))
    with pytest.raises(LabelError, match="1 annotator names for 2 COCO files"):
        load_labels([a, c], annotator_names=["only"])
    with pytest.raises(LabelError, match="annotator names repeat"):
        load_labels([a, c], annotator_names=["p", "p"])
    with pytest.raises(LabelError, match=r"c\.json: unknown annotator 'c'"):
        load_labels([a, c], annotators=["a", "b"])
