"""The detection scenario suite behind ``camdrift bench --detection``, and the peer baselines it runs.

- the suite's camdrift numbers are the ones test_detection.py pins (one truth, imported from there);
- Page-Hinkley follows river's recurrence and catches a seeded mean step both ways; folklore PSI's window
  statistic equals PSI recomputed from scratch, and its fixed rule reads as measured on the healthy line;
- the bench section runs from the CLI (quick mode: the same code over short streams);
- alibi-detect's CVMDriftOnline driver runs in ``.venv-peers`` (skipped when that venv is absent).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from camdrift.agent.sim.scenarios import SCENARIOS
from camdrift.calibration.bench import peer_cvm
from camdrift.calibration.bench.detection import CHANGED, run_suite, summary
from camdrift.calibration.bench.peers import FolklorePsi, PageHinkley, psi_bins
from camdrift.calibration.bench.scenario_suite import (
    ACTIVATION_ONLY,
    QUICK,
    SUDDEN,
    SuiteSettings,
    outcome,
    reference,
    run_stream,
)
from camdrift.kernels import psi, rebin
from tests.scenarios.test_detection import PINNED_DELAY, PINNED_LAMP_FRAME

pytestmark = pytest.mark.slow

# test_detection.py watches each sudden change for 30 frames and the lamp until 1 % of its light is lost
PINNED_SETTINGS = SuiteSettings(horizon=30, lamp_loss=0.01)


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


def test_suite_lamp_decay_is_the_pinned_frame() -> None:
    run = run_stream("lamp_decay", PINNED_SETTINGS)
    o = outcome("camdrift", run, run.alarms["camdrift"])
    assert o.detected_at == PINNED_LAMP_FRAME and o.cause == "lighting"
    # the light lost at detection, from the scenario's own ramp: 20 % over 7 days of one frame a minute
    assert o.light_lost == pytest.approx(0.2 * (PINNED_LAMP_FRAME - 300) / (7 * 24 * 60))


# --- peers on small seeded series -----------------------------------------------------------------------------


def _river_page_hinkley(xs, min_instances=30, delta=0.005, threshold=50.0, alpha=1 - 0.0001):
    """river.drift.PageHinkley (mode "both") transcribed loop by loop, restarting after a drift: alarm indices."""
    out, reset = [], True
    for i, x in enumerate(xs):
        if reset:
            n, mean, s_inc, s_dec, min_inc, max_dec = 0, 0.0, 0.0, 0.0, float("inf"), -1.0
            reset = False
        n += 1
        mean += (x - mean) / n
        s_inc = alpha * s_inc + (x - mean) - delta
        s_dec = alpha * s_dec + (x - mean) + delta
        min_inc, max_dec = min(min_inc, s_inc), max(max_dec, s_dec)
        if n >= min_instances and (s_inc - min_inc > threshold or max_dec - s_dec > threshold):
            out.append(i)
            reset = True
    return out


@pytest.mark.parametrize("step", (3.0, -3.0))
def test_page_hinkley_catches_a_mean_step_both_ways(step: float) -> None:
    # Page-Hinkley's threshold is in the units of x and its sums random-walk: on unit-variance noise it false
    # alarms after roughly a thousand values (seed 5: at 814), so the step comes at 500.
    rng = np.random.default_rng(5)
    xs = rng.normal(100.0, 1.0, 1000) + step * (np.arange(1000) >= 500)
    ph = PageHinkley()
    alarms = [i for i, x in enumerate(xs) if ph.update(float(x)).drift_detected]
    assert alarms == _river_page_hinkley(xs)
    first = [i for i in alarms if i >= 500][0]
    assert 500 <= first <= 500 + 40  # a 3-sd step needs ~50 / 3 values past the threshold
    assert [i for i in alarms if i < 500] == []
    assert all(b - a >= 30 for a, b in zip(alarms, alarms[1:], strict=False))  # restarts: min_instances again


def test_folklore_psi_window_equals_psi_from_scratch() -> None:
    rng = np.random.default_rng(3)
    hists = [np.bincount(rng.normal(90 + (i >= 60) * 25, 30, 3000).clip(0, 255).astype(int), minlength=256)
             for i in range(120)]  # fmt: skip
    ref = np.sum(hists[:50], axis=0)
    det = FolklorePsi(ref, window=7)
    lut = psi_bins(ref)
    b = int(lut[-1]) + 1
    since_reset = 0
    for i, h in enumerate(hists):
        alarmed = det.drift_detected
        det.update(h)
        since_reset = 1 if alarmed else since_reset + 1
        if since_reset < 7:
            assert np.isnan(det.value), f"frame {i}: the window refills after an alarm"
            continue
        expected = psi(rebin(ref, lut, b), rebin(np.sum(hists[i - 6 : i + 1], axis=0), lut, b))
        assert det.value == pytest.approx(expected, rel=1e-12)
        assert det.drift_detected == (expected > 0.25)
        assert det.warning_detected == (expected > 0.1)
    assert psi_bins(ref, binning="uniform").max() == 9


# --- the bench section ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quick_bench():
    return run_suite(QUICK)


def test_quick_suite_scores_every_detector_on_every_stream(quick_bench) -> None:
    b = quick_bench
    assert b.detectors == ("camdrift", "psi", "page-hinkley")
    assert {(o.detector, o.scenario) for o in b.outcomes} == {(d, n) for d in b.detectors for n in CHANGED}
    assert [q.frames for q in b.quiet] == [QUICK.stationary_frames] * 3
    s = summary(b, "camdrift")
    assert s["streams"] == len(SUDDEN) + 1 and s["false_alarms_per_10k"] == 0.0
    # Measured on the synthetic line: folklore PSI over 20-frame windows of 76,800 px sits near 0 when healthy
    # (windows above its 0.1 warning: 0 %) and a 15 % brightness step only reaches ~0.23: it is too deaf here,
    # not the constant alarm it is on many real lines. Pinned as a band so a change of the line shows.
    psi_quiet = next(q for q in b.quiet if q.detector == "psi")
    assert psi_quiet.warn_fraction < 0.05
    assert b.get("psi", "gain_step").detected_at is None
    # Page-Hinkley watches mean brightness only: blind to a change that leaves it (sensor noise x2.5)
    assert b.get("page-hinkley", "noise").detected_at is None
    assert b.get("page-hinkley", "gain_step").detected_at is not None
    text = b.format()
    assert "alibi-detect:" in text and "top cause right" in text


def test_bench_detection_cli_quick_json_and_missing_peers_venv(tmp_path) -> None:
    env = {**os.environ, "CAMDRIFT_PEERS_VENV": str(tmp_path / "absent")}
    cmd = [sys.executable, "-m", "camdrift.agent.cli", "bench", "--no-kernels", "--detection"]
    proc = subprocess.run(
        [*cmd, "--detection-quick", "--peers", "--json"], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)["detection"]
    assert doc["detectors"] == ["camdrift", "psi", "page-hinkley"]
    assert "alibi-detect: not installed (run scripts/peers-venv)" in doc["notes"]
    assert doc["summary"]["camdrift"]["detected"] == len(SUDDEN) + 1
    assert doc["settings"]["stationary_frames"] == QUICK.stationary_frames


# --- alibi-detect's CVMDriftOnline, in its own venv -----------------------------------------------------------


@pytest.mark.skipif(peer_cvm.peers_python() is None, reason=".venv-peers absent (run scripts/peers-venv)")
def test_cvm_driver_in_the_peers_venv_catches_a_step_and_reuses_thresholds() -> None:
    rng = np.random.default_rng(11)
    refs = {"a": rng.normal(0, 1, (400, 3)), "b": rng.normal(5, 1, (400, 3))}
    step = rng.normal(0, 1, (300, 3))
    step[200:, 0] += 3.0
    near_b = rng.normal(5, 1, (100, 3))
    streams = {"step": ("a", step), "b_vs_b": ("b", near_b), "b_vs_a": ("a", near_b)}
    r = peer_cvm.run_cvm(
        refs, streams, peer_cvm.peers_python(), ert=500, window_sizes=(10, 20), n_bootstraps=6000, n_ref=200
    )
    assert r.version == "0.13.0" and r.n_ref == 200 and r.frames == 500
    assert any(200 <= i <= 215 for i in r.alarms["step"])
    assert len([i for i in r.alarms["step"] if i >= 200]) > 3 * len([i for i in r.alarms["step"] if i < 200])
    # the second reference got the first one's thresholds with its own data: b is quiet against b, not against a
    assert r.alarms["b_vs_a"] and r.alarms["b_vs_a"][0] <= 10  # the first 10-frame window is full at index 9
    assert len(r.alarms["b_vs_b"]) <= 1


@pytest.mark.skipif(peer_cvm.peers_python() is None, reason=".venv-peers absent (run scripts/peers-venv)")
def test_quick_suite_with_the_alibi_peer(quick_bench) -> None:
    b = run_suite(QUICK, peers=True)  # the in-process streams are cached: this runs the driver only
    assert b.detectors[-2:] == ("alibi-cvm", "alibi-cvm-10")
    assert b.get("camdrift", "gain_step") == quick_bench.get("camdrift", "gain_step")
    every, tenth = b.get("alibi-cvm", "gain_step"), b.get("alibi-cvm-10", "gain_step")
    assert every.detected_at is not None and every.delay_frames <= QUICK.horizon
    assert tenth.detected_at is None or tenth.detected_at % 10 == 0  # mapped back to stream frames
    assert any(n.startswith("alibi CVM: alibi-detect 0.13.0") for n in b.notes)


def test_reference_serves_every_detector() -> None:
    ref = reference(5.0, QUICK.ref_frames, QUICK.n_replicates)
    assert ref.scalars.shape == (QUICK.ref_frames, 6)
    assert ref.luma_hist.sum() == QUICK.ref_frames * 320 * 240
