"""The files of one evidence capture: JPEG frames, thumbnail PNGs, ``decision.json`` (see
:mod:`camdrift.agent.output.evidence` for the layout). Each writer writes atomically into a capture's folder and
returns the file's name."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from camdrift.agent.files import atomic_write_bytes
from camdrift.agent.predictions.outputs import ModelOutputs, outputs_json

EVIDENCE_VERSION = 2  # of the manifest lines and decision.json


class CaptureContext(NamedTuple):
    """What the agent knew when it captured: the baseline id, the open episode ("" if none) and its top cause
    ("" if none), the statistics in drift, the model's class names (index -> name; empty: unnamed), and the top
    cause's code (``lighting``, ``model_outputs``, ...: what groups captures of one kind)."""

    baseline_id: str = ""
    episode_id: str = ""
    cause: str = ""
    in_drift: tuple[str, ...] = ()
    class_names: tuple[str, ...] = ()
    cause_code: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "baseline_id": self.baseline_id,
            "episode_id": self.episode_id or None,
            "cause": self.cause or None,
            "cause_code": self.cause_code or None,
            "in_drift": list(self.in_drift),
        }


NO_CONTEXT = CaptureContext()


class WindowPicture(NamedTuple):
    """What an episode capture keeps of the drifted window besides its frames: named histograms (plain arrays,
    saved as histograms.npz) and the reference's and the window's mean luma thumbnails (th, tw) DN8, or None."""

    histograms: Mapping[str, np.ndarray]
    reference_thumbnail: np.ndarray | None
    window_thumbnail: np.ndarray | None


def model_part(
    frames: Sequence[np.ndarray], outputs: Sequence[ModelOutputs | None], context: CaptureContext
) -> dict[str, object]:
    """decision.json's model entries: one outputs entry per frame (null where none), names, context."""
    per_frame = [None if o is None else outputs_json(o) for o in outputs][: len(frames)]
    per_frame += [None] * (len(frames) - len(per_frame))
    return {"outputs": per_frame, "class_names": list(context.class_names), "context": context.as_json()}


def write_decision(d: Path, decision: Mapping[str, object]) -> str:
    doc = {"version": EVIDENCE_VERSION, **decision}
    atomic_write_bytes(d / "decision.json", json.dumps(doc, indent=2, default=_jsonable).encode())
    return "decision.json"


def write_jpeg(d: Path, name: str, frame: np.ndarray) -> str:
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise ValueError(f"cannot encode evidence frame of shape {frame.shape} as JPEG")
    atomic_write_bytes(d / name, buf.tobytes())
    return name


def write_thumbnail(d: Path, name: str, thumb: np.ndarray, scale: int = 4) -> str:
    img = np.clip(np.asarray(thumb, np.float32), 0, 255).astype(np.uint8)
    img = cv2.resize(img, (img.shape[1] * scale, img.shape[0] * scale), interpolation=cv2.INTER_NEAREST)
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise ValueError(f"cannot encode thumbnail of shape {thumb.shape} as PNG")
    atomic_write_bytes(d / name, buf.tobytes())
    return name


def _jsonable(value: object) -> object:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} into decision.json")
