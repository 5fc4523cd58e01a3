"""The agent's decisions replayed over a capture (replay.py): the agent's own engine and rule decide, so a change
seen in fewer windows in a row than the agent's persistence only warns, and the first event is the agent's."""

from __future__ import annotations

from camdrift.agent.drift.engine import DriftEngine
from camdrift.agent.sim.line import HEALTHY, Drift
from camdrift.calibration.verify.replay import AGENT_PERSISTENCE, AgentReplay, frames_needed
from tests.agent.drift_fixtures import FPS, WINDOW, small_baseline, stats_of

N = 40


def _replay(drift: Drift = HEALTHY, last: int = N) -> AgentReplay:
    """Frames 1000.. of the baseline's line (seed 3, later than the reference), ``drift`` in the ``last`` ones."""
    replay = AgentReplay(small_baseline())
    for i, s in enumerate(stats_of(3, N, drift, onset=1000 + N - last, start=1000)):
        replay.update(s, i, i / FPS)
    return replay


def test_the_rule_is_the_agents():
    assert AGENT_PERSISTENCE == DriftEngine(small_baseline()).persistence == 3
    assert frames_needed(small_baseline()) == WINDOW + AGENT_PERSISTENCE - 1


def test_healthy_capture_leaves_every_statistic_ok():
    replay = _replay()
    assert replay.all_ok and not replay.drift_detected and replay.started is replay.warned is None
    assert (replay.frames, replay.windows) == (N, N - WINDOW + 1)
    assert replay.names[: len(small_baseline().thresholds.names)] == small_baseline().thresholds.names


def test_two_windows_over_the_drift_threshold_only_warn():
    # the light halves in the last 2 frames: every window holding one of them is far over the brightness threshold
    replay = _replay(Drift(gain=0.5), last=2)
    k = replay.names.index("shift.brightness")
    assert replay.run[k] == 2 and replay.peak[k] > small_baseline().thresholds.drift[k]
    assert replay.reached(k) == "warning" and not replay.drift_detected
    assert replay.warned is not None and replay.warned.causes[0].code == "lighting"
    assert replay.events["shift.brightness"].kind == "warning"


def test_three_windows_in_a_row_start_the_agents_episode():
    replay = _replay(Drift(gain=0.5), last=3)
    k = replay.names.index("shift.brightness")
    assert replay.run[k] == 3 and replay.reached(k) == "drift" and replay.drift_detected
    started = replay.started
    assert (
        started.kind == "drift.started"
        and started.frame_index == N - 1
        and started.stream_time == (N - 1) / FPS
    )
    assert started.causes[0].code == "lighting"
    # a statistic that warned first keeps the event that took it into drift
    assert replay.events[started.group].kind == "drift.started"
