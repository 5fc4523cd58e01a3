"""``--format coco``: ``OUTDIR/annotations.json`` in the COCO object-detection format, images in ``OUTDIR/images/``.

- ``images``: one per exported image; ``file_name`` is the export name ``<evidence_id>__<frame stem>.jpg``
  (relative to ``images/``; also under ``item``), ``width``/``height`` in pixels, ``date_captured`` ISO-8601
  UTC, plus the capture's context: ``evidence_id``, ``kind``, ``camera_id``, ``frame_index``, ``baseline_id``,
  ``episode_id``, ``cause``, ``reason``, ``reason_kind``, ``prediction`` (the app's label on a flag),
  ``corrected`` (an operator's label), ``predicted_class`` (null where none).
- ``annotations``: the model's predictions, never ground truth. Each carries ``score`` (as in COCO's results
  format) and ``attributes: {"source": "prediction", ...}``.

  - a detection: ``bbox`` ``[x, y, w, h]`` pixels, ``area`` ``w * h``, ``segmentation`` the box's polygon (what
    pycocotools' ``loadRes`` makes of a box result), ``iscrowd`` 0, ``attributes.target`` ``"box"``.
  - a classification: COCO has no image-level label, so it is an annotation without ``bbox``: empty
    ``segmentation``, ``area`` 0, the predicted class as ``category_id``, its confidence as ``score``,
    ``attributes.target`` ``"image"``. This is the convention ``camdrift agreement`` reads COCO labels with (an
    annotation without ``bbox`` labels its whole image).
- ``categories``: every class name the model knows or uses (``class_<i>`` when the spool has no names), then
  every operator's corrected label and app prediction name the model does not know (an annotator labels with
  them), ids from 1 in order of first appearance; the corrected label also stays on its image.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from camdrift.calibration.evidence.items import ExportItem, iso_time, label_names, write_json

ANNOTATIONS = "annotations.json"


def _annotations(item: ExportItem, image_id: int, cat: dict[str, int], next_id: int) -> list[dict[str, Any]]:
    """The model's predictions on one image as COCO annotations, ids from ``next_id``."""
    o = item.outputs
    if o is None:
        return []
    if o.kind == "classification":
        return [
            {
                "id": next_id,
                "image_id": image_id,
                "category_id": cat[item.class_name(o.label)],
                "segmentation": [],
                "area": 0.0,
                "iscrowd": 0,
                "score": round(float(o.confidence), 6),
                "attributes": {"source": "prediction", "target": "image"},
            }
        ]
    out = []
    for k in range(o.n_detections):
        x, y, w, h = (round(float(v), 3) for v in o.boxes[k])
        out.append(
            {
                "id": next_id + k,
                "image_id": image_id,
                "category_id": cat[item.class_name(int(o.classes[k]))],
                "bbox": [x, y, w, h],
                "area": round(w * h, 3),
                "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]],
                "iscrowd": 0,
                "score": round(float(o.scores[k]), 6),
                "attributes": {"source": "prediction", "target": "box"},
            }
        )
    return out


def coco_document(items: Sequence[ExportItem], created_at: float) -> dict[str, Any]:
    """The COCO document of ``items`` (``created_at``: Unix seconds of the export)."""
    names = label_names(items)
    cat = {name: i for i, name in enumerate(names, 1)}
    images, annotations = [], []
    for image_id, it in enumerate(items, 1):
        images.append(
            {
                "id": image_id,
                "file_name": it.item,
                "width": it.width,
                "height": it.height,
                "license": 1,
                "date_captured": iso_time(it.created_at),
                **it.meta(),
            }
        )
        annotations += _annotations(it, image_id, cat, len(annotations) + 1)
    return {
        "info": {
            "description": "camdrift evidence: captured frames with the model's predictions (not ground truth)",
            "version": "1",
            "year": int(time.gmtime(created_at).tm_year),
            "contributor": "camdrift",
            "url": "",
            "date_created": iso_time(created_at),
        },
        "licenses": [{"id": 1, "name": "internal: frames captured on the line", "url": ""}],
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i, "name": name, "supercategory": ""} for name, i in cat.items()],
    }


def write_coco(items: Sequence[ExportItem], outdir: Path, created_at: float) -> Path:
    """Writes ``outdir/annotations.json`` (the images are copied by the caller)."""
    return write_json(outdir / ANNOTATIONS, coco_document(items, created_at))
