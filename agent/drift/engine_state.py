"""Saving and restoring a :class:`~camdrift.agent.drift.engine.DriftEngine`'s state: one versioned, hashed npz.

Same container as the baseline (``np.savez`` arrays + a JSON ``header`` as uint8, SHA-256 over the canonical
content, atomic write). The header names the baseline id, the camera and the statistics, so a state is never
restored onto another baseline. The content is what the engine's parts give through their
:class:`~camdrift.agent.drift.contract.Stateful` methods; this module adds the identity, the format and version,
the hash, and the checks. Restoring then replaying gives exactly the decisions an uninterrupted engine gives.

Format version 1 (tests/agent/drift/data/engine_state_v1.npz is a golden file of it): arrays
``window.<field>.buf`` / ``.sum``, ``minutes.ids|counts|sums``, ``hours....``, ``cusum`` (S, 2), ``groups``
(n, 3) and, with activations, ``act.proj|bins|res|counts``; header ``baseline_id``, ``camera_id``,
``group_names``, ``frames``, ``alert_start``, ``frame_index``, ``stream_time``, ``window_pos``,
``window_filled``, ``minutes_current``, ``hours_current``, ``episode``, ``episode_groups``, ``cusum_echo``,
``was_sudden``, ``bucket_tainted``, ``activations`` (pos, filled, samples, rejected).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from camdrift.agent.drift.contract import Stateful
from camdrift.agent.files import atomic_write_bytes
from camdrift.agent.reference.archive import content_digest, pack_npz, unpack_npz

FORMAT = "camdrift-engine-state"
FORMAT_VERSION = 1


class EngineStateError(ValueError):
    """A state file that cannot be restored onto this engine; the message names the reason."""


class StateIdentity(NamedTuple):
    """What a state belongs to: the baseline's id, the camera, and the engine's statistics in order."""

    baseline_id: str
    camera_id: str
    group_names: tuple[str, ...]


def save_engine_state(path: str | Path, identity: StateIdentity, engine: Stateful) -> None:
    """Write ``engine``'s state, labelled with ``identity``, atomically to ``path``."""
    arrays = engine.state_arrays()
    header = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "baseline_id": identity.baseline_id,
        "camera_id": identity.camera_id,
        "group_names": list(identity.group_names),
    } | engine.state_header()
    header["sha256"] = content_digest(header, arrays)
    atomic_write_bytes(Path(path), pack_npz(header, arrays))


def load_engine_state(path: str | Path, identity: StateIdentity, engine: Stateful) -> None:
    """Restore ``engine`` from ``path``; :class:`EngineStateError` (one line naming the file) for a file that is
    not a regular file, damaged, over the archive's size limits, or does not fit ``identity``
    (the engine may then hold part of the file: restore into a fresh engine and keep it only on success)."""
    header, arrays = unpack_npz(path, "engine state", EngineStateError)
    if header.get("format") != FORMAT:
        raise EngineStateError(f"{path}: not an engine state file (format {header.get('format')!r})")
    version = header.get("version")
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise EngineStateError(
            f"{path}: engine state version {version!r} is not supported (this agent reads version "
            f"{FORMAT_VERSION}; a newer agent wrote it?)"
        )
    if header.get("sha256") != content_digest(header, arrays):
        raise EngineStateError(f"{path}: content hash mismatch (the file was altered or damaged)")
    if header.get("baseline_id") != identity.baseline_id:
        raise EngineStateError(
            f"{path}: state belongs to baseline {header.get('baseline_id')!r}, this engine runs baseline "
            f"{identity.baseline_id}"
        )
    if header.get("camera_id") != identity.camera_id:
        raise EngineStateError(
            f"{path}: state belongs to camera {header.get('camera_id')!r}, not {identity.camera_id!r}"
        )
    if header.get("group_names") != list(identity.group_names):
        raise EngineStateError(f"{path}: state's statistics differ from this engine's")
    try:
        engine.restore(header, arrays)
    except KeyError as exc:
        raise EngineStateError(f"{path}: engine state is missing {exc}") from exc
    except (ValueError, TypeError, IndexError, OverflowError, ArithmeticError, MemoryError) as exc:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise EngineStateError(f"{path}: engine state does not fit this engine: {reason}") from None
