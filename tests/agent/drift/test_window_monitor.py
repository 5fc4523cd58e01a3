"""The window statistics family: warming up until the window is full, a step caught after ``persistence``
frames, explained from the frames since the alert (not diluted by the older part of the window), and frames
of other kernel parameters refused."""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np
import pytest

from camdrift.agent.drift.window_monitor import WindowMonitor
from camdrift.agent.sim.line import Drift
from camdrift.kernels import frame_stats
from tests.agent.drift_fixtures import SIZE, WINDOW, small_baseline, stats_of

ONSET = 60


@lru_cache(maxsize=1)
def _stats() -> tuple:
    """The light 15 % up from frame ONSET."""
    return tuple(stats_of(9, ONSET + 12, Drift(gain=1.15), onset=ONSET))


def _monitor(n: int, persistence: int = 3) -> tuple[WindowMonitor, list[tuple[int, str, str]]]:
    m = WindowMonitor(small_baseline(), persistence=persistence)
    events = []
    for i, s in enumerate(_stats()[:n]):
        events += [(i, t.kind, t.group) for t in m.update(m.features(s)).transitions]
    return m, events


def test_warming_up_until_the_window_is_full() -> None:
    m, events = _monitor(WINDOW - 1)
    assert events == [] and m.last is None and not m.full
    assert all(s.warming_up and s.score is None for s in m.statistics())
    m.update(m.features(_stats()[WINDOW - 1]))
    assert m.full and m.last is not None
    assert all(not s.warming_up and s.score is not None for s in m.statistics())


def test_a_step_is_caught_after_persistence_frames_above_drift() -> None:
    m, events = _monitor(ONSET + 12)
    assert all(i >= ONSET for i, _, _ in events)  # the healthy part raises nothing
    first = next(i for i, kind, group in events if kind == "drift" and group == "shift.brightness")
    warned = next(i for i, kind, group in events if group == "shift.brightness")
    assert ONSET < first <= ONSET + 5 and first - warned <= 3
    assert m.drift_detected
    kinds = {s.name: s.kind for s in m.statistics()}
    assert kinds["psi.luma"] == "psi" and kinds["shift.brightness"] == "shift"
    assert kinds["grid.sharpness"] == "grid" and kinds["displacement"] == "displacement"
    assert m.scalar_of("shift.brightness") == "brightness" and m.scalar_of("psi.luma") is None


def test_a_decision_is_explained_from_the_frames_since_the_alert() -> None:
    m, _ = _monitor(ONSET + 4)
    b = small_baseline()
    recent, drift = m.recent(explain_frames=5)
    i = b.scalar_names.index("brightness")
    n = m.frames - m.alert_start + 1
    assert 2 <= n < WINDOW
    assert recent.rel[i] > 2 * m.last.rel[i]  # the whole window still holds mostly healthy frames
    assert recent.rel[i] == pytest.approx(0.15, abs=0.05)
    psi = b.thresholds.names.index("psi.luma")
    assert drift[psi] == pytest.approx(b.thresholds.drift[psi] * WINDOW / n)  # fewer frames: noisier PSI
    assert m.causes(explain_frames=5)[0].code == "lighting"


def test_frames_of_other_kernel_parameters_are_refused() -> None:
    m = WindowMonitor(small_baseline())
    image = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    with pytest.raises(ValueError, match="kernel parameters changed"):
        m.features(frame_stats(image, thumb_size=(8, 8), grid=4))


def test_a_move_is_read_from_the_frames_since_the_alert_and_credited_by_how_many() -> None:
    m = WindowMonitor(small_baseline())
    for s in stats_of(9, ONSET + 12, Drift(shift=(0.06, 0.0)), onset=ONSET):
        m.update(m.features(s))
        if m.alert_start >= 0 and m.frames - m.alert_start + 1 >= 2:
            break
    n = m.frames - m.alert_start + 1
    assert 2 <= n < 5  # early: most of the window, and any 5-frame mean, still shows the old view
    thumb, used = m._recent_thumbnail()
    assert used == n
    np.testing.assert_allclose(thumb, m.window.recent_sums(n).thumbnail / n)
    # the fixture's 16x16 thumbnails are too coarse to tell whether a move explains the change: not discounted
    pose = m.pose()
    assert not pose.resolved and pose.credible == 1.0 and m.move_credible() == 1.0


def test_on_a_fine_grid_a_move_read_from_few_frames_is_credited_by_how_many() -> None:
    from camdrift.agent.drift.displacement import CameraPose

    m = WindowMonitor(small_baseline())
    m._pose = (m.frames, CameraPose(-19.0, 0.0, 0.0, 0.2, 2.0), 2 / 5)  # read from 2 frames since the alert
    assert m.move_credible() == pytest.approx(2 / 5)
    m._pose = (m.frames, CameraPose(-19.0, 0.0, 0.0, 0.2, 2.0, resolved=False), 2 / 5)
    assert m.move_credible() == 1.0


def test_a_format_1_baseline_is_scored_with_the_mean_colour_ratios_it_was_calibrated_with() -> None:
    """Baselines made before format 2 hold mean R/G, B/G; frames must be read the same way until recalibrated."""
    s = _stats()[0]
    new = WindowMonitor(small_baseline())
    old = WindowMonitor(dataclasses.replace(small_baseline(), format_version=1))
    i, j = (new.baseline.scalar_names.index(c) for c in ("rg", "bg"))
    assert (old.features(s).scalars[i], old.features(s).scalars[j]) == (s.rg, s.bg)
    assert new.features(s).scalars[i] != s.rg  # format 2: the ratio of the channel medians
