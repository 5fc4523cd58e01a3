"""Saving and restoring a :class:`~camdrift.agent.engine.DriftEngine`'s state: one versioned, hashed npz file.

Same container as the baseline (``np.savez`` arrays + a JSON ``header`` as uint8, SHA-256 over the canonical
content, atomic write). The header names the baseline id and camera, so a state is never restored onto another
baseline. Restoring then replaying gives exactly the decisions an uninterrupted engine gives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from camdrift.agent.drift.decision import DRIFT, OK, WARNING
from camdrift.agent.reference.baseline import _digest, atomic_write, pack_npz, unpack_npz

FORMAT = "camdrift-engine-state"
FORMAT_VERSION = 1
_STATES = (OK, WARNING, DRIFT)


class EngineStateError(ValueError):
    """A state file that cannot be restored onto this engine; the message names the reason."""


def _buckets(prefix: str, tb: Any) -> dict[str, np.ndarray]:
    return {f"{prefix}.ids": tb.ids, f"{prefix}.counts": tb.counts, f"{prefix}.sums": tb.sums}


def save_engine_state(engine: Any, path: str | Path) -> None:
    arrays: dict[str, np.ndarray] = {}
    for name, ring in zip(engine.window.rings._fields, engine.window.rings, strict=True):
        arrays[f"window.{name}.buf"] = ring.buf
        arrays[f"window.{name}.sum"] = ring.sum
    arrays |= _buckets("minutes", engine.minutes) | _buckets("hours", engine.hours)
    arrays["cusum"] = np.array([[c.pos, c.neg] for c in engine.cusums], np.float64).reshape(-1, 2)
    groups = list(engine.all_groups)
    if engine.activations is not None:
        arrays |= engine.activations.state_arrays()
    arrays["groups"] = np.array([[_STATES.index(g.state), g.above, g.below] for g in groups], np.int64)
    ring = engine.window.rings.scalars
    header = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "baseline_id": engine.baseline.baseline_id,
        "camera_id": engine.camera_id,
        "group_names": [g.name for g in groups],
        "frames": engine.frames,
        "alert_start": engine.alert_start,
        "frame_index": engine.frame_index,
        "stream_time": None if not np.isfinite(engine.stream_time) else engine.stream_time,
        "window_pos": ring.pos,
        "window_filled": ring.filled,
        "minutes_current": int(engine.minutes.current),
        "hours_current": int(engine.hours.current),
        "episode": engine.episodes.current,
        "episode_groups": list(engine.episodes.groups),
        "cusum_echo": [bool(e) for e in engine._echo],
        "was_sudden": bool(engine._was_sudden),
        "bucket_tainted": bool(engine._bucket_tainted),
    }
    if engine.activations is not None:
        header["activations"] = engine.activations.state_header()
    header["sha256"] = _digest(header, arrays)
    atomic_write(path, pack_npz(header, arrays))


def load_engine_state(engine: Any, path: str | Path) -> None:
    header, arrays = unpack_npz(path, "engine state", EngineStateError)
    if header.get("format") != FORMAT:
        raise EngineStateError(f"{path}: not an engine state file (format {header.get('format')!r})")
    if not isinstance(header.get("version"), int) or not 1 <= header["version"] <= FORMAT_VERSION:
        raise EngineStateError(f"{path}: engine state version {header.get('version')!r} is not supported")
    if header.get("sha256") != _digest(header, arrays):
        raise EngineStateError(f"{path}: content hash mismatch (the file was altered or damaged)")
    if header["baseline_id"] != engine.baseline.baseline_id:
        raise EngineStateError(
            f"{path}: state belongs to baseline {header['baseline_id']}, this engine runs baseline "
            f"{engine.baseline.baseline_id}"
        )
    if header["camera_id"] != engine.camera_id:
        raise EngineStateError(
            f"{path}: state belongs to camera {header['camera_id']!r}, not {engine.camera_id!r}"
        )
    groups = list(engine.all_groups)
    if header["group_names"] != [g.name for g in groups]:
        raise EngineStateError(f"{path}: state's statistics differ from this engine's")
    try:
        for name, ring in zip(engine.window.rings._fields, engine.window.rings, strict=True):
            _copy(ring.buf, arrays[f"window.{name}.buf"], path)
            _copy(ring.sum, arrays[f"window.{name}.sum"], path)
            ring.pos = int(header["window_pos"])
            ring.filled = int(header["window_filled"])
        for prefix in ("minutes", "hours"):
            tb = getattr(engine, prefix)
            for part in ("ids", "counts", "sums"):
                _copy(getattr(tb, part), arrays[f"{prefix}.{part}"], path)
            tb.current = int(header[f"{prefix}_current"])
        for c, (pos, neg) in zip(engine.cusums, arrays["cusum"], strict=True):
            c.pos, c.neg = float(pos), float(neg)
        for g, (state, above, below) in zip(groups, arrays["groups"], strict=True):
            g.state, g.above, g.below = _STATES[int(state)], int(above), int(below)
            g.transition = None
        if engine.activations is not None:
            engine.activations.restore(header["activations"], arrays)
    except ValueError as exc:
        raise EngineStateError(f"{path}: activation window does not fit: {exc}") from exc
    except KeyError as exc:
        raise EngineStateError(f"{path}: engine state is missing {exc}") from exc
    engine.frames = int(header["frames"])
    engine.alert_start = int(header["alert_start"])
    engine.frame_index = int(header["frame_index"])
    engine.stream_time = -np.inf if header["stream_time"] is None else float(header["stream_time"])
    engine.episodes.current = header["episode"]
    engine.episodes.groups = tuple(header["episode_groups"])
    engine._echo = [bool(e) for e in header.get("cusum_echo", [False] * len(engine.cusums))]
    engine._was_sudden = bool(header.get("was_sudden", False))
    engine._bucket_tainted = bool(header.get("bucket_tainted", False))
    engine.last = None
    engine._decisions = ()


def _copy(dst: np.ndarray, src: np.ndarray, path: str | Path) -> None:
    if dst.shape != src.shape or dst.dtype != src.dtype:
        raise EngineStateError(
            f"{path}: array of shape {src.shape} {src.dtype} does not fit {dst.shape} {dst.dtype}"
        )
    dst[...] = src
