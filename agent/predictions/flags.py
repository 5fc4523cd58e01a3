"""A flag on one frame: the app or an operator says the model got it wrong (or may have): :class:`FlagNote`.

The reason is one of :data:`REASONS` or free text; the note may carry the app's own frame id, the model's
prediction and, when an operator corrected it, the corrected label. Through the tap it travels as bounded
UTF-8 JSON (:func:`note_json`, :func:`note_from_json`); strings are cut to :data:`TEXT_MAX` characters.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

REASONS = ("false_positive", "false_negative", "uncertain", "operator_corrected")
TEXT_MAX = 200
NOTE_MAX_BYTES = 2048  # the JSON of a note through the tap, bounded before it is parsed


class FlagNote(NamedTuple):
    """reason: one of :data:`REASONS`, or free text (then :attr:`reason_kind` is ``"other"``); frame_id: the
    app's id of the frame ("" if none); prediction: the model's predicted label as the app names it ("" if
    none); corrected: the label an operator gave instead ("" if none)."""

    reason: str
    frame_id: str = ""
    prediction: str = ""
    corrected: str = ""

    @property
    def reason_kind(self) -> str:
        return self.reason if self.reason in REASONS else "other"


def _text(value: object, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"flag {name} must be a str or an int, got {type(value).__name__}")
    return str(value)[:TEXT_MAX]


def flag_note(
    reason: str, frame_id: object = None, prediction: object = None, corrected: object = None
) -> FlagNote:
    """A checked note; ValueError names the field that is wrong. ``operator_corrected`` needs ``corrected``."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError(f"flag reason must be a non-empty str, got {reason!r}")
    note = FlagNote(
        reason.strip()[:TEXT_MAX],
        _text(frame_id, "frame_id"),
        _text(prediction, "prediction"),
        _text(corrected, "corrected"),
    )
    if note.reason == "operator_corrected" and not note.corrected:
        raise ValueError("flag reason operator_corrected needs the corrected label (corrected=...)")
    return note


def note_json(note: FlagNote) -> bytes:
    """The note as compact UTF-8 JSON (at most :data:`NOTE_MAX_BYTES`: every field is bounded)."""
    raw = json.dumps(note._asdict(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if (
        len(raw) > NOTE_MAX_BYTES
    ):  # 4 fields of 200 characters of up to 4 bytes each cannot get here, but say so
        raise ValueError(f"flag note is {len(raw)} bytes, more than {NOTE_MAX_BYTES}")
    return raw


def note_from_json(raw: bytes) -> FlagNote:
    """Inverse of :func:`note_json`; ValueError for bytes that are not a note."""
    if len(raw) > NOTE_MAX_BYTES:
        raise ValueError(f"flag note of {len(raw)} bytes is longer than {NOTE_MAX_BYTES}")
    try:
        doc: Any = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"flag note is not UTF-8 JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ValueError("flag note must be a JSON object")
    return flag_note(doc.get("reason", ""), doc.get("frame_id"), doc.get("prediction"), doc.get("corrected"))


__all__ = ["NOTE_MAX_BYTES", "REASONS", "FlagNote", "flag_note", "note_from_json", "note_json"]
