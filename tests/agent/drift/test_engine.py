"""The drift engine: a seeded step is caught, explained and ended; replay is deterministic; stream time never
goes back; the snapshot callers read names every statistic with its verdict, score and threshold."""

from __future__ import annotations

import dataclasses
import doctest
from functools import lru_cache

import numpy as np
import pytest

import camdrift.agent.drift.engine as engine_module
from camdrift.agent.drift.engine import DriftEngine
from camdrift.agent.sim.line import HEALTHY, Drift, ProductionLine
from camdrift.kernels import FrameStats, frame_stats
from tests.agent.drift_fixtures import (
    FPS,
    KERNEL,
    SIZE,
    activation_features,
    activation_reference,
    small_baseline,
)

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


def test_state_reports_its_bytes() -> None:
    engine = DriftEngine(small_baseline())
    _run(engine, 0, 50)
    s = engine.state
    assert s.frames == 50 and s.window_count == 20 and s.episode_id == ""
    assert s.nbytes == engine.pixels.window.nbytes + engine.slow.minutes.nbytes + engine.slow.hours.nbytes
    assert all(state == "ok" for _, state in s.groups)


def test_time_must_not_go_back() -> None:
    engine = DriftEngine(small_baseline())
    engine.update(_stream()[0], 0, 10.0)
    with pytest.raises(ValueError, match="earlier"):
        engine.update(_stream()[1], 1, 9.0)


def test_docstring_example() -> None:
    assert doctest.testmod(engine_module).failed == 0


def test_snapshot_names_every_statistic_with_its_verdict_score_and_threshold() -> None:
    engine = DriftEngine(small_baseline())
    th = small_baseline().thresholds
    snap = engine.snapshot()
    assert [s.name for s in snap.statistics] == [g.name for g in engine.all_groups]
    assert not snap.window_full and not snap.scored and snap.episode_id == ""
    window = [s for s in snap.statistics if s.kind != "cusum"]
    assert [s.name for s in window] == list(th.names)
    assert all(s.warming_up and s.score is None and s.verdict == "ok" for s in window)
    assert {s.kind for s in window} == {"psi", "shift", "grid", "displacement"}
    assert [s.threshold for s in window] == [float(d) for d in th.drift]
    cusums = [s for s in snap.statistics if s.kind == "cusum"]
    assert len(cusums) == len(small_baseline().scalar_names)
    assert all(not s.warming_up and s.score == 0.0 and s.threshold == th.cusum_h for s in cusums)
    _run(engine, 0, ONSET + 30)
    snap = engine.snapshot()
    assert snap.window_full and snap.scored and snap.frame_index == ONSET + 29
    assert snap.episode_id == engine.state.episode_id != ""
    by_name = {s.name: s for s in snap.statistics}
    assert by_name["shift.brightness"].verdict == "drift" and not by_name["shift.brightness"].warming_up
    assert by_name["shift.brightness"].score == pytest.approx(
        float(engine.last.scores[th.index("shift.brightness")])
    )


def test_evidence_is_the_windows_histograms_and_mean_thumbnail() -> None:
    engine = DriftEngine(small_baseline())
    _run(engine, 0, 30)
    ev = engine.evidence()
    feats = [engine.pixels.features(s) for s in _stream()[10:30]]  # the last window of 20 frames
    np.testing.assert_array_equal(ev.counts, np.sum([f.counts for f in feats], axis=0))
    np.testing.assert_allclose(ev.thumbnail, np.mean([f.thumbnail for f in feats], axis=0), rtol=1e-12)


def test_activation_summaries_feed_their_group_and_rejections_are_counted() -> None:
    b = dataclasses.replace(small_baseline(), activations=activation_reference())
    engine = DriftEngine(b)
    assert engine.watches_activations
    acts = activation_features(40, 12, seed=8)
    for i in range(40):
        engine.update(_stream()[i], i, i / FPS, activations=acts[i] if i % 2 == 0 else None)
    engine.reject_activation("model_error")
    m = engine.activations
    assert m.samples == 20 and dict(m.rejected) == {"model_error": 1}
    assert [s.kind for s in engine.snapshot().statistics][-3:] == ["act"] * 3
    assert not DriftEngine(b, activations=False).watches_activations
    DriftEngine(b, activations=False).reject_activation("model_error")  # nothing to count: no group


def test_a_fresh_engine_keeps_the_settings_and_starts_with_empty_windows() -> None:
    engine = DriftEngine(
        small_baseline(), camera_id="other", recovery=7, minute_buckets=60, activations=False
    )
    _run(engine, 0, 30)
    fresh = engine.fresh()
    assert fresh.camera_id == "other" and fresh.recovery == 7 and fresh.slow.minutes.n_buckets == 60
    assert fresh.pixels.frames == 0 and fresh.stream_time == -np.inf and not fresh.has_scored
    assert [g.name for g in fresh.all_groups] == [g.name for g in engine.all_groups]


def _episode_ids(decisions: list) -> list[str]:
    return [d.episode_id for d in decisions if d.kind == "drift.started"]


def test_episode_ids_name_the_source_and_replay_gives_the_same_ones() -> None:
    """Two recordings with identical content timing: the same decisions, but each source its own episode ids;
    the same recording replayed on a fresh engine: the same ids."""
    dark = _episode_ids(_run(DriftEngine(small_baseline()).for_source("video:/data/dark.avi")))
    blur = _episode_ids(_run(DriftEngine(small_baseline()).for_source("video:/data/blur.avi")))
    assert len(dark) == len(blur) == 1 and dark != blur
    assert _episode_ids(_run(DriftEngine(small_baseline()).for_source("video:/data/dark.avi"))) == dark
    engine = DriftEngine(small_baseline(), recovery=7).for_source("shm:line7")
    assert engine.fresh().episodes.source_id == "shm:line7"  # and so does the engine a state is loaded into


def test_a_restart_on_the_same_live_source_gives_new_ids_for_new_episodes(tmp_path) -> None:
    """The state is restored and the source's clock starts again at 0 (frame indices too): the agent continues on
    the saved stream time (the continuity offset), so the same content's next episode is a new episode."""
    first = DriftEngine(small_baseline()).for_source("shm:line7")
    before = _episode_ids(_run(first))
    first.save_state(tmp_path / "state.npz")
    second = DriftEngine(small_baseline()).for_source("shm:line7").load_state(tmp_path / "state.npz")
    offset = first.stream_time + 1 / FPS
    after = []
    for i in range(N):  # the same frames again, on the continued stream time
        after += second.update(_stream()[i], i, offset + i / FPS).decisions
    assert len(before) == 1 and len(_episode_ids(after)) == 1
    assert _episode_ids(after) != before
