"""The model's outputs for one frame, as the app hands them over: :class:`ModelOutputs`.

Two kinds. A classifier gives either its class probabilities ``probs`` (K,) or only the predicted class and its
confidence; a detector gives boxes (N, 4) ``x, y, w, h`` in frame pixels, their classes (N,) and scores (N,).
:func:`model_outputs` turns what an app passes (a record, a dict, arrays) into a checked record or raises
``ValueError`` naming the field. :func:`pack` / :func:`unpack` move a record through the tap as one float32
block; :func:`outputs_json` / :func:`outputs_from_json` through evidence files.

Sizes are bounded before any work: at most :data:`MAX_CLASSES` classes and :data:`MAX_DETECTIONS` boxes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

import numpy as np

MAX_CLASSES = 4096
MAX_DETECTIONS = 4096
MAX_COORD = float(1 << 16)  # px: no frame is wider (the baseline's own bound on sizes)
KEYS = frozenset({"probs", "label", "confidence", "boxes", "classes", "scores"})
KIND_NONE, KIND_PROBS, KIND_LABEL, KIND_DETECTIONS = 0, 1, 2, 3  # the tap's outputs-kind word


class ModelOutputs(NamedTuple):
    """One frame's model outputs.

    kind: "classification" or "detection".
    label: predicted class index (classification; argmax of ``probs`` when they are given), -1 for detection.
    confidence: the predicted class's probability in [0, 1] (classification), NaN for detection.
    probs: (K,) float32 class probabilities, or None when the app gave only label and confidence.
    boxes: (N, 4) float32 x, y, w, h in frame pixels; classes: (N,) int64; scores: (N,) float32 in [0, 1]
        (detection; empty arrays for a classifier).
    """

    kind: Literal["classification", "detection"]
    label: int
    confidence: float
    probs: np.ndarray | None
    boxes: np.ndarray
    classes: np.ndarray
    scores: np.ndarray

    @property
    def n_detections(self) -> int:
        return int(self.classes.shape[0])


_NO_BOXES = np.zeros((0, 4), np.float32)
_NO_CLASSES = np.zeros(0, np.int64)
_NO_SCORES = np.zeros(0, np.float32)


def classification(
    probs: np.ndarray | None = None, *, label: int | None = None, confidence: float | None = None
) -> ModelOutputs:
    """A classifier's outputs: ``probs`` (K,) probabilities (they must sum to 1 within 1 %), or ``label`` and
    ``confidence`` alone. ValueError names the field that is wrong."""
    if probs is not None:
        p = _numbers(probs, "outputs.probs")
        if p.ndim > 1 and int(np.prod(p.shape[:-1])) != 1:
            raise ValueError(f"outputs.probs must be one frame's (K,) probabilities, got shape {p.shape}")
        p = p.reshape(-1)
        if not 2 <= p.size <= MAX_CLASSES:
            raise ValueError(f"outputs.probs must hold 2..{MAX_CLASSES} class probabilities, got {p.size}")
        if not np.all(np.isfinite(p)) or p.min() < 0 or abs(p.sum() - 1.0) > 0.01:
            raise ValueError("outputs.probs must be finite, >= 0 and sum to 1 (apply a softmax first)")
        top = int(np.argmax(p))
        if label is not None and int(label) != top:
            raise ValueError(f"outputs.label {label} is not the most probable class of probs ({top})")
        return ModelOutputs("classification", top, float(p[top]), p.astype(np.float32), *_empty())
    if label is None or confidence is None:
        raise ValueError("outputs of a classifier need probs, or label and confidence")
    if isinstance(label, bool) or not isinstance(label, int | np.integer) or not 0 <= label < MAX_CLASSES:
        raise ValueError(f"outputs.label must be a class index in 0..{MAX_CLASSES - 1}, got {label!r}")
    c = float(_numbers(confidence, "outputs.confidence").reshape(-1)[0]) if np.size(confidence) == 1 else -1.0
    if not 0.0 <= c <= 1.0:
        raise ValueError(f"outputs.confidence must be in [0, 1], got {confidence!r}")
    return ModelOutputs("classification", int(label), c, None, *_empty())


def detection(boxes: np.ndarray, classes: np.ndarray, scores: np.ndarray) -> ModelOutputs:
    """A detector's outputs: ``boxes`` (N, 4) x, y, w, h pixels, ``classes`` (N,) indices, ``scores`` (N,)."""
    b = _numbers(boxes, "outputs.boxes")
    if b.size and (b.ndim != 2 or b.shape[1] != 4):
        raise ValueError(f"outputs.boxes must be (N, 4) x, y, w, h in pixels, got shape {b.shape}")
    b = b.reshape(-1, 4)
    c = _numbers(classes, "outputs.classes").reshape(-1)
    s = _numbers(scores, "outputs.scores").reshape(-1)
    n = b.shape[0]
    if n > MAX_DETECTIONS:
        raise ValueError(f"outputs.boxes: at most {MAX_DETECTIONS} detections per frame, got {n}")
    if c.size != n or s.size != n:
        raise ValueError(f"outputs: {n} boxes but {c.size} classes and {s.size} scores")
    if n and (not np.all(np.isfinite(b)) or b[:, 2:].min() < 0 or np.abs(b).max() > MAX_COORD):
        raise ValueError(f"outputs.boxes must be x, y, w, h pixels within +-{MAX_COORD:.0f}, with w, h >= 0")
    if n and (not np.all(np.isfinite(s)) or s.min() < 0 or s.max() > 1):
        raise ValueError("outputs.scores must be in [0, 1]")
    if n and (
        not np.all(np.isfinite(c)) or np.any(np.mod(c, 1) != 0) or c.min() < 0 or c.max() >= MAX_CLASSES
    ):
        raise ValueError(f"outputs.classes must be class indices in 0..{MAX_CLASSES - 1}")
    return ModelOutputs(
        "detection", -1, math.nan, None, b.astype(np.float32), c.astype(np.int64), s.astype(np.float32)
    )


def _numbers(value: object, name: str) -> np.ndarray:
    """``value`` as a float64 array; ValueError naming ``name`` for anything that is not numbers, or more than
    16 * :data:`MAX_DETECTIONS` of them."""
    if isinstance(value, str | bytes | bool):
        raise ValueError(f"{name} must be numbers, got {type(value).__name__}")
    try:
        a = np.asarray(value)
        if a.dtype.kind not in "iufO":  # True/False, text: not probabilities, scores or pixels
            raise ValueError
        a = a.astype(np.float64, copy=False)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be numbers (a list or an array), got {str(value)[:40]!r}") from None
    if a.size > 16 * max(MAX_DETECTIONS, MAX_CLASSES):  # far beyond any frame: refused before the copy
        raise ValueError(f"{name}: {a.size} values is more than any frame's outputs")
    return a


def _empty() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _NO_BOXES, _NO_CLASSES, _NO_SCORES


def model_outputs(value: object) -> ModelOutputs:
    """A checked :class:`ModelOutputs` from what an app passes: a record (checked again), or a mapping with
    ``probs``, or ``label`` and ``confidence``, or ``boxes``, ``classes`` and ``scores``."""
    if isinstance(value, ModelOutputs):
        if value.kind == "detection":
            return detection(value.boxes, value.classes, value.scores)
        if value.probs is not None:
            return classification(value.probs)
        return classification(label=value.label, confidence=value.confidence)
    if not isinstance(value, Mapping):
        raise ValueError(f"outputs must be a ModelOutputs or a mapping, got {type(value).__name__}")
    unknown = sorted(str(k)[:40] for k in value if k not in KEYS)
    if unknown:  # a misspelt key would otherwise be dropped in silence ("score" for "scores")
        raise ValueError(f"outputs: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(KEYS))})")
    if "boxes" in value:
        return detection(value["boxes"], value.get("classes", ()), value.get("scores", ()))
    return classification(value.get("probs"), label=value.get("label"), confidence=value.get("confidence"))


# --- through the tap: one float32 block -----------------------------------------------------------------------


def pack(outputs: ModelOutputs) -> tuple[int, int, np.ndarray]:
    """(kind word, count, float32 block) of a record: probs (K,); [label, confidence]; or (N, 6) rows of
    x, y, w, h, class, score."""
    if outputs.kind == "detection":
        rows = np.column_stack([outputs.boxes, outputs.classes, outputs.scores]).astype(np.float32)
        return KIND_DETECTIONS, outputs.n_detections, rows.reshape(-1)
    if outputs.probs is not None:
        return KIND_PROBS, int(outputs.probs.size), np.asarray(outputs.probs, np.float32)
    return KIND_LABEL, 1, np.array([outputs.label, outputs.confidence], np.float32)


def block_floats(kind: int, count: int) -> int:
    """float32 values of the block of ``kind`` with ``count`` entries (-1 for an unknown kind or count)."""
    if kind == KIND_PROBS and 2 <= count <= MAX_CLASSES:
        return count
    if kind == KIND_LABEL and count == 1:
        return 2
    if kind == KIND_DETECTIONS and 0 <= count <= MAX_DETECTIONS:
        return 6 * count
    return -1


def unpack(kind: int, count: int, block: np.ndarray) -> ModelOutputs:
    """Inverse of :func:`pack`; ValueError for a block that does not check (the reader counts it)."""
    if kind == KIND_PROBS:
        return classification(block)
    if kind == KIND_LABEL:
        label = float(block[0])
        if not math.isfinite(label) or label != int(label):
            raise ValueError("outputs.label is not a class index")
        return classification(label=int(label), confidence=float(block[1]))
    if kind == KIND_DETECTIONS:
        rows = np.asarray(block, np.float64).reshape(count, 6)
        return detection(rows[:, :4], rows[:, 4], rows[:, 5])
    raise ValueError(f"unknown outputs kind {kind}")


# --- through evidence files: JSON ----------------------------------------------------------------------------


def outputs_json(outputs: ModelOutputs) -> dict[str, Any]:
    """The record as JSON-ready values (floats rounded to 6 digits)."""
    if outputs.kind == "detection":
        return {
            "kind": "detection",
            "boxes": np.round(outputs.boxes.astype(np.float64), 3).tolist(),
            "classes": outputs.classes.tolist(),
            "scores": np.round(outputs.scores.astype(np.float64), 6).tolist(),
        }
    return {
        "kind": "classification",
        "label": outputs.label,
        "confidence": round(outputs.confidence, 6),
        "probs": None if outputs.probs is None else np.round(outputs.probs.astype(np.float64), 6).tolist(),
    }


def outputs_from_json(doc: Mapping[str, Any]) -> ModelOutputs:
    """Inverse of :func:`outputs_json` (ValueError for a document that does not check)."""
    if doc.get("kind") == "detection":
        return detection(doc.get("boxes", []), doc.get("classes", []), doc.get("scores", []))
    if doc.get("kind") != "classification":
        raise ValueError(f"outputs.kind must be classification or detection, got {doc.get('kind')!r}")
    if doc.get("probs") is not None:
        return classification(doc["probs"])
    return classification(label=doc.get("label"), confidence=doc.get("confidence"))


__all__ = [
    "MAX_CLASSES",
    "MAX_DETECTIONS",
    "ModelOutputs",
    "block_floats",
    "classification",
    "detection",
    "model_outputs",
    "outputs_from_json",
    "outputs_json",
    "pack",
    "unpack",
]
