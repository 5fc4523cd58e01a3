"""ReopeningSource: backoff, stall detection, and a real tap producer killed and restarted."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from camdrift.agent.frames import Frame, SourceCounters, SourceError
from camdrift.agent.sources import ReopeningSource, open_source
from camdrift.agent.sources.base import FrameSource

HERE = Path(__file__).parents[1]  # tests/agent: the shared _tap_producer.py


class ScriptedSource:
    """A source following a script: "fail" (open or read raises SourceError), "frame", "none" (timeout)."""

    def __init__(self, opens: list[bool], reads: list[str]) -> None:
        self.opens = list(opens)
        self.reads = list(reads)
        self.counters = SourceCounters()
        self.index = 0
        self.open_calls = 0
        self.request_interval = 0.0

    def describe(self) -> str:
        return "scripted"

    def set_request_interval(self, seconds: float) -> None:
        self.request_interval = seconds

    def open(self) -> None:
        self.open_calls += 1
        if not (self.opens.pop(0) if self.opens else True):
            raise SourceError("camera unreachable")

    def close(self) -> None:
        pass

    def read(self, timeout: float) -> Frame | None:
        step = self.reads.pop(0) if self.reads else "none"
        if step == "fail":
            raise SourceError("stream broke")
        if step == "none":
            return None
        self.index += 1
        return Frame(np.zeros((2, 2), np.uint8), self.index, float(self.index), "gray8")


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


def test_reopen_with_exponential_backoff_until_the_source_recovers():
    t = FakeTime()
    inner = ScriptedSource(
        opens=[True, False, False, False, False, False, True], reads=["frame", "fail", "frame"]
    )
    src = ReopeningSource(inner, backoff_initial=0.5, backoff_max=3.0, clock=t.clock, sleep=t.sleep)
    assert src.read(1.0).frame_index == 1
    assert src.read(1.0) is None  # "stream broke"
    retries = []
    while (frame := src.read(10.0)) is None:
        retries.append(t.now)
    assert frame.frame_index == 2
    assert inner.open_calls == 7
    # Attempts at 0.5, 1.5, 3.5, 6.5, 9.5, 12.5 s after the loss: 0.5 s doubling, capped at 3 s.
    attempt_times = [s for s in np.cumsum(t.sleeps)]
    assert attempt_times == pytest.approx([0.5, 1.5, 3.5, 6.5, 9.5, 12.5])
    events = src.drain_events()
    assert [e.kind for e in events] == ["source.lost", "source.restored"]
    assert events[0].reason == "stream broke" and events[0].frame_index == 1
    assert src.losses == 1 and src.lost_reason is None


def test_open_failure_at_start_is_reported_not_raised():
    t = FakeTime()
    src = ReopeningSource(ScriptedSource([False, True], ["frame"]), clock=t.clock, sleep=t.sleep)
    src.open()
    assert src.lost_reason == "camera unreachable"
    assert src.read(5.0) is None and src.read(5.0).frame_index == 1
    assert [e.kind for e in src.drain_events()] == ["source.lost", "source.restored"]


def test_stall_detection():
    t = FakeTime()
    inner = ScriptedSource([], ["frame", "none", "none", "none", "frame"])
    src = ReopeningSource(inner, stall_timeout=2.0, backoff_initial=0.1, clock=t.clock, sleep=t.sleep)
    kinds = []
    for second in range(5):
        t.now = float(second)  # each read waits its whole 1 s timeout
        frame = src.read(1.0)
        kinds.append((frame is not None, [e.kind for e in src.drain_events()]))
    assert kinds == [
        (True, []),
        (False, []),
        (False, ["source.lost"]),  # 2 s without a frame
        (False, []),  # reopened after the backoff, nothing yet
        (True, ["source.restored"]),
    ]
    assert inner.open_calls == 2 and src.describe() == "scripted [ok]"


def test_the_request_interval_reaches_the_wrapped_source_and_survives_a_reopen():
    """The daemon sets the analysis period once, on the wrapper; the frame tap behind it must keep asking at
    that rate after every reconnect."""
    t = FakeTime()
    inner = ScriptedSource(opens=[True, True], reads=["frame", "fail", "frame"])
    src = ReopeningSource(inner, backoff_initial=0.1, clock=t.clock, sleep=t.sleep)
    assert isinstance(src, FrameSource)
    src.set_request_interval(0.2)
    assert inner.request_interval == 0.2
    src.read(1.0)
    src.read(1.0)  # broke: closed, reopened below
    while src.read(1.0) is None:
        pass
    assert inner.open_calls == 2 and inner.request_interval == 0.2


@pytest.fixture
def tap_name():
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    for leftover in Path("/dev/shm").glob(f"camdrift-tap.{name}*"):
        leftover.unlink()


def start_producer(name: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "_tap_producer.py"), name], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().startswith("ready")
    return proc


def test_tap_source_survives_producer_kill_and_restart(tap_name):
    src = ReopeningSource(
        open_source(f"shm:{tap_name}"), stall_timeout=5.0, backoff_initial=0.02, backoff_max=0.1
    )
    procs = [start_producer(tap_name)]
    try:

        def read_until(pred, limit=20.0):
            end = time.monotonic() + limit
            events = []
            while time.monotonic() < end:
                frame = src.read(0.2)
                events += src.drain_events()
                if pred(frame, events):
                    return events
            raise AssertionError(f"condition not reached; events {events}")

        read_until(lambda f, ev: f is not None)
        procs[0].kill()
        procs[0].wait(10)
        lost = read_until(lambda f, ev: any(e.kind == "source.lost" for e in ev))
        assert f"pid {procs[0].pid}" in lost[0].reason
        procs.append(start_producer(tap_name))
        restored = read_until(lambda f, ev: f is not None)
        assert [e.kind for e in restored] == ["source.restored"]
    finally:
        src.close()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
            p.stdout.close()
