"""The agent's status: what the retained STATUS message, systemd's STATUS line and the watchdog are told."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from camdrift.agent.output.sinks import Backlog, ConsoleSink
from camdrift.agent.runtime.assembly import assemble, checked_baseline
from camdrift.agent.runtime.status import Every, StatusBoard, baseline_age_s, config_hash, total_backlog
from tests.agent.drift_fixtures import small_baseline
from tests.agent.runtime.helpers import agent_config, frames, workshop


class OutboxSink(ConsoleSink):
    """A sink holding messages undelivered, like the MQTT sink with the broker away."""

    def __init__(self, backlog: Backlog, healthy: bool = True) -> None:
        super().__init__()
        self._backlog, self._healthy = backlog, healthy

    @property
    def backlog(self) -> Backlog:
        return self._backlog

    @property
    def healthy(self) -> bool:
        return self._healthy


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_every_is_due_at_once_then_once_per_period():
    every = Every(60.0)
    assert every.due(0.0) and not every.due(59.9) and every.due(60.0) and not every.due(100.0)


def test_backlogs_of_all_sinks_add_up():
    sinks = [
        ConsoleSink(),
        OutboxSink(Backlog(3, {"metrics": 2})),
        OutboxSink(Backlog(1, {"metrics": 1, "event": 1})),
    ]
    assert total_backlog(sinks) == Backlog(4, {"metrics": 3, "event": 1})
    assert total_backlog([]) == Backlog(0, {})


def test_the_status_message_counts_frames_and_the_outbox(tmp_path: Path, baseline_file: Path):
    outbox = OutboxSink(Backlog(7, {"metrics": 2}))
    cfg = agent_config(tmp_path, baseline_file)
    parts = assemble(cfg, checked_baseline(cfg), workshop(cfg, make_sinks=lambda *_: [outbox]))
    board = StatusBoard(started_at=1_700_000_000.0, clock=Clock())
    for f in frames(10):
        board.frame_arrived()
        if f.frame_index % 2 == 0:
            parts.pipeline.analyse(f)
    s = board.message(parts, "synthetic:stationary [ok]", now=1_767_312_000.0)  # a day after 2026-01-01
    assert (s.camera_id, s.frame_index, s.stream_time) == ("cam1", 8, pytest.approx(1.6))
    assert (s.frames_seen, s.frames_analysed, s.frames_dropped) == (10, 5, 5)
    assert (s.outbox_pending, s.outbox_dropped) == (7, {"metrics": 2})
    assert s.source_state == "synthetic:stationary [ok]" and s.baseline_id == parts.baseline.baseline_id
    assert s.baseline_age_s == pytest.approx(86400.0) and s.config_hash == config_hash(cfg)
    assert board.line(parts) == f"ok; {parts.sampler.describe()}; analysed 5 of 10"


def test_the_config_hash_says_which_configuration_runs(tmp_path: Path, baseline_file: Path):
    a = agent_config(tmp_path, baseline_file)
    assert config_hash(a) == config_hash(agent_config(tmp_path, baseline_file)) and len(config_hash(a)) == 16
    assert config_hash(a) != config_hash(agent_config(tmp_path, baseline_file, analysis={"max_fps": 2.0}))


def test_a_baseline_without_a_readable_creation_time_has_no_age():
    assert baseline_age_s(dataclasses.replace(small_baseline(), created_at="yesterday"), now=0.0) is None


def test_health_needs_fresh_frames_and_healthy_sinks(tmp_path: Path, baseline_file: Path):
    clock = Clock()
    sink = OutboxSink(Backlog())
    cfg = agent_config(tmp_path, baseline_file, source={"stall_timeout": 2.0})
    parts = assemble(cfg, checked_baseline(cfg), workshop(cfg, make_sinks=lambda *_: [sink]))
    board = StatusBoard(started_at=0.0, clock=clock)
    assert board.healthy(parts)
    clock.now += 2.5  # the camera stays away past the stall timeout: no more watchdog pings
    assert not board.healthy(parts)
    # a watched folder with every file delivered waits for new ones, healthy: systemd must not restart it
    assert board.healthy(parts, waiting_for_input=True)
    board.frame_arrived()
    assert board.healthy(parts)
    sink._healthy = False  # e.g. the MQTT thread died
    assert not board.healthy(parts)


def test_ok_only_while_frames_are_analysed(tmp_path: Path, baseline_file: Path):
    cfg = agent_config(tmp_path, baseline_file)
    parts = assemble(cfg, checked_baseline(cfg), workshop(cfg))
    board = StatusBoard(started_at=0.0, clock=Clock())
    assert board.line(parts, "shm:line7 [lost]").startswith("waiting for the source shm:line7 [lost];")
    assert board.healthy(parts)
    f = frames(1)[0]
    reason = "resolution 320x240 differs from the baseline's 160x120"
    became = [board.frame_refused(reason) for _ in range(4)]
    assert became == [False, False, True, False]  # the event once, after REJECT_AFTER refusals in a row
    assert board.line(parts).startswith(f"frames refused: {reason};") and not board.healthy(parts)
    parts.pipeline.analyse(f)
    assert board.frame_analysed() and board.healthy(parts) and board.line(parts).startswith("ok;")
