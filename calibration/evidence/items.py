"""Spool records and their ``decision.json`` as typed rows, one per exported image: :class:`ExportItem`.

An episode capture gives one item per ``frame_NN.jpg``, a flag one item. Each item's export name is
``<evidence_id>__<frame stem>.jpg`` (:func:`item_name`): the file name under ``OUTDIR/images/`` and the id a
labelling tool's export carries back to ``camdrift agreement`` and ``camdrift evidence curate``.

Spools of evidence version 1 (no model outputs, no class names) read too: their items have no outputs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from camdrift.agent.files import atomic_write_bytes
from camdrift.agent.output.evidence import EvidenceRecord
from camdrift.agent.predictions.flags import FlagNote
from camdrift.agent.predictions.outputs import ModelOutputs, outputs_from_json

FRAME = re.compile(r"^frame_(\d+)\.jpg$")
IMAGES = "images"  # OUTDIR/images/: every exported image, under its export name
CONTEXT_FILE = "items.jsonl"  # OUTDIR/items.jsonl: one line of context per exported image, in every format
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


class ExportError(ValueError):
    """Evidence that cannot be exported (a missing spool, an unknown episode, an unreadable file); the message
    names the culprit."""


@dataclass(frozen=True)
class ExportItem:
    """One exported image: a frame of a capture and what the spool knows about it.

    item: the export name ``<evidence_id>__<frame stem>.jpg``; image: the JPEG in the spool; width, height: its
    size in pixels (read from the JPEG header); kind: "episode" or "flag"; created_at: Unix seconds;
    episode_id, cause, baseline_id, reason (a flag's reason text), reason_kind (one of the flag reasons or
    "other"), prediction (the app's label name on a flag), corrected (an operator's label): "" when none;
    outputs: the model's outputs of this frame (None when the app handed none over); class_names: the model's
    names by class index (empty: unnamed, see :meth:`class_name`).
    """

    item: str
    image: Path
    width: int
    height: int
    evidence_id: str
    kind: str
    camera_id: str
    frame_index: int
    created_at: float
    baseline_id: str
    episode_id: str
    cause: str
    reason: str
    reason_kind: str
    prediction: str
    corrected: str
    outputs: ModelOutputs | None
    class_names: tuple[str, ...]
    frame_id: str = ""
    cause_code: str = ""

    def class_name(self, index: int) -> str:
        """The model's name of class ``index``, ``class_<index>`` when the spool names none."""
        return self.class_names[index] if 0 <= index < len(self.class_names) else f"class_{index}"

    @property
    def predicted_class(self) -> str:
        """The model's class of the frame: a classifier's label, a detector's most confident box ("" if none)."""
        o = self.outputs
        if o is None:
            return ""
        if o.kind == "classification":
            return self.class_name(o.label)
        if o.n_detections == 0:
            return ""
        return self.class_name(int(o.classes[int(o.scores.argmax())]))

    @property
    def label_class(self) -> str:
        """The class to train on: the operator's correction, else the model's class, else the app's
        prediction text ("" when none of them is known)."""
        return self.corrected or self.predicted_class or self.prediction

    def used_names(self) -> list[str]:
        """The class names this item's outputs use (the model's vocabulary first)."""
        o = self.outputs
        if o is None:
            return []
        used = [o.label] if o.kind == "classification" else [int(c) for c in o.classes]
        return [self.class_name(i) for i in used]

    def meta(self) -> dict[str, Any]:
        """The item's context as JSON-ready values (None where the spool has none; created_at ISO-8601 UTC)."""
        return {
            "item": self.item,
            "evidence_id": self.evidence_id,
            "kind": self.kind,
            "camera_id": self.camera_id,
            "frame_index": self.frame_index,
            "created_at": iso_time(self.created_at),
            "baseline_id": self.baseline_id or None,
            "episode_id": self.episode_id or None,
            "cause": self.cause or None,
            "reason": self.reason or None,
            "reason_kind": self.reason_kind or None,
            "prediction": self.prediction or None,
            "corrected": self.corrected or None,
            "predicted_class": self.predicted_class or None,
            "frame_id": self.frame_id or None,
            "cause_code": self.cause_code or None,
        }


def item_name(evidence_id: str, frame_file: str) -> str:
    """``<evidence_id>__<frame stem>.jpg``: the exported image's file name and id."""
    return f"{evidence_id}__{Path(frame_file).stem}.jpg"


def iso_time(t: float) -> str:
    """Unix seconds -> ISO-8601 UTC to the second."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def jpeg_size(path: Path) -> tuple[int, int]:
    """(width, height) in pixels from a JPEG's start-of-frame header, without decoding the image."""
    data = path.read_bytes()
    if data[:2] != b"\xff\xd8":
        raise ExportError(f"{path}: not a JPEG file")
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ExportError(f"{path}: broken JPEG header at byte {i}")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD9:  # markers without a length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in _SOF and i + 9 <= len(data):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return int(width), int(height)
        i += 2 + length
    raise ExportError(f"{path}: JPEG without a frame header")


def _decision(path: Path) -> dict[str, Any]:
    """A capture's decision.json ({} when a version 1 capture has none)."""
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportError(f"{path}: cannot read: {exc}") from None
    if not isinstance(doc, dict):
        raise ExportError(f"{path}: expected a JSON object")
    return doc


def _text(doc: Mapping[str, Any], key: str) -> str:
    value = doc.get(key)
    return "" if value is None else str(value)


def _outputs(doc: Mapping[str, Any], index: int, path: Path) -> ModelOutputs | None:
    per_frame = doc.get("outputs")
    if not isinstance(per_frame, list) or index >= len(per_frame) or per_frame[index] is None:
        return None
    entry = per_frame[index]
    try:
        if not isinstance(entry, dict):
            raise ValueError("expected an object or null")
        return outputs_from_json(entry)
    except ValueError as exc:
        raise ExportError(f"{path}: outputs[{index}]: {exc}") from None


def _first_cause_code(doc: Mapping[str, Any]) -> str:
    """An episode decision's top cause code ("" if none): captures before ``cause_code`` was recorded."""
    causes = doc.get("causes")
    first = causes[0] if isinstance(causes, list) and causes else None
    return _text(first, "code") if isinstance(first, dict) else ""


def record_items(root: Path, record: EvidenceRecord) -> list[ExportItem]:
    """The items of one capture in spool ``root``, in frame order."""
    folder = root / record.evidence_id
    decision_path = folder / "decision.json"
    doc = _decision(decision_path)
    context = doc.get("context") if isinstance(doc.get("context"), dict) else {}
    names = doc.get("class_names") if isinstance(doc.get("class_names"), list) else []
    reason = _text(doc, "reason") or (record.reason or "")
    reason_kind = _text(doc, "reason_kind") or (FlagNote(reason).reason_kind if reason else "")
    frames = sorted((int(m.group(1)), f) for f in record.files if (m := FRAME.match(f)))
    out = []
    for index, name in frames:
        image = folder / name
        if not image.is_file():
            raise ExportError(f"{image}: listed in the manifest but missing")
        width, height = jpeg_size(image)
        out.append(
            ExportItem(
                item=item_name(record.evidence_id, name),
                image=image,
                width=width,
                height=height,
                evidence_id=record.evidence_id,
                kind=record.kind,
                camera_id=record.camera_id,
                frame_index=record.frame_index,
                created_at=record.created_at,
                baseline_id=record.baseline_id or _text(context, "baseline_id"),
                episode_id=record.episode_id or _text(context, "episode_id"),
                cause=record.cause or _text(context, "cause"),
                reason=reason if record.kind == "flag" else "",
                reason_kind=reason_kind if record.kind == "flag" else "",
                prediction=_text(doc, "prediction"),
                corrected=_text(doc, "corrected"),
                outputs=_outputs(doc, index, decision_path),
                class_names=tuple(str(n) for n in names),
                frame_id=_text(doc, "frame_id"),
                cause_code=_text(context, "cause_code") or _first_cause_code(doc),
            )
        )
    return out


def read_items(root: Path, records: Iterable[EvidenceRecord]) -> list[ExportItem]:
    """Every exported image of ``records`` (captures of spool ``root``), in record then frame order."""
    return [item for r in records for item in record_items(root, r)]


def category_names(items: Sequence[ExportItem], extra: Iterable[str] = ()) -> list[str]:
    """Every class name the items' model knows or uses, then ``extra``, once each in order of appearance."""
    names: dict[str, None] = {}
    for it in items:
        names.update(dict.fromkeys([*it.class_names, *it.used_names()]))
    names.update(dict.fromkeys(n for n in extra if n))
    return list(names)


def label_names(items: Sequence[ExportItem]) -> list[str]:
    """The labels an annotator may need: :func:`category_names`, then the operators' corrected labels and the
    app's prediction names (a corrected label the model does not know is still a label to draw)."""
    return category_names(items, [label for it in items for label in (it.corrected, it.prediction)])


def copy_images(items: Sequence[ExportItem], folder: Path) -> Path:
    """Copies each item's JPEG to ``folder/<item>``; returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for it in items:
        shutil.copyfile(it.image, folder / it.item)
    return folder


@contextmanager
def copies_undone(items: Sequence[ExportItem], folder: Path) -> Iterator[None]:
    """Around :func:`copy_images` of ``items`` into ``folder`` and what is written with them: on an OSError (disk
    full, say), the images of ``items`` that were not in ``folder`` before go, and ``folder`` itself when that
    leaves it empty; the error propagates."""
    before = set(os.listdir(folder)) if folder.is_dir() else set()
    try:
        yield
    except OSError:
        for name in {it.item for it in items} - before:
            (folder / name).unlink(missing_ok=True)
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        raise


def write_json(path: Path, doc: object) -> Path:
    """``doc`` as indented UTF-8 JSON, written atomically."""
    atomic_write_bytes(path, json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8"))
    return path


def write_context(items: Sequence[ExportItem], outdir: Path) -> Path:
    """OUTDIR/items.jsonl: :meth:`ExportItem.meta` of each item, one JSON line each."""
    lines = "".join(json.dumps(it.meta(), ensure_ascii=False) + "\n" for it in items)
    path = outdir / CONTEXT_FILE
    atomic_write_bytes(path, lines.encode("utf-8"))
    return path
