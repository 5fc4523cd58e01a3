"""The flag an app or operator raises on a frame: its reason kind, its bounded fields and its JSON."""

from __future__ import annotations

import pytest

from camdrift.agent.predictions.flags import NOTE_MAX_BYTES, TEXT_MAX, flag_note, note_from_json, note_json


def test_known_reasons_keep_their_kind_free_text_is_other():
    assert flag_note("false_negative").reason_kind == "false_negative"
    assert flag_note("the belt jammed").reason_kind == "other"


def test_a_correction_needs_the_corrected_label():
    with pytest.raises(ValueError, match="corrected"):
        flag_note("operator_corrected", prediction="scratch")
    assert flag_note("operator_corrected", prediction="scratch", corrected="ok").corrected == "ok"


def test_fields_are_bounded_and_the_json_round_trips():
    note = flag_note("é" * 500, frame_id=7, prediction="p" * 999, corrected="c")
    assert len(note.reason) == len(note.prediction) == TEXT_MAX and note.frame_id == "7"
    raw = note_json(note)
    assert len(raw) <= NOTE_MAX_BYTES and note_from_json(raw) == note


@pytest.mark.parametrize("raw", [b"\xff", b"[1]", b"{}", b"{" * 3000])
def test_bytes_that_are_not_a_note_are_refused(raw):
    with pytest.raises(ValueError):
        note_from_json(raw)


def test_wrong_field_types_are_named():
    with pytest.raises(ValueError, match="frame_id"):
        flag_note("uncertain", frame_id=1.5)
