"""Label Studio "JSON" exports -> classification labels or detection boxes of every annotator in the file.

The export is a list of tasks (https://labelstud.io/guide/export.html#Label-Studio-JSON-format-of-annotated-tasks)::

    [{"id": 7, "data": {"image": "/data/upload/1/ab12-e3__f9.jpg", "item": "e3__f9.jpg"},
      "annotations": [{"id": 31, "completed_by": 2, "was_cancelled": false, "created_at": "2024-...Z",
                       "result": [{"type": "rectanglelabels", "original_width": 1280, "original_height": 960,
                                   "value": {"x": 10.0, "y": 5.0, "width": 2.5, "height": 3.0,
                                             "rotation": 0, "rectanglelabels": ["scratch"]}}]}],
      "predictions": [{"model_version": "v3", "result": [...]}]}]

- item: ``data.item`` (what ``camdrift evidence export --format label-studio`` writes: the exported file
  name), else the base name of ``data.image`` (of its ``?d=`` path for local-storage URLs);
- annotator: ``completed_by``: an integer user id becomes ``user<id>``; an object (exports that include the
  user) gives its ``email``, else ``user<id>``; ``names`` renames them (``--annotator-names 2=ana,...``,
  keyed by id or email);
- cancelled (skipped) annotations are left out: skipping is not a label;
- ``choices`` results are classification labels (one choice per annotation); ``rectanglelabels`` results
  are boxes, converted from percent of ``original_width`` / ``original_height`` to pixels; a rotated box
  becomes its axis-aligned envelope (Label Studio rotates clockwise about the top-left corner, in pixels);
- an annotation with results but neither kind (only text notes, say) labels nothing for classification; for
  detection every non-cancelled annotation counts as labelled, with or without boxes ("no defect here");
- other region types (polygons, brushes, key points, unlabelled rectangles) are refused, never dropped
  silently; results of other tags (text areas, ratings, relations) are ignored;
- ``predictions`` (the model's pre-annotations) are not an annotator; with ``include_predictions`` each
  becomes annotator ``model`` (``model:<model_version>`` when it names its version).

JSON-MIN exports are refused with a hint: they drop ``was_cancelled`` (a skipped task would read as "no
defect") and the result types, which leaves both kinds of label guesswork.
"""

from __future__ import annotations

import json
import math
import posixpath
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

from camdrift.calibration.agreement.coco import MAX_PX
from camdrift.calibration.agreement.records import Annotation, Box, LabelError, read_json

MAX_BYTES = 256 * 2**20  # an export larger than this is refused before it is read (json holds ~10x in memory)
MAX_TASKS = 1_000_000
_REFUSED_TYPES = {
    "rectangle",
    "polygon",
    "polygonlabels",
    "brush",
    "brushlabels",
    "ellipse",
    "ellipselabels",
    "keypoint",
    "keypointlabels",
}


class StudioRead(NamedTuple):
    """One export's labels: kind ("classification", "detection", or "" when nothing was labelled), the
    labels and boxes, and every (item, annotator, where) of a non-cancelled annotation, in file order."""

    kind: str
    labels: list[Annotation]
    boxes: list[Box]
    labelled: list[tuple[str, str, str]]


def looks_like_label_studio(path: Path) -> bool:
    """Whether a .json file holds a list (Label Studio's tasks) rather than an object (COCO): its first byte."""
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError:
        return False  # the reader says why
    return head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n").startswith("[")


def _load(path: Path) -> list:
    try:
        size = path.stat().st_size
    except OSError as e:
        raise LabelError(f"cannot read: {e.strerror}", path) from None
    if size > MAX_BYTES:
        raise LabelError(f"{size} bytes, more than {MAX_BYTES}: split the export", path)
    doc = read_json(path)
    if not isinstance(doc, list):
        raise LabelError("expected a Label Studio JSON export: a list of tasks", path)
    if len(doc) > MAX_TASKS:
        raise LabelError(f"{len(doc)} tasks, more than {MAX_TASKS}: split the export", path)
    return doc


def _text(value: object) -> str | None:
    """A usable name: a non-empty string or an integer (not a boolean), as a string; else None."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _item(data: object, where: str, path: Path) -> str:
    if not isinstance(data, dict):
        raise LabelError(f"{where}: expected an object", path, None, "data")
    item = _text(data.get("item"))
    if item is not None:
        return item
    image = data.get("image")
    if not isinstance(image, str) or not image.strip():
        raise LabelError(f"{where}: no data.item and no data.image to name the image", path, None, "data")
    url = urlsplit(image.strip())
    local = parse_qs(url.query).get("d")  # /data/local-files/?d=folder/name.jpg
    name = posixpath.basename(unquote(local[0] if local else url.path).replace("\\", "/"))
    if not name:
        raise LabelError(f"{where}: data.image {image[:80]!r} names no file", path, None, "data.image")
    return name


def _annotator(who: object, names: Mapping[str, str], where: str, path: Path) -> str:
    """``completed_by`` (an id, or an object with id and email) -> the annotator's name."""
    email = uid = None
    if isinstance(who, dict):
        email, uid = who.get("email"), who.get("id")
        email = email.strip() if isinstance(email, str) and email.strip() else None
        uid = _text(uid)
    elif isinstance(who, str):
        email = who.strip() or None
    else:
        uid = _text(who)
    if email is None and uid is None:
        raise LabelError(f"{where}: expected a user id or a user object", path, None, "completed_by")
    for key in (email, uid):
        if key is not None and key in names:
            return names[key]
    return email if email is not None else f"user{uid}"


def _number(value: dict, key: str, where: str, path: Path, field: str) -> float:
    v = value.get(key)
    # abs() first: an integer of 400 digits compares with MAX_PX exactly but overflows math.isfinite
    if isinstance(v, bool) or not isinstance(v, int | float) or abs(v) > MAX_PX or not math.isfinite(v):
        raise LabelError(f"{where}: expected a finite number, got {json.dumps(v)[:40]}", path, None, field)
    return float(v)


def _one(value: dict, key: str, where: str, path: Path, field: str) -> str:
    """The one label of a ``choices`` / ``rectanglelabels`` list."""
    got = value.get(key)
    labels = [_text(v) for v in got] if isinstance(got, list) else [None]
    if len(labels) != 1 or labels[0] is None:
        raise LabelError(
            f"{where}: expected exactly one label, got {json.dumps(got)[:60]} (multi-label is not supported)",
            path,
            None,
            field,
        )
    return labels[0]


def _box(r: dict, item: str, annotator: str, where: str, path: Path, field: str) -> Box:
    """One ``rectanglelabels`` result -> a Box in pixels (the envelope of a rotated box)."""
    value = r.get("value")
    if not isinstance(value, dict):
        raise LabelError(f"{where}: expected an object", path, None, f"{field}.value")
    size = [_number(r, k, where, path, f"{field}.{k}") for k in ("original_width", "original_height")]
    if min(size) <= 0:
        raise LabelError(
            f"{where}: image size must be > 0 px, got {size}", path, None, f"{field}.original_width"
        )
    pct = [_number(value, k, where, path, f"{field}.value.{k}") for k in ("x", "y", "width", "height")]
    x, y, w, h = (p * size[i % 2] / 100.0 for i, p in enumerate(pct))
    if w < 0 or h < 0:
        raise LabelError(f"{where}: width and height must be >= 0", path, None, f"{field}.value")
    turn = value.get("rotation", 0) or 0
    turn = _number(value, "rotation", where, path, f"{field}.value.rotation") if turn else 0.0
    if turn % 360:
        c, s = math.cos(math.radians(turn)), math.sin(math.radians(turn))
        xs = [x, x + w * c, x - h * s, x + w * c - h * s]
        ys = [y, y + w * s, y + h * c, y + w * s + h * c]
        x, y, w, h = min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)
    if not all(abs(v) <= MAX_PX for v in (x, y, w, h)):
        raise LabelError(f"{where}: box beyond {MAX_PX:g} px", path, None, f"{field}.value")
    label = _one(value, "rectanglelabels", where, path, f"{field}.value.rectanglelabels")
    return Box(item, annotator, label, x, y, w, h, f"{path}:{where}:{field}")


def _time(value: object, where: str, path: Path, field: str) -> float | None:
    """``created_at`` (ISO-8601; naive read as UTC) -> POSIX seconds, None when absent."""
    if value is None or value == "":
        return None
    try:
        stamp = datetime.fromisoformat(str(value)[:64])
    except ValueError:
        raise LabelError(
            f"{where}: expected an ISO-8601 time, got {str(value)[:40]!r}", path, None, field
        ) from None
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()


def _results(results: object, item: str, annotator: str, where: str, path: Path, field: str):
    """An annotation's ``result`` list -> (choices, boxes); region types it cannot compare are refused."""
    if not isinstance(results, list):
        raise LabelError(f"{where}: expected a list", path, None, f"{field}.result")
    choices: list[str] = []
    boxes: list[Box] = []
    for k, r in enumerate(results):
        f = f"{field}.result[{k}]"
        if not isinstance(r, dict):
            raise LabelError(f"{where}: expected an object", path, None, f)
        kind = r.get("type")
        if kind == "choices":
            value = r.get("value")
            if not isinstance(value, dict):
                raise LabelError(f"{where}: expected an object", path, None, f"{f}.value")
            choices.append(_one(value, "choices", where, path, f"{f}.value.choices"))
        elif kind == "rectanglelabels":
            boxes.append(_box(r, item, annotator, where, path, f))
        elif isinstance(kind, str) and kind.lower() in _REFUSED_TYPES:
            raise LabelError(
                f"{where}: {kind} regions are not supported (boxes with a label: rectanglelabels)",
                path,
                None,
                f,
            )
    return choices, boxes


def _entries(task: dict, names: Mapping[str, str], predictions: bool, where: str, path: Path) -> list:
    """(annotator, results, time, field) of each non-cancelled annotation, then of each prediction if asked."""
    out = []
    anns = task.get("annotations")
    if not isinstance(anns, list):
        raise LabelError(f"{where}: expected a list", path, None, "annotations")
    for i, a in enumerate(anns):
        field = f"annotations[{i}]"
        if not isinstance(a, dict):
            raise LabelError(f"{where}: expected an object", path, None, field)
        if a.get("was_cancelled") is True:
            continue
        who = _annotator(a.get("completed_by"), names, where, path)
        time = _time(a.get("created_at"), where, path, f"{field}.created_at")
        out.append((who, a.get("result"), time, field))
    preds = task.get("predictions") or []
    if not predictions:
        return out
    if not isinstance(preds, list):
        raise LabelError(f"{where}: expected a list", path, None, "predictions")
    for i, p in enumerate(preds):
        field = f"predictions[{i}]"
        if not isinstance(p, dict):
            raise LabelError(f"{where}: expected an object (export complete predictions)", path, None, field)
        version = _text(p.get("model_version"))
        out.append(("model" if version is None else f"model:{version}", p.get("result"), None, field))
    return out


def read_label_studio(
    path: Path, names: Mapping[str, str] | None = None, include_predictions: bool = False
) -> StudioRead:
    """One Label Studio JSON export, every annotator -> :class:`StudioRead` (see the module docstring).

    names: annotator renames, keyed by user id (as text) or email. Raises :class:`LabelError` naming the file,
    the task (index and id) and the field for anything it cannot use.
    """
    names = names or {}
    labels: list[Annotation] = []
    boxes: list[Box] = []
    labelled: list[tuple[str, str, str]] = []
    first: dict[str, str] = {}  # kind -> the first task holding it, to name both in a clash
    for t, task in enumerate(_load(path)):
        if not isinstance(task, dict):
            raise LabelError(f"task {t}: expected an object", path)
        tid = _text(task.get("id"))
        where = f"task {t}" + ("" if tid is None else f" (id {tid[:40]})")
        if "annotations" not in task:
            if "annotator" in task or "annotation_id" in task:
                raise LabelError(f"{where}: this is a JSON-MIN export; export 'JSON' from Label Studio", path)
            raise LabelError(
                f"{where}: no annotations (a Label Studio JSON export?)", path, None, "annotations"
            )
        item = _item(task.get("data"), where, path)
        for who, results, time, field in _entries(task, names, include_predictions, where, path):
            choices, bxs = _results(results, item, who, where, path, field)
            source = f"{path}:{where}:{field}"
            if len(choices) > 1:
                raise LabelError(
                    f"{where}: {who!r} gave {len(choices)} choices; one class per image", path, None, field
                )
            labelled.append((item, who, source))
            if choices:
                labels.append(Annotation(item, who, choices[0], time, source))
                first.setdefault("classification", where)
            if bxs:
                boxes += bxs
                first.setdefault("detection", where)
    if len(first) > 1:
        raise LabelError(
            f"{first['classification']} holds classification labels but {first['detection']} holds boxes "
            "(one kind per agreement study)",
            path,
        )
    return StudioRead(next(iter(first), ""), labels, boxes, labelled)
