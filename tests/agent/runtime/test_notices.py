"""The agent's own events and its exit code."""

from __future__ import annotations

from pathlib import Path

from camdrift.agent.frames import SourceEvent
from camdrift.agent.output.events import Event
from camdrift.agent.output.sinks import Sink
from camdrift.agent.runtime.assembly import assemble, checked_baseline
from camdrift.agent.runtime.continuity import StreamTimeline
from camdrift.agent.runtime.notices import (
    agent_event,
    baseline_replaced,
    episode_closed,
    exit_code,
    publish_source_events,
    rejected_event,
    source_event,
)
from camdrift.agent.runtime.pipeline import PipelineCounters
from tests.agent.runtime.helpers import agent_config, frames, workshop


class Collect(Sink):
    def __init__(self) -> None:
        self.messages: list = []

    def send(self, message, envelope=None) -> None:
        self.messages.append(message)


def test_a_rejected_baseline_is_critical_and_counts_the_refused_frames():
    f = frames(1, start=7)[0]
    ev = rejected_event("cam1", "baseline b refuses the frames: resolution", f, 12)
    assert (ev.kind, ev.severity, ev.frame_index, ev.numbers) == (
        "baseline.rejected",
        "critical",
        7,
        {"frames_refused": 12.0},
    )
    assert rejected_event("cam1", "reload refused", None, 0).frame_index is None
    assert agent_event("cam1", "source.lost", "gone").severity == "warning"
    assert agent_event("cam1", "agent.started", "up").severity == "info"


def test_a_replay_that_analysed_nothing_because_all_was_refused_exits_2():
    assert exit_code(PipelineCounters(0, {"resolution": 5}), replay=True, source="video:a") == 2
    assert exit_code(PipelineCounters(0, {"resolution": 5}), replay=False, source="shm:a") == 0
    assert exit_code(PipelineCounters(3, {"resolution": 5}), replay=True, source="video:a") == 0
    assert exit_code(PipelineCounters(0, {}), replay=True, source="video:a") == 0  # an empty file


def test_a_replaced_baseline_closes_the_open_episode_first(tmp_path: Path, baseline_file: Path):
    sink = Collect()
    cfg = agent_config(tmp_path, baseline_file)
    shop = workshop(cfg, make_sinks=lambda *_: [sink])
    old = assemble(cfg, checked_baseline(cfg), shop)
    new = assemble(cfg, checked_baseline(cfg), shop)
    assert episode_closed(old.pipeline, "x") is None  # no episode open
    old.pipeline.engine.episodes.current = "ep-1"  # as after a drift.started
    baseline_replaced(old.pipeline, new.pipeline)
    kinds = [kind_of(m) for m in sink.messages]
    assert kinds == ["drift.ended", "baseline.loaded", "state"]
    assert sink.messages[0].episode_id == "ep-1"


def kind_of(message) -> str:
    return message.kind if isinstance(message, Event) else type(message).__name__.lower()


def test_source_events_carry_the_agents_stream_time_not_the_sources_clock(
    tmp_path: Path, baseline_file: Path
):
    """The source restarted its clock (raw 0.0) while the agent continues on an offset (90 s on): the events
    carry the continuous stream time; without a timeline, the source's clock as it is."""
    line = StreamTimeline()
    line.place(frames(1)[0]._replace(stream_time=89.8), last=-1.0, step=0.2)
    lost = SourceEvent("source.lost", "no frame for 10 s", 449, 89.8)
    assert source_event("cam1", lost, line).stream_time == 89.8
    first = line.place(frames(1)[0], last=89.8, step=0.2)  # the reopened source's frame 0 at 0.0 s
    restored = SourceEvent("source.restored", "frames again after: no frame for 10 s", 0, 0.0)
    ev = source_event("cam1", restored, line)
    assert (ev.frame_index, ev.stream_time) == (0, first.stream_time) and ev.stream_time == 90.0
    assert source_event("cam1", restored).stream_time == 0.0
    assert source_event("cam1", SourceEvent("source.lost", "gone"), line).stream_time is None
    sink = Collect()
    cfg = agent_config(tmp_path, baseline_file)
    parts = assemble(cfg, checked_baseline(cfg), workshop(cfg, make_sinks=lambda *_: [sink]))
    publish_source_events(parts.pipeline, [restored], line)
    assert [(m.kind, m.stream_time) for m in sink.messages] == [("source.restored", 90.0)]
