"""What the agent says about itself: its own events (``agent.*``, ``baseline.*``, ``source.*``) and its exit code.

The daemon (:mod:`~camdrift.agent.runtime.daemon`) decides when; this module says what each one carries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from camdrift.agent.frames import Frame, SourceEvent
from camdrift.agent.output.events import Event
from camdrift.agent.runtime.continuity import StreamTimeline
from camdrift.agent.runtime.pipeline import Pipeline, PipelineCounters

log = logging.getLogger("camdrift.agent")

# A camera nobody watches any more (its baseline refuses every frame) is critical; a lost source a warning.
_SEVERITY = {"source.lost": "warning", "baseline.rejected": "critical"}
EXIT_OK = 0
EXIT_CANNOT_RUN = 2  # as for a bad configuration: systemd's RestartPreventExitStatus=2


def agent_event(
    camera_id: str, kind: str, summary: str, frame_index: int | None = None, stream_time: float | None = None
) -> Event:
    """An event of the agent itself (agent.started, baseline.loaded, agent.stopping) or of its source."""
    return Event(
        kind=kind,
        camera_id=camera_id,
        frame_index=frame_index,
        stream_time=stream_time,
        severity=_SEVERITY.get(kind, "info"),
        summary=summary,
    )


def source_event(camera_id: str, ev: SourceEvent, timeline: StreamTimeline | None = None) -> Event:
    """The event of a change in the source's health; a frame index or time not yet known is left out.

    timeline: the agent's continuous stream time (the event's time is the source's clock, which restarts
    when the source is reopened); None: the source's clock as it is."""
    index = ev.frame_index if ev.frame_index is not None and ev.frame_index >= 0 else None
    t = ev.stream_time if ev.stream_time is not None and ev.stream_time == ev.stream_time else None
    if timeline is not None:
        t = timeline.at(t)
    return agent_event(camera_id, ev.kind, ev.reason, index, t)


def publish_source_events(
    pipeline: Pipeline, events: Iterable[SourceEvent], timeline: StreamTimeline
) -> None:
    """Publishes the source's events on ``timeline`` (place the frame read with them first: the events name
    it, and a reopened source's first frame may move the timeline's offset)."""
    for ev in events:
        pipeline.publish(source_event(pipeline.camera_id, ev, timeline))


def rejected_event(camera_id: str, summary: str, frame: Frame | None, frames_refused: int) -> Event:
    """``baseline.rejected``: the frames (``frame``: the last one refused, None for a reload's baseline)
    cannot be judged against the baseline; ``numbers.frames_refused`` counts the refused frames so far."""
    return Event(
        kind="baseline.rejected",
        camera_id=camera_id,
        frame_index=None if frame is None else frame.frame_index,
        stream_time=None if frame is None else frame.stream_time,
        severity=_SEVERITY["baseline.rejected"],
        summary=summary,
        numbers={"frames_refused": float(frames_refused)},
    )


def episode_closed(pipeline: Pipeline, reason: str) -> Event | None:
    """``drift.ended`` for the episode open in ``pipeline`` that cannot go on (``reason``: e.g. its baseline
    was replaced), at the last analysed frame; None when no episode is open."""
    episode = pipeline.engine.snapshot().episode_id
    if not episode:
        return None
    f = pipeline.last_frame
    return Event(
        kind="drift.ended",
        camera_id=pipeline.camera_id,
        frame_index=None if f is None else f.frame_index,
        stream_time=None if f is None else f.stream_time,
        episode_id=episode,
        summary=f"episode closed: {reason}",
    )


def baseline_replaced(old: Pipeline, new: Pipeline) -> None:
    """A reload put ``new``'s baseline in place of ``old``'s: the open episode (if any) ends with
    ``drift.ended``, then ``baseline.loaded`` and the retained state of the new windows (warming up)."""
    closed = episode_closed(old, f"baseline {new.baseline_id} replaces {old.baseline_id}")
    if closed is not None:
        old.publish(closed)
    summary = f"baseline {new.baseline_id} replaces {old.baseline_id}: windows reset"
    new.publish(agent_event(new.camera_id, "baseline.loaded", summary))
    new.publish(new.state())


def exit_code(counters: PipelineCounters, replay: bool, source: str) -> int:
    """0, or 2 for a ``replay`` that analysed no frame because the baseline refused every one (logged with
    the reasons): a recording nothing was learnt from is not a clean run."""
    if replay and counters.analysed == 0 and counters.rejected:
        reasons = "; ".join(f"{n} x {why}" for why, n in counters.rejected.items())
        log.error("analysed no frame of %s: the baseline refused every frame (%s)", source, reasons)
        return EXIT_CANNOT_RUN
    return EXIT_OK
