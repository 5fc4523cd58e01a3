"""One camera's analysis path: the retained state is published when a verdict changes (and only then), with
the stream time each verdict began; evidence is captured when an episode starts; frames the baseline cannot
judge are refused and counted by reason; the engine state survives a restart through the pipeline."""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from camdrift.agent.frames import Frame
from camdrift.agent.output.events import Envelope, Event, Message, Metrics, State
from camdrift.agent.output.evidence import EvidenceSpool
from camdrift.agent.output.sinks import Backlog
from camdrift.agent.runtime.pipeline import Pipeline
from camdrift.agent.sim.line import HEALTHY, Drift, ProductionLine
from tests.agent.drift_fixtures import FPS, SIZE, WINDOW, small_baseline

ONSET, N = 40, 60


class Collect:
    """A sink that keeps what it is sent."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def send(self, message: Message, envelope: Envelope | None = None) -> None:
        self.messages.append(message)

    def stop(self) -> None: ...

    def close(self) -> None: ...

    @property
    def healthy(self) -> bool:
        return True

    @property
    def backlog(self) -> Backlog:
        return Backlog()

    def of(self, kind: type) -> list:
        return [m for m in self.messages if isinstance(m, kind)]


@lru_cache(maxsize=1)
def _frames() -> tuple[Frame, ...]:
    """The line with the light 15 % up from frame ONSET, as the pipeline gets them."""
    line = ProductionLine(seed=9, width=SIZE[0], height=SIZE[1], fps=FPS)
    return tuple(
        Frame(line.frame(i, Drift(gain=1.15) if i >= ONSET else HEALTHY), i, i / FPS, "bgr8")
        for i in range(N)
    )


def _pipeline(**kw) -> tuple[Pipeline, Collect]:
    sink = Collect()
    return Pipeline(
        small_baseline(), camera_id="cam-test", sinks=[sink], wall_clock=lambda: 1.7e9, **kw
    ), sink


def test_state_is_published_when_a_verdict_changes_and_only_then() -> None:
    pipe, sink = _pipeline()
    published_at = []
    for f in _frames():
        before = len(sink.of(State))
        pipe.analyse(f)
        if len(sink.of(State)) > before:
            published_at.append(f.frame_index)
    states = sink.of(State)
    assert published_at[0] == 0  # the first frame: everything warming up
    assert {g.verdict for g in states[0].groups} == {"warming_up", "ok"}  # CUSUMs are never warming up
    assert WINDOW - 1 in published_at  # the window filled: warming_up -> ok
    assert all(i == WINDOW - 1 or i >= ONSET for i in published_at[1:])  # nothing changed in between
    last = {g.group: g for g in states[-1].groups}
    brightness = last["shift.brightness"]
    started = next(e for e in sink.of(Event) if e.kind == "drift.started")
    assert brightness.verdict == "drift" and brightness.episode_id == started.episode_id
    verdicts = [{g.group: g.verdict for g in s.groups}["shift.brightness"] for s in states]
    drift_frame = published_at[verdicts.index("drift")]
    assert brightness.since == pytest.approx(drift_frame / FPS)  # when the verdict began, not the last frame
    assert states[-1].overall == "drift" and pipe.drift_detected and pipe.has_scored
    assert pipe.stream_time == _frames()[-1].stream_time


def test_events_carry_the_decision_and_the_metrics_every_statistic() -> None:
    pipe, sink = _pipeline()
    for f in _frames():
        pipe.analyse(f)
    started = next(e for e in sink.of(Event) if e.kind == "drift.started")
    assert started.severity == "critical" and started.causes[0].code == "lighting"
    assert started.summary.startswith(started.causes[0].text)
    assert started.numbers["score"] > started.numbers["threshold"] and "z.brightness" in started.numbers
    metrics = pipe.metrics(10.0)
    assert isinstance(metrics, Metrics)
    assert [g.group for g in metrics.groups] == [g.group for g in pipe.group_states()]
    kinds = {g.group: g.statistic for g in metrics.groups}
    assert (
        kinds["psi.luma"] == "psi"
        and kinds["cusum.brightness"] == "cusum"
        and kinds["displacement"] == "displacement"
    )


def test_evidence_is_captured_when_an_episode_starts(tmp_path: Path) -> None:
    spool = EvidenceSpool(tmp_path / "evidence", min_interval_s=3600.0)
    pipe, sink = _pipeline(evidence=spool)
    for f in _frames():
        pipe.analyse(f)
    events = [e for e in sink.of(Event) if e.kind in ("drift.started", "drift.updated")]
    assert events[0].kind == "drift.started" and events[0].evidence_id is not None
    assert all(e.evidence_id is None for e in events[1:])  # one capture per hour of one episode
    (record,) = spool.records()
    assert record.evidence_id == events[0].evidence_id and record.episode_id == events[0].episode_id
    folder = tmp_path / "evidence" / record.evidence_id
    assert {"frame_00.jpg", "reference_thumbnail.png", "window_thumbnail.png", "histograms.npz"} <= set(
        record.files
    )
    with np.load(folder / "histograms.npz") as h:
        # the whole window's counts: every group holds every pixel of WINDOW frames
        assert h["window_counts"].sum(axis=1).tolist() == [WINDOW * SIZE[0] * SIZE[1]] * 4
        np.testing.assert_array_equal(h["reference_counts"], small_baseline().ref_counts)
    decision = json.loads((folder / "decision.json").read_text())
    assert decision["kind"] == "drift.started" and decision["causes"][0]["code"] == "lighting"


def test_frames_the_baseline_cannot_judge_are_refused_and_counted_by_reason(caplog) -> None:
    pipe, sink = _pipeline()
    small = Frame(np.zeros((60, 80, 3), np.uint8), 0, 0.0, "bgr8")
    problem = pipe.check(small)
    assert problem is not None and "resolution" in problem
    with pytest.raises(ValueError, match="resolution"):
        pipe.analyse(small)
    with caplog.at_level(logging.WARNING, logger="camdrift.agent"):
        for _ in range(3):
            pipe.reject("wrong resolution")
        pipe.reject("wrong pixel format")
    assert pipe.counters.rejected == {"wrong resolution": 3, "wrong pixel format": 1}
    assert len([r for r in caplog.records if "skipping frames" in r.message]) == 2  # once per reason
    assert pipe.counters.analysed == 0 and sink.messages == []


def test_the_retained_state_names_the_open_episode_and_its_top_cause(tmp_path: Path) -> None:
    """A dashboard that connects late reads from the retained state alone what drifts, since when and why;
    after a restart that restored the episode it says the episode is open, not a cause it has not read."""
    pipe, sink = _pipeline()
    for f in _frames()[: ONSET + 15]:
        pipe.analyse(f)
    started = next(e for e in sink.of(Event) if e.kind == "drift.started")
    episode = sink.of(State)[-1].episode
    assert episode is not None and episode.id == started.episode_id
    assert episode.since == started.stream_time and episode.cause == "lighting" == started.causes[0].code
    assert episode.summary == started.summary
    assert sink.of(State)[0].episode is None
    body = json.loads(json.dumps(sink.of(State)[-1]._body()))
    assert body["episode"]["cause"] == "lighting" and body["overall"] == "drift"
    path = tmp_path / "engine-state.npz"
    pipe.save_state(str(path))
    restarted, _ = _pipeline()
    restarted.load_state(str(path))
    assert restarted.state().episode == (started.episode_id, None, None, None, False)
    metrics = pipe.metrics(10.0)
    ratios = [g.value / g.threshold for g in metrics.groups if g.value is not None and g.threshold]
    assert metrics.worst_ratio == max(ratios) and metrics.worst_ratio > 1.0


def test_engine_state_survives_a_restart_and_a_bad_file_keeps_fresh_windows(tmp_path: Path) -> None:
    whole, _ = _pipeline()
    first, _ = _pipeline()
    for f in _frames():
        whole.analyse(f)
    for f in _frames()[: ONSET + 5]:
        first.analyse(f)
    path = tmp_path / "engine-state.npz"
    first.save_state(str(path))
    second, sink = _pipeline()
    second.load_state(str(path))
    assert second.drift_detected and second.stream_time == first.stream_time
    for f in _frames()[ONSET + 5 :]:
        second.analyse(f)
    assert [g[:2] for g in second.group_states()] == [g[:2] for g in whole.group_states()]
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a state")
    fresh, _ = _pipeline()
    with pytest.raises(ValueError, match="not a readable engine state"):
        fresh.load_state(str(bad))
    assert fresh.stream_time == -np.inf and not fresh.has_scored


def test_a_reload_keeps_the_windows_only_when_asked() -> None:
    old, _ = _pipeline()
    for f in _frames()[:WINDOW]:
        old.analyse(f)
    kept, _ = _pipeline()
    kept.carry_over(old, keep_windows=True)
    assert kept.has_scored and kept.stream_time == old.stream_time and kept.counters is old.counters
    reset, _ = _pipeline()
    reset.carry_over(old)
    assert not reset.has_scored and reset.counters.analysed == WINDOW
