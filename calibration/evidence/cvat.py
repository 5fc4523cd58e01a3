"""``--format cvat``: ``OUTDIR/annotations.xml`` in "CVAT for images 1.1", images in ``OUTDIR/images/``.

Structure (CVAT's documented XML annotation format, version 1.1, annotation mode)::

    <annotations>
      <version>1.1</version>
      <meta><task> id, name, size, mode=annotation, overlap, bugtracker, flipped, created, updated,
                   labels/label(name, attributes/attribute(name, mutable, input_type, default_value, values))
            </task><dumped/></meta>
      <image id name width height>   id: index in lexical order of the names; name: the export name
        <box label xtl ytl xbr ybr occluded z_order source="auto"><attribute name="score">..</attribute></box>
        <tag label source="auto"><attribute name="score">..</attribute></tag>
      </image>
    </annotations>

The model's predictions are marked ``source="auto"`` (what CVAT writes for automatic annotation). A detection
is a ``box`` (corner coordinates in pixels); a classification is a ``tag`` (CVAT's image-level label). Each
carries its score as the label attribute ``score``: a ``text`` attribute, since CVAT's ``number`` attributes
hold integers only. CVAT for images has no per-image metadata, so the capture's context (episode, cause, flag
reason, corrected label) is in ``OUTDIR/items.jsonl``, keyed by the same image name.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from camdrift.agent.files import atomic_write_bytes
from camdrift.calibration.evidence.items import ExportItem, iso_time, label_names

ANNOTATIONS = "annotations.xml"
SCORE = "score"


def _text(parent: ET.Element, tag: str, text: object = "") -> ET.Element:
    el = ET.SubElement(parent, tag)
    el.text = str(text)
    return el


def _meta(root: ET.Element, names: Sequence[str], size: int, created_at: float) -> None:
    meta = ET.SubElement(root, "meta")
    task = ET.SubElement(meta, "task")
    when = iso_time(created_at)
    for tag, value in (
        ("id", 0),
        ("name", "camdrift evidence"),
        ("size", size),
        ("mode", "annotation"),
        ("overlap", 0),
        ("bugtracker", ""),
        ("flipped", "False"),
        ("created", when),
        ("updated", when),
    ):
        _text(task, tag, value)
    labels = ET.SubElement(task, "labels")
    for name in names:
        label = ET.SubElement(labels, "label")
        _text(label, "name", name)
        attribute = ET.SubElement(ET.SubElement(label, "attributes"), "attribute")
        for tag, value in (
            ("name", SCORE),
            ("mutable", "False"),
            ("input_type", "text"),
            ("default_value", ""),
            ("values", ""),
        ):
            _text(attribute, tag, value)
    _text(meta, "dumped", when)


def _shapes(image: ET.Element, item: ExportItem) -> None:
    o = item.outputs
    if o is None:
        return
    if o.kind == "classification":
        tag = ET.SubElement(image, "tag", label=item.class_name(o.label), source="auto")
        _text(tag, "attribute", f"{o.confidence:.6g}").set("name", SCORE)
        return
    for k in range(o.n_detections):
        x, y, w, h = (float(v) for v in o.boxes[k])
        box = ET.SubElement(
            image,
            "box",
            label=item.class_name(int(o.classes[k])),
            source="auto",
            occluded="0",
            xtl=f"{x:.2f}",
            ytl=f"{y:.2f}",
            xbr=f"{x + w:.2f}",
            ybr=f"{y + h:.2f}",
            z_order="0",
        )
        _text(box, "attribute", f"{float(o.scores[k]):.6g}").set("name", SCORE)


def cvat_document(items: Sequence[ExportItem], created_at: float) -> ET.Element:
    """The ``<annotations>`` element of ``items`` (``created_at``: Unix seconds of the export)."""
    root = ET.Element("annotations")
    _text(root, "version", "1.1")
    _meta(root, label_names(items), len(items), created_at)
    for image_id, it in enumerate(sorted(items, key=lambda i: i.item)):
        image = ET.SubElement(
            root, "image", id=str(image_id), name=it.item, width=str(it.width), height=str(it.height)
        )
        _shapes(image, it)
    return root


def write_cvat(items: Sequence[ExportItem], outdir: Path, created_at: float) -> Path:
    """Writes ``outdir/annotations.xml`` (the images are copied by the caller)."""
    root = cvat_document(items, created_at)
    ET.indent(root)
    path = outdir / ANNOTATIONS
    atomic_write_bytes(path, ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n")
    return path
