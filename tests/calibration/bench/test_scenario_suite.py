"""The detection scenario suite behind ``camdrift bench --detection`` (scenario_suite.py).

- the suite's camdrift numbers are the ones tests/scenarios/test_detection.py pins (one truth, imported from
  there), and its reference serves every detector;
- a detector's alarms are scored the way the bench table reads them: delay from the first affected frame,
  alarms before it counted apart, camdrift's cause at the alarm, false alarms per 10,000 healthy frames.
The peers are tested in test_peers.py / test_peer_cvm.py, the bench section in test_detection.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from camdrift.agent.sim.scenarios import SCENARIOS
from camdrift.calibration.bench.scenario_suite import (
    ACTIVATION_ONLY,
    DEFAULT,
    GRADUAL,
    PEER_SCALARS,
    QUICK,
    SUDDEN,
    StreamRun,
    SuiteSettings,
    outcome,
    peer_scalars,
    quiet,
    reference,
    run_stream,
    stream_fps,
    stream_length,
)
from camdrift.kernels import frame_stats
from tests.scenarios.test_detection import PINNED_DELAY, PINNED_LAMP_FRAME

# test_detection.py watches each sudden change for 30 frames and the lamp until 1 % of its light is lost
PINNED_SETTINGS = SuiteSettings(horizon=30, lamp_loss=0.01)


@pytest.mark.slow
@pytest.mark.parametrize("name", (*SUDDEN, *ACTIVATION_ONLY))
def test_suite_camdrift_delays_are_the_pinned_ones(name: str) -> None:
    run = run_stream(name, PINNED_SETTINGS)
    o = outcome("camdrift", run, run.alarms["camdrift"])
    if name in ACTIVATION_ONLY:
        assert o.detected_at is None
        return
    assert (o.delay_frames, o.cause) == (PINNED_DELAY[name], SCENARIOS[name].expected_cause)
    assert o.delay_s == pytest.approx(o.delay_frames / SCENARIOS[name].fps)
    assert o.early_alarms == 0


@pytest.mark.slow
def test_suite_lamp_decay_is_the_pinned_frame() -> None:
    run = run_stream("lamp_decay", PINNED_SETTINGS)
    o = outcome("camdrift", run, run.alarms["camdrift"])
    assert o.detected_at == PINNED_LAMP_FRAME and o.cause == "lighting"
    # the light lost at detection, from the scenario's own ramp: 20 % over 7 days of one frame a minute
    assert o.light_lost == pytest.approx(0.2 * (PINNED_LAMP_FRAME - 300) / (7 * 24 * 60))


@pytest.mark.slow
def test_reference_serves_every_detector() -> None:
    ref = reference(5.0, QUICK.ref_frames, QUICK.n_replicates)
    assert ref.scalars.shape == (QUICK.ref_frames, 6)
    assert ref.luma_hist.sum() == QUICK.ref_frames * 320 * 240


def _run(
    name: str, start: int, n: int, camdrift: tuple[int, ...] = (), causes: tuple[str, ...] = ()
) -> StreamRun:
    """A stream run without rendering: ``n`` frames at 5 fps, changed from frame ``start``."""
    psi = np.full(n, np.nan)
    psi[19:] = np.linspace(0.0, 0.2, n - 19)
    return StreamRun(name, start, np.arange(n) / 5.0, {"camdrift": camdrift}, causes, psi, np.zeros((n, 6)))


def test_outcome_counts_the_delay_from_the_first_affected_frame():
    run = _run("defocus", 40, 80, camdrift=(12, 47, 60), causes=("noise", "defocus", "defocus"))
    o = outcome("camdrift", run, run.alarms["camdrift"])
    assert (o.detected_at, o.delay_frames, o.delay_s) == (47, 7, pytest.approx(1.4))
    assert (o.cause, o.expected_cause, o.early_alarms) == ("defocus", SCENARIOS["defocus"].expected_cause, 1)
    assert math.isnan(o.light_lost)  # a sudden change loses no light
    peer = outcome("psi", run, (39,))
    assert peer.detected_at is None and peer.delay_frames is None and peer.delay_s is None
    assert (peer.cause, peer.early_alarms) == ("", 1)


def test_outcome_of_the_lamp_reads_the_light_lost_at_the_alarm():
    lamp = SCENARIOS["lamp_decay"]
    o = outcome("page-hinkley", _run("lamp_decay", 300, 2000), (1740,))
    assert o.light_lost == pytest.approx(1.0 - lamp.drift_at(1740).gain) and o.light_lost > 0


def test_quiet_scores_false_alarms_per_10k_frames_and_psi_warnings():
    run = _run("stationary", 0, 1000)
    q = quiet("psi", run, (100, 700))
    assert (q.detector, q.frames, q.alarms, q.per_10k) == ("psi", 1000, 2, 20.0)
    full = run.psi_values[19:]
    assert q.warn_fraction == pytest.approx(np.mean(full > 0.1))
    assert math.isnan(quiet("camdrift", run, ()).warn_fraction)


def test_stream_plan_and_peer_scalars():
    assert stream_fps("gain_step") == 5.0 and stream_fps("lamp_decay") == SCENARIOS["lamp_decay"].fps
    assert stream_length("stationary", QUICK) == (0, QUICK.stationary_frames)
    assert DEFAULT.ref_frames == 3000 and QUICK.ref_frames < DEFAULT.ref_frames
    assert set(GRADUAL).isdisjoint(SUDDEN) and set(ACTIVATION_ONLY).isdisjoint(SUDDEN)
    rng = np.random.default_rng(0)
    s = frame_stats(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    x = peer_scalars(s)
    assert x.shape == (len(PEER_SCALARS),) and x.dtype == np.float64
    assert x[0] == s.luma_mean and x[1] == pytest.approx(math.sqrt(s.luma_var))
    assert x[2] == pytest.approx(math.log1p(s.sharpness)) and tuple(x[3:]) == (s.noise_sigma, s.rg, s.bg)


@pytest.mark.slow
def test_stream_length_watches_a_sudden_change_for_the_horizon():
    start, n = stream_length("gain_step", QUICK)
    assert start >= SCENARIOS["gain_step"].onset_frame and n == start + QUICK.horizon + 1
