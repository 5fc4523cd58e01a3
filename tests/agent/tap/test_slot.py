"""The parts of a tap slot after the image: model outputs and the flag's note travel with their frame, and a
slot whose outputs do not check is counted, never delivered."""

from __future__ import annotations

import numpy as np
import pytest

from camdrift.agent.predictions.outputs import classification, detection
from camdrift.agent.tap import FrameTap, TapReader
from camdrift.agent.tap.layout import FRAME, S_OUT_KIND, SLOT_WORDS
from camdrift.agent.tap.slot import SlotExtras


def test_outputs_ride_with_the_frame_the_agent_asked_for(name):
    image = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    acts = np.linspace(0, 1, 7, dtype=np.float32)
    with FrameTap(name) as tap, TapReader(name) as reader:
        assert reader.read(0.01) is None  # the request
        assert tap.offer(image, ts=3.0, activations=acts, outputs={"probs": [0.2, 0.7, 0.1]})
        frame = reader.read(0.05)
    assert frame.outputs.kind == "classification" and frame.outputs.label == 1
    assert frame.outputs.confidence == pytest.approx(0.7)
    np.testing.assert_array_equal(frame.activations, acts)
    np.testing.assert_array_equal(frame.image, image)
    assert frame.flag is None


def test_detections_and_a_full_note_ride_with_a_flag(name):
    boxes = np.array([[10, 20, 30, 40], [0, 0, 5.5, 6.5]], np.float32)
    with FrameTap(name, pixel_format="gray8") as tap, TapReader(name) as reader:
        tap.flag(
            np.zeros((8, 8), np.uint8),
            "operator_corrected",
            frame_id=1234,
            prediction="scratch",
            corrected="ok",
            outputs=detection(boxes, [2, 0], [0.9, 0.35]),
        )
        frame = reader.read(0.05)
    assert frame.flag.reason == "operator_corrected" and frame.flag.reason_kind == "operator_corrected"
    assert (frame.flag.frame_id, frame.flag.prediction, frame.flag.corrected) == ("1234", "scratch", "ok")
    np.testing.assert_array_equal(frame.outputs.boxes, boxes)
    assert frame.outputs.classes.tolist() == [2, 0] and frame.outputs.n_detections == 2


def test_the_app_hears_at_once_of_outputs_it_got_wrong(name):
    with FrameTap(name) as tap, TapReader(name) as reader:
        reader.read(0.01)
        with pytest.raises(ValueError, match="probs"):
            tap.offer(np.zeros((4, 4, 3), np.uint8), outputs={"probs": [0.9, 0.9]})
        with pytest.raises(ValueError, match="corrected"):
            tap.flag(np.zeros((4, 4, 3), np.uint8), "operator_corrected")
        with pytest.raises(TypeError, match="ts must be a number of seconds, got str"):
            tap.flag(np.zeros((4, 4, 3), np.uint8), "uncertain", ts="now")
        with pytest.raises(ValueError, match="ts must be a finite number"):
            tap.flag(np.zeros((4, 4, 3), np.uint8), "uncertain", ts=float("nan"))


def test_a_slot_with_outputs_that_do_not_check_is_counted_not_delivered(name):
    with FrameTap(name) as tap, TapReader(name) as reader:
        reader.read(0.01)
        tap.offer(np.zeros((4, 4, 3), np.uint8), outputs=classification(label=1, confidence=0.5))
        tap._seg.words[SLOT_WORDS[FRAME] + S_OUT_KIND] = 1  # now claims probs: its 1 entry is too few
        assert reader.read(0.05) is None
        assert reader.counters.rejected["corrupt_header"] == 1


def test_extras_bounds_are_checked_before_any_copy():
    assert SlotExtras(0, 1, 10**9, 0).need(100) is None  # a class count beyond MAX_CLASSES
    assert SlotExtras(0, 0, 0, 10**6).need(100) is None  # a note beyond its bound
    assert (
        SlotExtras(3, 2, 1, 10).need(100) == 256 + 10
    )  # image 100 -> acts at 128, outputs at 192, note at 256
