"""The CVAT export is "CVAT for images 1.1" XML as CVAT documents it (docs.cvat.ai, XML annotation format):
only documented elements and attributes, boxes and tags marked ``source="auto"``, ids in lexical name order."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import pytest

from camdrift.calibration.evidence.cvat import write_cvat
from camdrift.calibration.evidence.items import IMAGES, copy_images, read_items
from camdrift.calibration.evidence.select import spool_records
from tests.calibration.evidence.spools import T0, unknown_label_spool

# The documented structure: element -> (its allowed children, its allowed attributes, the required ones).
_SHAPE = {"label", "source", "occluded", "z_order"}
DOCUMENTED = {
    "annotations": ({"version", "meta", "image"}, set(), set()),
    "version": (set(), set(), set()),
    "meta": ({"task", "dumped"}, set(), set()),
    "task": (
        {"id", "name", "size", "mode", "overlap", "bugtracker", "flipped", "created", "updated", "labels"}
        | {"segments", "owner", "original_size"},
        set(),
        set(),
    ),
    "labels": ({"label"}, set(), set()),
    "label": ({"name", "attributes", "type"}, set(), set()),
    "attributes": ({"attribute"}, set(), set()),
    "image": (
        {"box", "polygon", "polyline", "points", "tag"},
        {"id", "name", "width", "height"},
        {"id", "name", "width", "height"},
    ),
    "box": ({"attribute"}, _SHAPE | {"xtl", "ytl", "xbr", "ybr"}, {"label", "xtl", "ytl", "xbr", "ybr"}),
    "tag": ({"attribute"}, {"label", "source"}, {"label"}),
}
_LEAVES = {"id", "name", "size", "mode", "overlap", "bugtracker", "flipped", "created", "updated", "dumped"}
_ATTRIBUTE_SPEC = {"name", "mutable", "input_type", "default_value", "values"}


def check_documented(el: ET.Element, parent: str = "") -> None:
    """Raises AssertionError at the first element or attribute the CVAT 1.1 documentation does not have."""
    if el.tag == "attribute" and parent in ("box", "tag"):  # a shape's attribute value
        assert set(el.attrib) == {"name"} and len(el) == 0, ET.tostring(el)
        return
    if el.tag == "attribute":  # a label's attribute spec
        assert {c.tag for c in el} <= _ATTRIBUTE_SPEC and not el.attrib, ET.tostring(el)
        return
    if el.tag in _LEAVES or (el.tag == "name" and parent in ("label", "attribute")):
        assert len(el) == 0 and not el.attrib, el.tag
        return
    children, allowed, required = DOCUMENTED[el.tag]
    assert {c.tag for c in el} <= children, (el.tag, {c.tag for c in el} - children)
    assert required <= set(el.attrib) <= allowed | required, (el.tag, el.attrib)
    for child in el:
        check_documented(child, el.tag)


def _export(spool: Path, out: Path) -> tuple[list, ET.Element]:
    items = read_items(spool, spool_records(spool))
    copy_images(items, out / IMAGES)
    return items, ET.parse(write_cvat(items, out, T0)).getroot()


@pytest.mark.parametrize("spool", ["classifier", "detector"])
def test_the_xml_has_only_documented_elements_and_attributes(spool: str, request, tmp_path: Path) -> None:
    items, root = _export(request.getfixturevalue(spool), tmp_path)
    check_documented(root)
    assert root.findtext("version") == "1.1" and root.findtext("meta/task/mode") == "annotation"
    assert int(root.findtext("meta/task/size")) == len(root.findall("image")) == len(items)
    images = root.findall("image")
    assert [i.get("name") for i in images] == sorted(it.item for it in items)  # id: index in lexical order
    assert [int(i.get("id")) for i in images] == list(range(len(images)))
    for image in images:
        pixels = cv2.imread(str(tmp_path / IMAGES / image.get("name")))
        assert pixels.shape[:2] == (int(image.get("height")), int(image.get("width")))


@pytest.mark.parametrize("spool", ["classifier", "detector"])
def test_every_label_used_is_declared_with_a_score_attribute(spool: str, request, tmp_path: Path) -> None:
    _, root = _export(request.getfixturevalue(spool), tmp_path)
    declared = {lab.findtext("name"): lab for lab in root.iterfind("meta/task/labels/label")}
    for shape in [*root.iter("box"), *root.iter("tag")]:
        assert shape.get("source") == "auto"  # a prediction, not a person's label
        (attr,) = shape.findall("attribute")
        spec = declared[shape.get("label")].find("attributes/attribute")
        assert attr.get("name") == spec.findtext("name") == "score" and spec.findtext("input_type") == "text"
        assert 0 <= float(attr.text) <= 1


def test_classifications_are_tags_and_frames_without_outputs_are_empty(
    classifier: Path, tmp_path: Path
) -> None:
    _, root = _export(classifier, tmp_path)
    by_name = {i.get("name"): i for i in root.findall("image")}
    (tag,) = by_name["ep-focus-f36000__frame_00.jpg"].findall("tag")
    assert tag.get("label") == "dent" and float(tag.find("attribute").text) == pytest.approx(0.8)
    assert len(by_name["ep-light-f6000__frame_01.jpg"]) == 0
    assert not list(root.iter("box"))


def test_detections_are_boxes_in_corner_pixels(detector: Path, tmp_path: Path) -> None:
    _, root = _export(detector, tmp_path)
    boxes = root.findall("image[@name='ep-glare-f0__frame_00.jpg']/box")
    corners = [[float(b.get(k)) for k in ("xtl", "ytl", "xbr", "ybr")] for b in boxes]
    assert corners == [[10, 20, 110, 70], [200, 100, 240, 180.5]]
    assert [b.get("label") for b in boxes] == ["scratch", "dent"]
    assert [b.get("occluded") for b in boxes] == ["0", "0"]
    (unnamed,) = root.findall("image/box[@label='class_2']")
    assert unnamed.find("attribute").text == "0.5"


def test_the_checker_refuses_what_cvat_does_not_document(detector: Path, tmp_path: Path) -> None:
    _, root = _export(detector, tmp_path)
    root.find("image").set("episode", "ep-glare")  # per-image metadata: not in CVAT for images
    with pytest.raises(AssertionError):
        check_documented(root)
    del root.find("image").attrib["episode"]
    root.find("image/box").remove(root.find("image/box/attribute"))
    root.find("image/box").append(ET.Element("note"))
    with pytest.raises(AssertionError):
        check_documented(root)


def test_a_corrected_label_the_model_does_not_know_is_declared(tmp_path: Path) -> None:
    _, root = _export(unknown_label_spool(tmp_path / "spool"), tmp_path / "out")
    check_documented(root)
    declared = [lab.findtext("name") for lab in root.iterfind("meta/task/labels/label")]
    assert {"crack", "chip"} <= set(declared) and len(declared) == len(set(declared))
