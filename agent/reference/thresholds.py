"""A baseline's decision thresholds (:class:`Thresholds`) and how they sit in the baseline file: scalars and
plain words in the header's ``thresholds`` object, the (n,) arrays as entries ``thresholds.<name>``."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

ARRAYS = ("drift", "warn", "null_scale")
# Recorded since issue #14; left out of the header at their "not recorded" defaults (older files are unchanged).
_OPTIONAL_FIELDS = {"n_eff": 0.0, "widening": 1.0, "min_frames": 0, "forced": []}
_ANY = object()  # equal to no header value: the other fields are always written


@dataclass(frozen=True)
class Thresholds:
    """Calibrated decision thresholds for every monitored statistic, with their provenance.

    names: ``psi.<group>``, ``shift.<scalar>``, ``grid.sharpness``, ``displacement``; drift / warn: (n,) float64
        thresholds on each score (PSI nats, |z|, displacement px); warn doubles as the lower exit threshold.
    null_scale: (n,) the bootstrap mean of each statistic's chi-like value (PSI, z^2, px^2) under no drift.
    method: ``bootstrap-tail`` (scaled chi-square fitted to the bootstrap max-statistic; ``chi2`` in old files);
    window: sliding-window length (frames); fps: analysis rate (frames / s) the budget is counted in.
    budget: plain words, e.g. ``one per 30 days at 5 fps``; run_length: target frames between false alarms;
        level: the per-test exceedance probability that run length implies.
    cusum_k, cusum_h, bucket_seconds: CUSUM allowance and threshold (bucket-mean null sds), its bucket (s).
    n_replicates, block_length, seed: bootstrap settings; notes: free remarks (the tail fit, the widening, floors);
    n_eff: effectively independent windows in the reference (median over scalars); widening: median chi-scale
        factor for the reference's own uncertainty (>= 1); min_frames: the reference minimum for that footage;
        forced: what ``calibrate --force`` overrode (plain words). Absent from older files (defaults 0, 1, 0, ()).
    """

    names: tuple[str, ...]
    drift: np.ndarray
    warn: np.ndarray
    null_scale: np.ndarray
    method: str
    window: int
    fps: float
    budget: str
    run_length: float
    level: float
    cusum_k: float
    cusum_h: float
    bucket_seconds: float
    n_replicates: int
    block_length: int
    seed: int
    notes: tuple[str, ...] = ()
    n_eff: float = 0.0
    widening: float = 1.0
    min_frames: int = 0
    forced: tuple[str, ...] = ()

    def index(self, name: str) -> int:
        return self.names.index(name)


def thresholds_to_parts(t: Thresholds) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(header object, arrays) of ``t`` for the baseline file; optional fields at their defaults are left out,
    so a file written before they existed hashes the same."""
    th = {f.name: getattr(t, f.name) for f in dataclasses.fields(t) if f.name not in ARRAYS}
    th["names"] = list(t.names)
    th["notes"] = list(t.notes)
    th["forced"] = list(t.forced)
    header = {k: v for k, v in th.items() if v != _OPTIONAL_FIELDS.get(k, _ANY)}
    arrays = {
        f"thresholds.{name}": np.ascontiguousarray(getattr(t, name), dtype=np.float64) for name in ARRAYS
    }
    return header, arrays


def thresholds_from_parts(header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Thresholds:
    """The inverse of :func:`thresholds_to_parts`; KeyError / TypeError on a missing or unknown field."""
    th = dict(header)
    th["names"] = tuple(th["names"])
    th["notes"] = tuple(th["notes"])
    th["forced"] = tuple(th.get("forced", ()))
    for name in ARRAYS:
        th[name] = arrays[f"thresholds.{name}"]
    return Thresholds(**th)
