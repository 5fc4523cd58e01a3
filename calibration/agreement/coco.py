"""COCO label files, one per annotator -> classification labels or detection boxes.

An image is identified by its ``file_name`` (ids differ between tools), or by its ``id`` when it has no file
name. ``annotations`` without ``bbox`` are classification labels (one per image); with ``bbox`` ``[x, y, w, h]``
(pixels) they are detections, and every image listed in ``images`` counts as labelled by that annotator, even
with no box ("no defect here" is a label). A label is the category's ``name`` (else its id as a string).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from camdrift.calibration.agreement.records import Annotation, Box, LabelError, read_json

MAX_PX = 1e7  # a box coordinate or size beyond this many pixels is not a real image's


def _id(value: object, path: Path, what: str) -> int | str:
    """A COCO id: an integer or a string (a list, an object or a float cannot name an image or category)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise LabelError(
            f"{what} must be an integer or a string, got {json.dumps(value)[:60]}", path, None, what
        )
    return value


def _coco_list(doc: dict, key: str, path: Path, required: bool = True) -> list:
    value = doc.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise LabelError("expected a list", path, None, key)
    for i, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise LabelError(f"entry {i} is not an object", path, None, key)
    return value


def read_coco(path: Path, annotator: str) -> tuple[str, list[str], list[Annotation], list[Box]]:
    """One annotator's COCO file -> (kind, listed images, classification labels, boxes)."""
    doc = read_json(path)
    if not isinstance(doc, dict) or ("images" not in doc and "annotations" not in doc):
        keys = f" (its keys: {', '.join(sorted(map(str, doc))[:5])})" if isinstance(doc, dict) and doc else ""
        raise LabelError(
            "neither a COCO object with 'images' and 'annotations' nor a Label Studio JSON export (a list of "
            f"tasks){keys}",
            path,
        )
    images = _coco_list(doc, "images", path)
    anns = _coco_list(doc, "annotations", path)
    cats = _coco_list(doc, "categories", path, required=False)
    item_of: dict[object, str] = {}
    for i, img in enumerate(images):
        if "id" not in img:
            raise LabelError(f"image {i} has no 'id'", path, None, "images")
        name = img.get("file_name")
        image_id = _id(img["id"], path, "images.id")
        item_of[image_id] = str(name) if name not in (None, "") else str(image_id)
    cat_name = {_id(c.get("id"), path, "categories.id"): str(c.get("name", c.get("id"))) for c in cats}
    has_box = [("bbox" in a) for a in anns]
    if any(has_box) and not all(has_box):
        raise LabelError(
            "mixes annotations with and without 'bbox' (classification or detection, not both)", path
        )
    kind = "detection" if any(has_box) else "classification"
    labels: list[Annotation] = []
    boxes: list[Box] = []
    for i, a in enumerate(anns):
        where = f"{path}:annotations[{i}]"
        if _id(a.get("image_id"), path, "image_id") not in item_of:
            raise LabelError(
                f"annotation {i}: image_id {a.get('image_id')!r} is not in 'images'", path, None, "image_id"
            )
        if "category_id" not in a:
            raise LabelError(f"annotation {i} has no 'category_id'", path, None, "category_id")
        cid = _id(a["category_id"], path, "category_id")
        label = cat_name.get(cid, str(cid))
        item = item_of[a["image_id"]]
        if kind == "classification":
            labels.append(Annotation(item, annotator, label, None, where))
            continue
        bb = a["bbox"]
        ok = isinstance(bb, list) and len(bb) == 4
        ok = ok and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and abs(v) <= MAX_PX
            for v in bb
        )
        if not ok or bb[2] < 0 or bb[3] < 0:
            raise LabelError(
                f"annotation {i}: bbox must be [x, y, w, h] in pixels (|v| <= {MAX_PX:g}), w,h >= 0; "
                f"got {str(bb)[:80]}",
                path,
                None,
                "bbox",
            )
        boxes.append(Box(item, annotator, label, *(float(v) for v in bb), where))
    # Every listed image; for detection they are all labelled (with or without boxes). A file without
    # annotations has no kind of its own, so the caller decides once it has seen every file.
    return kind, list(dict.fromkeys(item_of.values())), labels, boxes
