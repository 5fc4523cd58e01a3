"""The optional model-outputs group of a baseline (:class:`OutputReference`): what the model said on the
reference frames, and the thresholds of the statistics the engine watches on its live outputs.

Stored as the header entry ``outputs`` (scalars, names) and arrays ``out.<field>``; a baseline without them loads
with ``outputs=None`` and hashes exactly as before. :func:`check_outputs` is the loader's validation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from camdrift.agent.reference.validate import (
    MAX_DIM,
    ContentError,
    array,
    integer,
    number,
    strings,
    text,
    thresholds,
)

CLASSIFICATION_STATISTICS = ("out.class_mix", "out.confidence", "out.uncertain")
DETECTION_STATISTICS = (*CLASSIFICATION_STATISTICS, "out.detections")
KINDS = ("classification", "detection")
_ARRAYS = ("class_counts", "frame_mean", "null_sd", "drift", "warn", "null_scale")


@dataclass(frozen=True)
class OutputReference:
    """The reference's own outputs and the output group's thresholds, frozen at calibration.

    kind: "classification" or "detection"; class_names: (K,) names by class index ("class_<i>" when the app
    named none); window: frames per sliding window (the pixel window's); alpha: PSI pseudo-count; sample_count:
    reference frames with outputs; uncertain_below: a prediction (a detection) with confidence (score) below it
    is uncertain.
    class_counts: (K + 1,) float64 reference predicted-class counts (detections: detected classes), the last
    entry for classes beyond K; frame_mean: (3,) float64 reference means of the per-frame values [confidence
    (detections: mean score), uncertain share, detections per frame]; null_sd: (3,) float64 bootstrap sd of a
    window's mean of each, widened by the uncertainty of its own estimate.
    names: the watched statistics (:data:`CLASSIFICATION_STATISTICS` or :data:`DETECTION_STATISTICS`);
    drift, warn, null_scale: (n,) thresholds of their scores (``out.class_mix``: PSI in nats; the others: |z|
    or, for ``out.uncertain``, the one-sided rise z, in window-mean sds) and their bootstrap mean chi values.
    budget, level, notes: provenance. mix_window: frames the class mix is judged over, >= window (0: the window;
    baselines written before it had none): the product mix comes in runs, so a class mix needs more frames
    than the window's means to hold as many independent ones.
    """

    kind: str
    class_names: tuple[str, ...]
    window: int
    alpha: float
    sample_count: int
    uncertain_below: float
    class_counts: np.ndarray
    frame_mean: np.ndarray
    null_sd: np.ndarray
    drift: np.ndarray
    warn: np.ndarray
    null_scale: np.ndarray
    names: tuple[str, ...] = CLASSIFICATION_STATISTICS
    budget: str = ""
    level: float = 0.0
    notes: tuple[str, ...] = ()
    mix_window: int = 0

    @property
    def class_window(self) -> int:
        """Frames of the class-mix window (:attr:`mix_window`, or :attr:`window` when it is 0)."""
        return max(int(self.window), int(self.mix_window))

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def class_share(self) -> np.ndarray:
        """(K + 1,) reference share of each class (the last: classes beyond K)."""
        total = float(self.class_counts.sum())
        return self.class_counts / total if total > 0 else self.class_counts

    def class_name(self, index: int) -> str:
        return self.class_names[index] if 0 <= index < self.n_classes else "other"


def to_parts(o: OutputReference) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(header entry, arrays ``out.<field>``) of an output reference."""
    header = {f.name: getattr(o, f.name) for f in dataclasses.fields(o) if f.name not in _ARRAYS}
    for key in ("class_names", "names", "notes"):
        header[key] = list(header[key])
    arrays = {f"out.{name}": np.ascontiguousarray(getattr(o, name), dtype=np.float64) for name in _ARRAYS}
    return header, arrays


def from_parts(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> OutputReference:
    """Inverse of :func:`to_parts` (after :func:`check_outputs`)."""
    fields = dict(header)
    for key in ("class_names", "names", "notes"):
        fields[key] = tuple(fields.get(key, ()))
    for name in _ARRAYS:
        fields[name] = arrays[f"out.{name}"]
    return OutputReference(**fields)


def check_outputs(out: Any, arrays: dict[str, np.ndarray]) -> None:
    """The output group: kind, class names, sizes, and the arrays' shapes and ranges (ContentError)."""
    if not isinstance(out, dict):
        raise ContentError(f"outputs must be a table, got {str(out)[:80]}")
    if out.get("kind") not in KINDS:
        raise ContentError(f"outputs.kind must be one of {', '.join(KINDS)}, got {out.get('kind')!r}")
    names = strings(out, "class_names")
    if not 1 <= len(names) <= MAX_DIM:
        raise ContentError(f"outputs.class_names must name 1..{MAX_DIM} classes, got {len(names)}")
    text(out, "budget")
    window = integer(out, "window", 1, 10**7)
    if "mix_window" in out and 0 < integer(out, "mix_window", 0, 10**7) < window:
        raise ContentError(
            f"outputs.mix_window must be 0 or >= outputs.window ({window}), got {out['mix_window']}"
        )
    integer(out, "sample_count", 1)
    number(out, "alpha", lo=0.0, lo_open=True)
    if not 0.0 < number(out, "uncertain_below", lo=0.0, lo_open=True) <= 1.0:
        raise ContentError(f"outputs.uncertain_below must be in (0, 1], got {out['uncertain_below']!r}")
    want = CLASSIFICATION_STATISTICS if out["kind"] == "classification" else DETECTION_STATISTICS
    if tuple(strings(out, "names")) != want:
        raise ContentError(f"outputs.names must be {list(want)}, got {out.get('names')!r}")
    array(arrays, "out.class_counts", (len(names) + 1,), lo=0.0)
    array(arrays, "out.frame_mean", (3,), lo=0.0)
    sd = array(arrays, "out.null_sd", (3,), lo=0.0)
    if (sd[: len(want) - 1] <= 0).any():
        raise ContentError("array out.null_sd must be > 0 for every watched statistic")
    thresholds({"names": list(want)}, arrays, prefix="out")


__all__ = [
    "CLASSIFICATION_STATISTICS",
    "DETECTION_STATISTICS",
    "OutputReference",
    "check_outputs",
    "from_parts",
    "to_parts",
]
