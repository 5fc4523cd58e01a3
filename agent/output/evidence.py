"""The evidence spool: what the agent saw when it raised an episode, kept for labelling and retraining.

Layout under the spool directory::

    manifest.jsonl              one JSON line per capture, in capture order
    <evidence_id>/frame_00.jpg  a few frames from the drifted window (or the flagged frame)
    <evidence_id>/reference_thumbnail.png, window_thumbnail.png
    <evidence_id>/histograms.npz  window and reference histograms (plain arrays, loadable without pickle)
    <evidence_id>/decision.json   the numbers of the decision and its ranked causes, or the flag's note; the
                                  model's outputs for each frame and the agent's context (baseline, episode)

Manifest lines and ``decision.json`` carry ``"version": 2`` (:data:`EVIDENCE_VERSION`). Version 2 added the
record's ``baseline_id`` and ``cause`` and, in ``decision.json``, ``outputs`` (one entry per ``frame_NN.jpg``:
:func:`~camdrift.agent.predictions.outputs.outputs_json` or null), ``class_names`` and ``context``
(:class:`CaptureContext`); a flag's ``decision.json`` holds its :class:`~camdrift.agent.predictions.flags.FlagNote`
fields and ``reason_kind``. Version 1 lines (and lines without a version, from before versions) still load.

The spool is capped in bytes: when a capture would exceed the cap, the oldest captures are removed first. Captures
of one episode are rate-limited in stream time, so a long episode cannot flood the disk.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from camdrift.agent.files import atomic_write_bytes
from camdrift.agent.frames import Frame, image_problem
from camdrift.agent.output.evidence_files import (
    EVIDENCE_VERSION,
    NO_CONTEXT,
    CaptureContext,
    WindowPicture,
    model_part,
    write_decision,
    write_jpeg,
    write_thumbnail,
)
from camdrift.agent.predictions.flags import FlagNote
from camdrift.agent.predictions.outputs import ModelOutputs

log = logging.getLogger("camdrift.agent")

MANIFEST = "manifest.jsonl"
READS_VERSIONS = (1, 2)


class EvidenceError(ValueError):
    """A spool this agent cannot read (a manifest line of an unknown version); the message names the line."""


@dataclass(frozen=True)
class EvidenceRecord:
    """One capture. ``stream_time`` in seconds of stream time; ``created_at`` Unix seconds; ``bytes`` on disk."""

    evidence_id: str
    kind: str  # "episode" or "flag"
    camera_id: str
    frame_index: int
    stream_time: float
    created_at: float
    bytes: int
    files: tuple[str, ...]
    episode_id: str | None = None
    reason: str | None = None
    baseline_id: str | None = None
    cause: str | None = None


def manifest_line(record: EvidenceRecord) -> str:
    """The manifest's JSON line for ``record`` (with its version), newline included."""
    return json.dumps({"version": EVIDENCE_VERSION, **asdict(record)}) + "\n"


def read_manifest(path: Path, unreadable: list[int] | None = None) -> list[EvidenceRecord]:
    """The records of a manifest file, in order; a line that does not read (damaged: the manifest is written
    whole and atomically, so not a crash) is skipped and its number appended to ``unreadable``.

    Raises :class:`EvidenceError` for a line of another version: a newer agent wrote it, and skipping it would
    let the crash sweep delete the capture it names."""
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            doc = json.loads(line)
        except json.JSONDecodeError:
            doc = None
        if not isinstance(doc, dict):
            if unreadable is not None and line.strip():
                unreadable.append(number)
            continue
        version = doc.pop("version", 1)  # lines from before versions: version 1
        if version not in READS_VERSIONS:
            raise EvidenceError(
                f"{path}: line {number}: evidence manifest version {version!r} is not one this camdrift "
                f"reads ({', '.join(map(str, READS_VERSIONS))}); upgrade camdrift to read this spool"
            )
        try:
            doc["files"] = tuple(doc["files"])
            out.append(EvidenceRecord(**doc))
        except (TypeError, KeyError):
            if unreadable is not None:
                unreadable.append(number)
    return out


def keep_flagged(
    spool: EvidenceSpool, camera_id: str, frame: Frame, context: CaptureContext, *, created_at: float
) -> None:
    """Saves a frame the inference app flagged, with its outputs and ``context`` (``created_at``: Unix s). An
    image that does not fit its pixel format is not kept, and a failed write (a full disk) is logged: neither
    may stop the analysis."""
    if frame.flag is None or image_problem(frame.image, frame.pixel_format) is not None:
        return
    try:
        spool.capture_flag(
            camera_id=camera_id,
            frame_index=frame.frame_index,
            stream_time=frame.stream_time,
            created_at=created_at,
            frame=frame.image,
            note=frame.flag,
            outputs=frame.outputs,
            context=context,
        )
    except (OSError, ValueError) as exc:
        log.error("could not save a flagged frame: %s", exc)


class EvidenceSpool:
    """Writes captures into ``root`` and keeps the spool under ``max_bytes``.

    min_interval_s: stream seconds between two captures of the same episode (the first is always taken).
    """

    def __init__(
        self, root: str | Path, *, max_bytes: int = 512 << 20, min_interval_s: float = 600.0
    ) -> None:
        if max_bytes <= 0:
            raise ValueError(f"evidence max_bytes must be > 0, got {max_bytes}")
        if min_interval_s < 0:
            raise ValueError(f"evidence min_interval_s must be >= 0, got {min_interval_s}")
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_bytes = int(max_bytes)
        self.min_interval_s = float(min_interval_s)
        self._lock = threading.Lock()
        self._last_capture: dict[str, float] = {}
        self.removed = 0
        self._sweep()

    def _sweep(self) -> None:
        """Removes what a crash left behind: half-written captures and folders the manifest does not list
        (killed between the rename and the manifest line), so the size cap counts everything on disk."""
        path, damaged = self.root / MANIFEST, []
        listed = {r.evidence_id for r in read_manifest(path, damaged)} if path.exists() else set()
        if damaged:  # a folder may be a capture whose line is the damaged one: keep it, say so
            log.warning("%s: lines %s do not read; captures they may name are kept", path, damaged[:5])
        for entry in self.root.iterdir():
            unlisted = entry.name not in listed and not damaged
            if entry.is_dir() and (entry.name.startswith(".capture-") or unlisted):
                shutil.rmtree(entry, ignore_errors=True)

    def records(self) -> list[EvidenceRecord]:
        """The captures still in the spool, oldest first (raises :class:`EvidenceError`, see
        :func:`read_manifest`)."""
        path = self.root / MANIFEST
        if not path.exists():
            return []
        return [r for r in read_manifest(path) if (self.root / r.evidence_id).is_dir()]

    def due(self, episode_id: str, stream_time: float) -> bool:
        """Whether an episode may be captured now (its first capture, or ``min_interval_s`` after the last)."""
        last = self._last_capture.get(episode_id)
        return last is None or stream_time - last >= self.min_interval_s

    def capture_episode(
        self,
        *,
        camera_id: str,
        episode_id: str,
        frame_index: int,
        stream_time: float,
        created_at: float,
        frames: Sequence[np.ndarray],
        window: WindowPicture,
        decision: Mapping[str, object],
        outputs: Sequence[ModelOutputs | None] = (),
        context: CaptureContext = NO_CONTEXT,
    ) -> EvidenceRecord | None:
        """Saves one episode capture, or returns None when the episode was captured too recently. outputs: the
        model's outputs of each of ``frames`` (empty: none were handed over)."""
        histograms = window.histograms
        reference_thumbnail, window_thumbnail = window.reference_thumbnail, window.window_thumbnail
        if not self.due(episode_id, stream_time):
            return None
        self._last_capture[episode_id] = stream_time

        def write(d: Path) -> list[str]:
            names = [write_jpeg(d, f"frame_{i:02d}.jpg", f) for i, f in enumerate(frames)]
            if reference_thumbnail is not None:
                names.append(write_thumbnail(d, "reference_thumbnail.png", reference_thumbnail))
            if window_thumbnail is not None:
                names.append(write_thumbnail(d, "window_thumbnail.png", window_thumbnail))
            if histograms:
                buf = io.BytesIO()
                np.savez(buf, **{k: np.asarray(v) for k, v in histograms.items()})
                atomic_write_bytes(d / "histograms.npz", buf.getvalue())
                names.append("histograms.npz")
            names.append(write_decision(d, {**decision, **model_part(frames, outputs, context)}))
            return names

        draft = EvidenceRecord(
            f"{episode_id}-f{frame_index}", "episode", camera_id, frame_index, stream_time, created_at, 0, ()
        )
        cause = context.cause or None
        return self._store(
            dataclasses.replace(draft, episode_id=episode_id, baseline_id=context.baseline_id, cause=cause),
            write,
        )

    def capture_flag(
        self,
        *,
        camera_id: str,
        frame_index: int,
        stream_time: float,
        created_at: float,
        frame: np.ndarray,
        note: FlagNote,
        outputs: ModelOutputs | None = None,
        context: CaptureContext = NO_CONTEXT,
        prefix: str = "flag",
    ) -> EvidenceRecord | None:
        """Saves a frame the inference app flagged (a production failure worth labelling) with its note, the
        model's outputs and the agent's ``context``; None if it alone exceeds the spool's cap. ``prefix`` starts
        the evidence id (``capture`` for an operator's capture)."""
        evidence_id = f"{prefix}-f{frame_index}-t{int(round(stream_time * 1000))}"
        # flags between two offers share the frame index and stream time (a flag never moves the stream
        # clock): each keeps its own folder, numbered in arrival order
        base, k = evidence_id, 1
        while (self.root / evidence_id).exists():
            k += 1
            evidence_id = f"{base}-{k}"
        flag = {**note._asdict(), "reason_kind": note.reason_kind}

        def write(d: Path) -> list[str]:
            doc = {**flag, **model_part([frame], [outputs], context)}
            return [write_jpeg(d, "frame_00.jpg", frame), write_decision(d, doc)]

        draft = EvidenceRecord(evidence_id, "flag", camera_id, frame_index, stream_time, created_at, 0, ())
        return self._store(
            dataclasses.replace(
                draft,
                reason=note.reason,
                episode_id=context.episode_id or None,
                baseline_id=context.baseline_id,
                cause=context.cause or None,
            ),
            write,
        )

    def _store(self, draft: EvidenceRecord, write: Callable[[Path], list[str]]) -> EvidenceRecord | None:
        """Writes a capture's files (``write`` into a temporary folder), renames the folder into place and
        lists it in the manifest; ``draft``: the record without its ``bytes`` and ``files``."""
        with self._lock:
            final = self.root / draft.evidence_id
            tmp = Path(tempfile.mkdtemp(prefix=".capture-", dir=self.root))
            try:
                names = write(tmp)
                size = sum((tmp / n).stat().st_size for n in names)
                tmp.chmod(0o750)  # mkdtemp makes it 0700; technicians in the service's group read evidence
                if final.exists():
                    shutil.rmtree(final)
                os.replace(tmp, final)  # a capture appears whole or not at all
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            record = dataclasses.replace(
                draft,
                frame_index=int(draft.frame_index),
                stream_time=float(draft.stream_time),
                created_at=float(draft.created_at),
                bytes=int(size),
                files=tuple(names),
            )
            # The manifest is rewritten whole through the atomic writer: its folder fsync also makes the
            # rename above durable, and the manifest is never torn.
            self._write_manifest([*self.records(), record])
            self._enforce_cap()
            # a single capture larger than the whole cap does not survive it: say so rather than name it
            return record if (self.root / draft.evidence_id).is_dir() else None

    def _write_manifest(self, records: Sequence[EvidenceRecord]) -> None:
        atomic_write_bytes(self.root / MANIFEST, "".join(manifest_line(r) for r in records).encode())

    def _enforce_cap(self) -> None:
        records = self.records()
        total = sum(r.bytes for r in records)
        keep = list(records)
        while keep and total > self.max_bytes:
            oldest = keep.pop(0)
            shutil.rmtree(self.root / oldest.evidence_id, ignore_errors=True)
            total -= oldest.bytes
            self.removed += 1
        if len(keep) != len(records):
            self._write_manifest(keep)
