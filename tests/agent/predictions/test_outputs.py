"""Model outputs as the app hands them over: checked with the culprit named, and the same record after the tap's
float32 block and after evidence JSON."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from camdrift.agent.predictions.outputs import (
    MAX_DETECTIONS,
    classification,
    detection,
    model_outputs,
    outputs_from_json,
    outputs_json,
    pack,
    unpack,
)


def test_probabilities_give_the_predicted_class_and_its_confidence():
    out = model_outputs({"probs": [0.1, 0.6, 0.3]})
    assert (out.kind, out.label) == ("classification", 1) and out.confidence == pytest.approx(0.6)
    assert out.n_detections == 0


@pytest.mark.parametrize(
    ("value", "culprit"),
    [
        ({"probs": [0.5, 0.6]}, "sum to 1"),
        ({"probs": [1.0]}, "2.."),
        ({"probs": [0.5, 0.5], "label": 1}, "most probable"),
        ({"label": 2}, "label and confidence"),
        ({"label": -1, "confidence": 0.5}, "outputs.label"),
        ({"label": 1, "confidence": 1.5}, "outputs.confidence"),
        ({"boxes": [[0, 0, 1, 1]], "classes": [0, 1], "scores": [0.5]}, "1 boxes but 2 classes"),
        ({"boxes": [[0, 0, -1, 1]], "classes": [0], "scores": [0.5]}, "w, h >= 0"),
        ({"boxes": [[0, 0, 1, 1]], "classes": [0.5], "scores": [0.5]}, "outputs.classes"),
        ({"boxes": [[0, 0, 1, 1]], "classes": [0], "scores": [2.0]}, "outputs.scores"),
        ("cat", "mapping"),
        ({"probs": "abc"}, "outputs.probs must be numbers"),
        ({"probs": [[0.5, 0.5], [0.2, 0.8]]}, r"one frame's \(K,\) probabilities, got shape \(2, 2\)"),
        ({"label": 1, "confidence": "high"}, "outputs.confidence must be numbers"),
        (
            {"boxes": [[1, 2, 3]], "classes": [0], "scores": [0.5]},
            r"\(N, 4\) x, y, w, h in pixels, got shape",
        ),
        ({"boxes": [[1, 2, 3, 4]], "classes": ["dent"], "scores": [0.5]}, "outputs.classes must be numbers"),
        ({"probs": [True, False]}, "outputs.probs must be numbers"),
        ({"probs": ["0.5", "0.5"]}, "outputs.probs must be numbers"),
        ({"label": 1, "confidence": True}, "outputs.confidence must be numbers"),
        ({"boxes": [[0, 0, 1, 1]], "classes": [0], "scores": [True]}, "outputs.scores must be numbers"),
        ({"boxes": [[1e30, 0, 1, 1]], "classes": [0], "scores": [0.5]}, r"within \+-65536"),
        ({"boxes": [[0, 0, 1, 1]], "classes": [0], "score": [0.5]}, "unknown key.*score .*known:.*scores"),
        ({"prob": [0.5, 0.5]}, "unknown key.*prob "),
    ],
)
def test_wrong_outputs_name_their_field(value, culprit):
    with pytest.raises(ValueError, match=culprit):
        model_outputs(value)


def test_too_many_detections_are_refused_before_work():
    n = MAX_DETECTIONS + 1
    with pytest.raises(ValueError, match="at most"):
        detection(np.zeros((n, 4)), np.zeros(n), np.zeros(n))


probs = st.lists(st.floats(0.01, 1.0), min_size=2, max_size=12).map(lambda v: np.array(v) / np.sum(v))
boxes = st.integers(0, 20).flatmap(
    lambda n: st.tuples(
        st.lists(st.lists(st.floats(0, 2000, width=32), min_size=4, max_size=4), min_size=n, max_size=n),
        st.lists(st.integers(0, 80), min_size=n, max_size=n),
        st.lists(st.floats(0, 1, width=32), min_size=n, max_size=n),
    )
)


@given(probs)
def test_a_classifier_survives_the_tap_and_the_evidence_file(p):
    out = classification(p)
    for back in (unpack(*pack(out)), outputs_from_json(outputs_json(out))):
        assert back.label == out.label and back.confidence == pytest.approx(out.confidence, abs=1e-6)
        np.testing.assert_allclose(back.probs, out.probs, atol=1e-6)


@given(boxes)
def test_a_detector_survives_the_tap_and_the_evidence_file(parts):
    out = detection(*parts)
    back = unpack(*pack(out))
    np.testing.assert_array_equal(back.boxes, out.boxes)
    np.testing.assert_array_equal(back.classes, out.classes)
    np.testing.assert_array_equal(back.scores, out.scores)
    again = outputs_from_json(outputs_json(out))
    assert again.n_detections == out.n_detections and math.isnan(again.confidence)


def test_label_and_confidence_alone_survive():
    out = classification(label=3, confidence=0.25)
    assert unpack(*pack(out))[:3] == ("classification", 3, 0.25)
    assert outputs_from_json(outputs_json(out)).probs is None


def test_a_batch_of_one_is_one_frame():
    assert model_outputs({"probs": np.array([[0.1, 0.9]], np.float32)}).label == 1  # a model's (1, K) output
