"""Stream time never goes back: a source that restarts its clock keeps being analysed on the same windows."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest

from camdrift.agent.frames import Frame
from camdrift.agent.runtime.continuity import StreamTimeline


def frame(t: float) -> Frame:
    return Frame(np.zeros((2, 2), np.uint8), 0, t, "gray8")


def test_frames_moving_forward_are_left_alone():
    line = StreamTimeline()
    f = frame(1.0)
    assert line.place(f, last=-math.inf, step=0.2) is f
    assert line.place(frame(1.2), last=1.0, step=0.2).stream_time == 1.2
    assert line.offset == 0.0


def test_a_restarted_clock_continues_one_period_after_the_last_frame(caplog):
    line = StreamTimeline()
    with caplog.at_level(logging.INFO, logger="camdrift.agent"):
        placed = line.place(frame(0.0), last=23.8, step=0.2)
    assert placed.stream_time == pytest.approx(24.0)
    assert "stream time went back from 23.800 s to 0.000 s" in caplog.text
    # later frames of the restarted source keep the offset: spacing as the source gave it
    assert line.place(frame(0.5), last=24.0, step=0.2).stream_time == pytest.approx(24.5)
    assert line.offset == pytest.approx(24.0)


def test_each_jump_back_adds_to_the_offset():
    line = StreamTimeline()
    line.place(frame(0.0), last=10.0, step=1.0)  # offset 11
    assert line.place(frame(0.0), last=15.0, step=1.0).stream_time == pytest.approx(16.0)
    assert line.offset == pytest.approx(16.0)


def test_the_timeline_never_goes_back_when_the_engine_behind_it_is_replaced():
    """A reload with another baseline starts an engine with no stream time (-inf): the timeline remembers the
    last frame it placed, so a source that restarts its clock afterwards still continues, not from 0."""
    line = StreamTimeline()
    line.place(frame(29.8), last=29.6, step=0.2)
    assert line.last == 29.8
    assert line.place(frame(0.0), last=-math.inf, step=0.2).stream_time == pytest.approx(30.0)
    assert line.place(frame(19.8), last=-math.inf, step=0.2).stream_time == pytest.approx(49.8)


def test_source_times_are_put_on_the_timeline():
    """A source event names the source's last frame on its own clock: on the timeline it is that frame's time,
    never later than the last frame placed."""
    line = StreamTimeline()
    assert line.at(None) is None and line.at(math.nan) is None and line.at(3.0) == 3.0
    line.place(frame(29.9), last=-math.inf, step=0.2)
    assert line.at(29.9) == 29.9  # source.lost after the frame at 29.9
    restored = line.place(frame(0.0), last=29.9, step=0.2)  # the reopened source's first frame
    assert line.at(0.0) == restored.stream_time == pytest.approx(30.1)  # source.restored names it
    assert line.at(29.9) == pytest.approx(30.1)  # a frame read before the restart: not after the newest


def test_a_saved_state_is_restored_for_its_own_source_only(tmp_path):
    from camdrift.agent.runtime.continuity import record_state_source, source_identity, state_source_problem

    state, record = tmp_path / "engine-state.npz", tmp_path / "engine-state.source.json"
    video = tmp_path / "a.avi"
    video.write_bytes(b"frames")
    a = source_identity(f"video:{video}")
    assert a.startswith(f"video:{video}") and a == source_identity(f"video:{tmp_path}/./a.avi")
    assert source_identity("shm:line7") == "shm:line7"
    state.write_bytes(b"state of a")
    assert "no record" in state_source_problem(state, record, a)  # an older agent's state: not trusted
    record_state_source(state, record, a)
    assert state_source_problem(state, record, a) is None
    assert "belongs to the source" in state_source_problem(state, record, source_identity("video:b.avi"))
    state.write_bytes(b"a newer state, killed before its record was written")
    assert "another state file" in state_source_problem(state, record, a)
    video.write_bytes(b"another recording at the same path")
    assert source_identity(f"video:{video}") != a
