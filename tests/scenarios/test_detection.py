"""Acceptance: the drift engine on scenario streams of the synthetic production line (real photographs).

- a healthy stream of 20,000 analysed frames raises no drift event;
- every sudden change is caught within 30 analysed frames of its onset (median within 10) with the right top
  cause;
- a lamp losing 20 % of its light linearly over 7 days is caught before 1 % is lost, with a forecast.

The reference each baseline is calibrated on is its own seeded healthy stream, distinct from the test streams.
Detection indices are PINNED: a change in any of them is a behaviour change to look at, not noise (the streams
are deterministic).
"""

from __future__ import annotations

import re
import statistics
from functools import lru_cache

import pytest

from camdrift.agent.drift.engine import DriftEngine
from camdrift.agent.reference.baseline import Baseline
from camdrift.agent.sim.scenarios import SCENARIOS, scenario_stream
from camdrift.calibration.bench.scenario_suite import SIZE, SUDDEN, TEST_SEED, first_affected, reference
from camdrift.kernels import FrameStats, frame_stats

pytestmark = pytest.mark.slow

# The reference, the streams and the first affected frame come from the scenario suite that
# `camdrift bench --detection` runs (one implementation); tests/calibration/bench/test_scenario_suite.py checks
# the bench agrees.
# analysed frames from the first affected frame to drift.started, measured on seed TEST_SEED
PINNED_DELAY = {
    "gain_step": 3,  # issue #14: the thresholds price the reference's own uncertainty (2 before)
    "gain_step_dark": 2,
    "gamma": 2,
    "white_balance": 4,  # colour ratios of channel medians, which the passing cups barely move (10 with means)
    "defocus": 2,
    "camera_shift": 4,
    "camera_shift_rotated": 5,  # 3 % of the width and 1 degree (the corpus scenes issue)
    "smudge": 4,
    "noise": 5,
    "new_product": 4,
}
PINNED_LAMP_FRAME = 550


def _baseline(fps: float) -> Baseline:
    return reference(fps).baseline  # 3000 healthy frames of seed 101, window 20, cached per process


def _first_drift(baseline: Baseline, stats: list[FrameStats], times: list[float]):
    engine = DriftEngine(baseline)
    for i, (s, t) in enumerate(zip(stats, times, strict=True)):
        for d in engine.update(s, i, t).decisions:
            if d.kind == "drift.started":
                return d
    return None


def test_stationary_stream_raises_no_drift_event() -> None:
    b = _baseline(5.0)
    engine = DriftEngine(b)
    drift_events, warnings = [], 0
    n = 20_000
    for f in scenario_stream("stationary", n, seed=TEST_SEED, size=SIZE):
        for d in engine.update(frame_stats(f.image), f.index, f.t).decisions:
            if d.kind.startswith("drift."):
                drift_events.append((d.kind, d.group, d.frame_index))
            else:
                warnings += 1
    print(
        f"stationary: {n} frames, {len(drift_events)} drift events, {warnings} warnings, state {engine.nbytes} B"
    )
    assert drift_events == []


@lru_cache(maxsize=1)
def _sudden_results() -> dict[str, tuple[int | None, str]]:
    """name -> (analysed frames from the first affected frame to drift.started, top cause)."""
    b = _baseline(5.0)
    out = {}
    for name in (*SUDDEN, "new_variant_matched"):
        start = first_affected(name)
        frames = list(scenario_stream(name, start + 31, seed=TEST_SEED, size=SIZE))
        d = _first_drift(b, [frame_stats(f.image) for f in frames], [f.t for f in frames])
        out[name] = (None, "") if d is None else (d.frame_index - start, d.top_cause)
    print("sudden delays (frames after the first affected frame, top cause):", out)
    return out


@pytest.mark.parametrize("name", SUDDEN)
def test_sudden_change_caught_within_30_frames_with_the_right_cause(name: str) -> None:
    delay, cause = _sudden_results()[name]
    assert delay is not None and 0 <= delay <= 30, f"{name}: delay {delay}"
    assert cause == SCENARIOS[name].expected_cause
    assert delay == PINNED_DELAY[name]


def test_median_delay_within_10_frames() -> None:
    delays = [_sudden_results()[n][0] for n in SUDDEN]
    assert statistics.median(delays) <= 10


def test_histogram_matched_variant_is_left_to_the_activation_monitor() -> None:
    """A new object whose colour histograms match the usual product's is invisible to low-level statistics by
    construction: the pixel groups do not fire. The activation group catches it (test_activation_detection.py).
    Pinned so a change shows."""
    assert _sudden_results()["new_variant_matched"] == (None, "")


def test_lamp_decay_caught_before_one_percent_loss_with_a_forecast() -> None:
    fps = 1 / 60
    b = _baseline(fps)
    scenario = SCENARIOS["lamp_decay"]
    onset = scenario.onset_frame
    one_percent = onset + round(0.01 / 0.2 * 7 * 86400 * fps)  # frame at which 1 % of the light is lost
    engine = DriftEngine(b)
    caught = None
    for f in scenario_stream("lamp_decay", one_percent + 1, seed=TEST_SEED, size=SIZE):
        for d in engine.update(frame_stats(f.image), f.index, f.t).decisions:
            if d.kind == "drift.started" and caught is None:
                caught = d
        if caught is not None:
            break
    assert caught is not None, "lamp decay not caught before 1 % loss"
    loss = 0.2 * (caught.frame_index - onset) / (7 * 86400 * fps)
    print(f"lamp decay: caught at frame {caught.frame_index} ({100 * loss:.2f} % lost) by {caught.group}: "
          f"{caught.causes[0].text}; {caught.forecast}")  # fmt: skip
    assert caught.frame_index > onset
    assert caught.top_cause == "lighting"
    assert "crosses tolerance in ~" in caught.forecast
    soonest, latest = (
        float(x) for x in re.search(r"\(([0-9.]+)-([0-9.]+) at 95 %\)", caught.forecast).groups()
    )
    true_days = (engine.tolerance - loss) / 0.2 * 7  # from detection until 10 % of the light is gone
    assert soonest <= true_days <= latest, (true_days, caught.forecast)
    assert caught.frame_index == PINNED_LAMP_FRAME
