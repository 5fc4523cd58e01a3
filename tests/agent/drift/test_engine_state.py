"""Engine state: save/restore mid-episode gives the same decisions as no restart; replay is deterministic."""

from __future__ import annotations

import doctest
from functools import lru_cache
from pathlib import Path

import pytest

import camdrift.agent.drift.engine as engine_module
from camdrift.agent.drift.engine import DriftEngine
from camdrift.agent.drift.engine_state import EngineStateError
from camdrift.agent.sim.line import HEALTHY, Drift, ProductionLine
from camdrift.kernels import FrameStats, frame_stats
from tests.agent.drift_fixtures import FPS, KERNEL, SIZE, small_baseline

ONSET, FIX, N = 120, 220, 300


@lru_cache(maxsize=1)
def _stream() -> list[FrameStats]:
    """Healthy, then the light 15 % up at ONSET, back to normal at FIX (a real episode with an end)."""
    line = ProductionLine(seed=9, width=SIZE[0], height=SIZE[1], fps=FPS)
    return [
        frame_stats(line.frame(i, Drift(gain=1.15) if ONSET <= i < FIX else HEALTHY), **KERNEL)
        for i in range(N)
    ]


def _run(engine: DriftEngine, start: int = 0, stop: int = N) -> list:
    out = []
    for i in range(start, stop):
        out += engine.update(_stream()[i], i, i / FPS).decisions
    return out


def test_the_seeded_step_is_caught_explained_and_ended() -> None:
    decisions = _run(DriftEngine(small_baseline()))
    started = [d for d in decisions if d.kind == "drift.started"]
    ended = [d for d in decisions if d.kind == "drift.ended"]
    assert len(started) == 1 and len(ended) == 1
    assert ONSET < started[0].frame_index <= ONSET + 10
    assert started[0].top_cause == "lighting"
    assert FIX < ended[0].frame_index
    assert {d.episode_id for d in decisions if d.kind.startswith("drift.")} == {started[0].episode_id}
    numbers = dict(started[0].numbers)
    assert numbers["z.brightness"] > 0 and "psi.luma" in numbers


def test_replay_gives_identical_decisions() -> None:
    assert _run(DriftEngine(small_baseline())) == _run(DriftEngine(small_baseline()))


def test_restore_mid_episode_gives_the_same_decisions(tmp_path: Path) -> None:
    b = small_baseline()
    whole = _run(DriftEngine(b))
    cut = ONSET + 30
    first = DriftEngine(b)
    before = _run(first, 0, cut)
    assert first.drift_detected  # the episode is open when the process stops
    path = tmp_path / "state.npz"
    first.save_state(path)
    assert [p.name for p in tmp_path.iterdir()] == ["state.npz"]
    second = DriftEngine(b).load_state(path)
    assert second.state == first.state
    after = _run(second, cut, N)
    assert before + after == whole


def test_state_of_another_baseline_is_refused(tmp_path: Path) -> None:
    engine = DriftEngine(small_baseline())
    _run(engine, 0, 30)
    path = tmp_path / "state.npz"
    engine.save_state(path)
    other = DriftEngine(small_baseline(seed=4, n=300))
    with pytest.raises(EngineStateError, match="belongs to baseline"):
        other.load_state(path)
    with pytest.raises(EngineStateError, match="belongs to camera"):
        DriftEngine(small_baseline(), camera_id="elsewhere").load_state(path)


def test_state_reports_its_bytes() -> None:
    engine = DriftEngine(small_baseline())
    _run(engine, 0, 50)
    s = engine.state
    assert s.frames == 50 and s.window_count == 20 and s.episode_id == ""
    assert s.nbytes == engine.window.nbytes + engine.minutes.nbytes + engine.hours.nbytes
    assert all(state == "ok" for _, state in s.groups)


def test_time_must_not_go_back() -> None:
    engine = DriftEngine(small_baseline())
    engine.update(_stream()[0], 0, 10.0)
    with pytest.raises(ValueError, match="earlier"):
        engine.update(_stream()[1], 1, 9.0)


def test_docstring_example() -> None:
    assert doctest.testmod(engine_module).failed == 0
