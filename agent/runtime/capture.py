"""What the pipeline keeps as evidence: an episode's capture (its last frames with the model's outputs, the
window's histograms and thumbnails, the decision) and the context every capture carries
(:func:`capture_context`: the baseline, the open episode and its cause, the statistics in drift)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from camdrift.agent.drift.decision import Cause, Decision
from camdrift.agent.drift.engine import DriftEngine
from camdrift.agent.output.evidence import CaptureContext, EvidenceSpool, WindowPicture
from camdrift.agent.predictions.outputs import ModelOutputs

log = logging.getLogger("camdrift.agent")


class RecentFrame(NamedTuple):
    """An analysed frame kept (a reference, not a copy) for an episode's capture, with the model's outputs."""

    image: np.ndarray
    outputs: ModelOutputs | None


def capture_context(engine: DriftEngine, cause: tuple[str, str] | None = None) -> CaptureContext:
    """The engine's context for a capture now: its baseline, the open episode, the episode's top cause
    (``cause``: its (code, text), as the caller's headline has it), the statistics in drift and the model's
    class names."""
    snap = engine.snapshot()
    ref = engine.baseline.outputs
    return CaptureContext(
        baseline_id=engine.baseline.baseline_id,
        episode_id=snap.episode_id,
        cause=cause[1] if cause and snap.episode_id else "",
        cause_code=cause[0] if cause and snap.episode_id else "",
        in_drift=tuple(s.name for s in snap.statistics if s.verdict == "drift"),
        class_names=() if ref is None else ref.class_names,
    )


def capture_episode(
    spool: EvidenceSpool,
    engine: DriftEngine,
    camera_id: str,
    d: Decision,
    evidence: tuple[dict[str, float], tuple[Cause, ...]],
    recent: Sequence[RecentFrame],
    wall: float | None = None,
) -> str | None:
    """Saves an episode capture for decision ``d`` (``evidence``: its numbers and ranked causes); the evidence
    id, or None when the episode was captured too recently or the write failed (logged: the analysis goes on)."""
    if not spool.due(d.episode_id, d.stream_time):
        return None
    numbers, causes = evidence
    window = engine.evidence()
    try:
        record = spool.capture_episode(
            camera_id=camera_id,
            episode_id=d.episode_id,
            frame_index=d.frame_index,
            stream_time=d.stream_time,
            created_at=time.time() if wall is None else wall,
            frames=[r.image for r in recent],
            window=WindowPicture(
                {"window_counts": window.counts, "reference_counts": engine.baseline.ref_counts},
                engine.baseline.thumbnail,
                window.thumbnail,
            ),
            decision={
                "kind": d.kind,
                "group": d.group,
                "groups": d.groups,
                "numbers": numbers,
                "causes": [c._asdict() for c in causes],
                "forecast": d.forecast,
            },
            outputs=[r.outputs for r in recent],
            context=capture_context(engine, (causes[0].code, causes[0].text) if causes else None),
        )
    except (OSError, ValueError) as exc:
        log.error("could not save evidence for episode %s: %s", d.episode_id, exc)
        return None
    return record.evidence_id if record else None


__all__ = ["RecentFrame", "capture_context", "capture_episode"]
