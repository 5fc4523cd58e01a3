"""``--format label-studio``: ``OUTDIR/tasks.json`` (Label Studio's JSON import with pre-annotations) and
``OUTDIR/label_config.xml`` (the labelling interface the tasks' results refer to); images in ``OUTDIR/images/``.

Each task: ``data.image`` is the image's URL, ``--image-url`` followed by the export name (default
``/data/local-files/?d=images/``: Label Studio's local-files storage with its document root at OUTDIR);
``data.item`` is the export name and the other ``data`` keys the capture's context (Label Studio shows them as
columns: episode, cause, flag reason, corrected label). ``predictions`` holds the model's outputs as one
pre-annotation: ``model_version`` (the capture's baseline id: the agent does not know the model's own
version; ``"unknown"`` without one), ``score`` (a classifier's confidence; the mean box score of a detector,
none without boxes) and ``result``:

- a classification: one ``choices`` result from ``class`` to ``image``;
- a detection: one ``rectanglelabels`` result from ``label`` to ``image`` per box, ``x, y, width, height`` in
  percent of ``original_width`` x ``original_height`` (pixels), with the box's ``score``.

A frame without outputs has no predictions. The config holds the controls the tasks need: ``Choices`` named
``class`` and/or ``RectangleLabels`` named ``label`` over every class name (with operators' corrected labels
among the choices); with neither outputs nor names, a ``Choices`` of the flags' labels, else a ``TextArea``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from camdrift.agent.files import atomic_write_bytes
from camdrift.calibration.evidence.items import ExportItem, label_names, write_json

TASKS = "tasks.json"
CONFIG = "label_config.xml"
IMAGE_URL = "/data/local-files/?d=images/"
TO_NAME = "image"
CHOICES = "class"  # from_name of classification results
RECTANGLES = "label"  # from_name of detection results


def _result(item: ExportItem, task: int) -> tuple[list[dict[str, Any]], float | None]:
    """(result items, prediction score) of one item's outputs."""
    o = item.outputs
    if o is None:
        return [], None
    if o.kind == "classification":
        choice = {
            "id": f"t{task}r0",
            "type": "choices",
            "from_name": CHOICES,
            "to_name": TO_NAME,
            "value": {"choices": [item.class_name(o.label)]},
            "score": round(float(o.confidence), 6),
        }
        return [choice], round(float(o.confidence), 6)
    w, h = float(item.width), float(item.height)
    results = []
    for k in range(o.n_detections):
        bx, by, bw, bh = (float(v) for v in o.boxes[k])
        results.append(
            {
                "id": f"t{task}r{k}",
                "type": "rectanglelabels",
                "from_name": RECTANGLES,
                "to_name": TO_NAME,
                "original_width": item.width,
                "original_height": item.height,
                "image_rotation": 0,
                "value": {
                    "x": round(100.0 * bx / w, 4),
                    "y": round(100.0 * by / h, 4),
                    "width": round(100.0 * bw / w, 4),
                    "height": round(100.0 * bh / h, 4),
                    "rotation": 0,
                    "rectanglelabels": [item.class_name(int(o.classes[k]))],
                },
                "score": round(float(o.scores[k]), 6),
            }
        )
    score = round(float(o.scores.mean()), 6) if o.n_detections else None
    return results, score


def task(item: ExportItem, index: int, image_url: str = IMAGE_URL) -> dict[str, Any]:
    """The Label Studio task of one item (``index``: its position, which makes the result ids unique)."""
    results, score = _result(item, index)
    predictions = []
    if item.outputs is not None:
        prediction: dict[str, Any] = {"model_version": item.baseline_id or "unknown", "result": results}
        if score is not None:
            prediction["score"] = score
        predictions.append(prediction)
    return {"data": {"image": image_url + item.item, **item.meta()}, "predictions": predictions}


def label_config(items: Sequence[ExportItem]) -> str:
    """The labelling interface (XML) whose control names match the tasks' ``from_name``/``to_name``."""
    view = ET.Element("View")
    ET.SubElement(view, "Image", name=TO_NAME, value="$image")
    kinds = {it.outputs.kind for it in items if it.outputs is not None}
    names = label_names(items)
    if "classification" in kinds or (not kinds and names):
        choices = ET.SubElement(view, "Choices", name=CHOICES, toName=TO_NAME, choice="single")
        for name in names:
            ET.SubElement(choices, "Choice", value=name)
    if "detection" in kinds:
        rect = ET.SubElement(view, "RectangleLabels", name=RECTANGLES, toName=TO_NAME)
        for name in names:
            ET.SubElement(rect, "Label", value=name)
    if not kinds and not names:
        ET.SubElement(view, "TextArea", name=CHOICES, toName=TO_NAME, placeholder="label")
    ET.indent(view)
    return ET.tostring(view, encoding="unicode") + "\n"


def write_label_studio(
    items: Sequence[ExportItem], outdir: Path, image_url: str = IMAGE_URL
) -> tuple[Path, Path]:
    """Writes ``outdir/tasks.json`` and ``outdir/label_config.xml`` (the images are copied by the caller)."""
    tasks = write_json(outdir / TASKS, [task(it, i, image_url) for i, it in enumerate(items)])
    config = outdir / CONFIG
    atomic_write_bytes(config, label_config(items).encode("utf-8"))
    return tasks, config
