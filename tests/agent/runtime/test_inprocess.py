"""In-process mode: the app calls submit() on its own thread; the agent analyses on a background thread."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from camdrift.agent.config import parse_config
from camdrift.agent.output.sinks import read_jsonl
from camdrift.agent.reference.baseline import save_baseline
from camdrift.agent.runtime.inprocess import Agent
from camdrift.agent.sim.line import HEALTHY, Drift, ProductionLine
from tests.agent.drift_fixtures import small_baseline


def in_process_config(tmp_path: Path, cpu_budget: float):
    save_baseline(small_baseline(), tmp_path / "baseline.npz")
    return parse_config(
        {
            "camera": {"id": "press-1"},
            "source": {"uri": "synthetic:stationary"},  # unused: frames come from submit()
            "analysis": {"max_fps": 5.0, "cpu_budget": cpu_budget},
            "baseline": {"path": str(tmp_path / "baseline.npz")},
            "state": {"dir": str(tmp_path / "state")},
            "sinks": {"jsonl": {"path": str(tmp_path / "events.jsonl")}, "console": {"enabled": False}},
        }
    )


@pytest.fixture
def agent(tmp_path: Path):
    # These tests hand frames far faster than stream time passes; a whole core of budget keeps the analysis
    # rate as configured (one agent thread cannot use more), so every due frame is taken.
    a = Agent(in_process_config(tmp_path, cpu_budget=1.0)).start()
    yield a
    a.stop()


def test_the_budget_charges_the_agent_thread_not_the_app(tmp_path: Path) -> None:
    """The app burns a whole core on its own thread while it hands 10 frames a second; the agent's budget
    (15 % of a core) counts only the agent thread, so it stays within budget at the configured 5 fps (it
    charged the whole process before: the analysis fell to the 0.2 fps floor)."""
    agent = Agent(in_process_config(tmp_path, cpu_budget=0.15)).start()
    try:
        frame = ProductionLine(seed=8, width=160, height=120).frame(0)
        start = time.monotonic()
        next_frame = start
        while time.monotonic() < start + 7.0:
            now = time.monotonic()
            if now >= next_frame:
                agent.submit(frame, ts=now)
                next_frame += 0.1
            sum(range(2000))  # the app's own work, between frames
        sampler = agent.daemon.parts.sampler
        assert sampler.budget.windows >= 1 and sampler.budget.fraction < 0.15, sampler.describe()
        assert sampler.level == 0 and sampler.fps == 5.0
        assert sampler.analysed >= 25  # ~5 a second
        assert agent.daemon.loader_pages.released_kib == 0  # the host's memory is the host's
    finally:
        agent.stop()


def wait_idle(agent: Agent, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not agent.mailbox.wants() and time.monotonic() < end:
        time.sleep(0.001)


def test_submitted_frames_are_analysed_and_drift_reported(agent: Agent, tmp_path: Path) -> None:
    line = ProductionLine(seed=8, width=160, height=120, fps=5.0)
    for i in range(450):
        assert agent.submit(line.frame(i, Drift(gain=0.85) if i >= 300 else HEALTHY), ts=i / 5.0)
        wait_idle(agent)
    agent.stop()
    events = [d for d in read_jsonl(tmp_path / "events.jsonl") if d["schema"] == "camdrift.event/1"]
    started = next(e for e in events if e["kind"] == "drift.started")
    assert 300 <= started["frame_index"] < 330
    assert started["camera_id"] == "press-1"
    assert (tmp_path / "state/engine-state.npz").exists()


def test_submit_never_waits_drops_when_busy_or_not_due(agent: Agent) -> None:
    frame = ProductionLine(seed=8, width=160, height=120).frame(0)
    assert agent.submit(frame, ts=0.0)
    wait_idle(agent)
    assert not agent.submit(frame, ts=0.05)  # 5 fps: the next frame is due at 0.2 s
    assert agent.mailbox.dropped == 1
    dropped = agent.mailbox.dropped
    taken = sum(agent.submit(frame, ts=1.0 + k) for k in range(200))  # far faster than the agent analyses
    assert 1 <= taken < 200  # the ones offered while the agent was busy were dropped, not queued
    assert agent.mailbox.dropped - dropped == 200 - taken


def test_wrong_frames_are_counted_not_raised(agent: Agent) -> None:
    assert not agent.submit(np.zeros((120, 160), np.uint8), ts=0.0)
    assert not agent.submit(np.zeros((120, 160, 3), np.float32), ts=0.2)
    assert agent.rejected == 2


def test_an_app_restarting_its_clock_keeps_being_analysed(agent: Agent) -> None:
    line = ProductionLine(seed=8, width=160, height=120, fps=5.0)
    for i in range(30):
        assert agent.submit(line.frame(i), ts=100.0 + i / 5.0)
        wait_idle(agent)
    taken = 0
    for i in range(30):  # the app restarted: its timestamps start again from 0
        taken += agent.submit(line.frame(i), ts=i / 5.0)
        wait_idle(agent)
    assert taken == 30
    assert agent.daemon.pipeline.counters.analysed == 60
