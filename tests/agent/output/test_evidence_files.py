"""The files of a capture: decision.json carries its version, one outputs entry per frame and the context;
frames and thumbnails are written as images OpenCV reads back."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from camdrift.agent.output.evidence_files import (
    EVIDENCE_VERSION,
    CaptureContext,
    model_part,
    write_decision,
    write_jpeg,
    write_thumbnail,
)
from camdrift.agent.predictions.outputs import classification


def test_one_outputs_entry_per_frame_null_where_none():
    frames = [np.zeros((4, 4, 3), np.uint8)] * 3
    part = model_part(frames, [classification([0.2, 0.8])], CaptureContext("b", class_names=("a", "b")))
    assert [o is None for o in part["outputs"]] == [False, True, True]
    assert part["class_names"] == ["a", "b"] and part["context"]["episode_id"] is None


def test_decision_json_is_versioned_and_numpy_values_are_plain(tmp_path: Path):
    write_decision(tmp_path, {"score": np.float64(1.5), "groups": ("a", "b"), "counts": np.arange(3)})
    doc = json.loads((tmp_path / "decision.json").read_text())
    assert doc == {"version": EVIDENCE_VERSION, "score": 1.5, "groups": ["a", "b"], "counts": [0, 1, 2]}
    with pytest.raises(TypeError, match="cannot write object"):
        write_decision(tmp_path, {"x": object()})


def test_frames_and_thumbnails_read_back(tmp_path: Path, photo: np.ndarray):
    write_jpeg(tmp_path, "frame_00.jpg", photo)
    assert cv2.imread(str(tmp_path / "frame_00.jpg")).shape == photo.shape
    write_thumbnail(tmp_path, "t.png", np.full((8, 8), 300.0))  # clipped to 255, scaled x4
    assert cv2.imread(str(tmp_path / "t.png"), cv2.IMREAD_GRAYSCALE).tolist() == [[255] * 32] * 32
