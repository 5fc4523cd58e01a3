"""``load_labels`` on real files: the checks across files (formats, duplicates, annotators), and errors that
name the file, line and field. The readers of each format: test_flat.py, test_coco.py."""

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


def test_items_unlabelled_by_someone_are_missing(tmp_path):
    p = write(tmp_path / "l.csv", "item,annotator,label\na,x,1\na,y,1\nb,x,2\nc,z,1\n")
    np.testing.assert_array_equal(load_labels([p]).codes(), [[0, 0, -1], [1, -1, -1], [-1, -1, 0]])


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


def test_hostile_values_are_refused_naming_the_file_and_field(tmp_path):
    """From fuzzing: a 400-digit time, COCO ids given as lists, boxes of 1e308 px (whose IoU is NaN)."""
    long_time = write(
        tmp_path / "t.jsonl",
        '{"item": "a", "annotator": "x", "label": "1", "time": ' + "1" * 400 + "}\n"
        '{"item": "a", "annotator": "y", "label": "1"}\n',
    )
    with pytest.raises(LabelError, match=r"t\.jsonl:1: field 'time': time must be finite"):
        load_labels([long_time])
    images = [{"id": 1, "file_name": "a.png"}]
    listed = write(tmp_path / "alice.json", coco(images, [{"image_id": [1], "category_id": 1}]))
    other = write(tmp_path / "bruno.json", coco(images, [{"image_id": 1, "category_id": 1}]))
    with pytest.raises(
        LabelError, match=r"alice\.json: field 'image_id': image_id must be an integer or a string"
    ):
        load_labels([listed, other])
    huge = {"image_id": 1, "category_id": 1, "bbox": [0, 0, 1e308, 1e308]}
    write(tmp_path / "alice.json", coco(images, [huge]))
    write(tmp_path / "bruno.json", coco(images, [huge]))
    with pytest.raises(
        LabelError, match=r"field 'bbox': annotation 0: bbox must be \[x, y, w, h\] in pixels"
    ):
        load_labels([tmp_path / "alice.json", tmp_path / "bruno.json"])


def test_too_many_distinct_labels_are_refused_before_the_tables_are_built(tmp_path):
    rows = "".join(f"i{n},x,c{n}\ni{n},y,c{n}\n" for n in range(10_000))
    p = write(tmp_path / "l.csv", "item,annotator,label\n" + rows)
    with pytest.raises(LabelError, match="10000 distinct labels, more than 1000"):
        load_labels([p])
