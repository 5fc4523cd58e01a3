"""The simple baselines of ``camdrift bench --detection`` (peers.py), on small seeded series: Page-Hinkley follows
river's recurrence and catches a seeded mean step both ways; folklore PSI's window statistic equals PSI
recomputed from scratch, with its fixed 0.1 / 0.25 rule; both restart after an alarm as river's detectors do."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from camdrift.calibration.bench import peers
from camdrift.calibration.bench.peers import FolklorePsi, PageHinkley, psi_bins
from camdrift.kernels import psi, rebin


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


def test_page_hinkley_one_sided_modes():
    xs = np.r_[np.full(100, 10.0), np.full(100, 0.0)]  # a step down only
    ph_up, ph_down = PageHinkley(mode="up"), PageHinkley(mode="down")
    up_alarms = [i for i, x in enumerate(xs) if ph_up.update(float(x)).drift_detected]
    down_alarms = [i for i, x in enumerate(xs) if ph_down.update(float(x)).drift_detected]
    assert up_alarms == [] and down_alarms and 100 <= down_alarms[0] < 110
    assert ph_down.value >= 0.0


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: PageHinkley(mode="sideways"), "mode must be"),
        (lambda: PageHinkley(threshold=0), "threshold > 0"),
        (lambda: FolklorePsi(np.ones(256), window=0), "window must be >= 1"),
        (lambda: FolklorePsi(np.ones(256), warn=0.3, alarm=0.2), "warn <= alarm"),
        (lambda: psi_bins(np.ones(256), binning="log"), "binning must be"),
    ],
)
def test_bad_settings_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_docstring_examples_run():
    assert doctest.testmod(peers).failed == 0
