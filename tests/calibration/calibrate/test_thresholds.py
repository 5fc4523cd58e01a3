"""Threshold calibration: run-length budget, bootstrap at any length, widening, refusal of unusable thresholds,
and folklore vs calibrated (the null: test_null.py, the minimum: test_minimum.py, tails: test_tails.py)."""

from __future__ import annotations

import numpy as np
import pytest

from camdrift.agent.drift.engine import DriftEngine
from camdrift.agent.drift.features import SCALARS
from camdrift.calibration.calibrate.build import build_baseline
from camdrift.calibration.calibrate.tails import variance_upper_factor
from camdrift.calibration.calibrate.thresholds import (
    Budget,
    ThresholdError,
    autocorrelation,
    block_length,
    check_thresholds,
    per_test_level,
    run_length,
)
from camdrift.kernels import KernelParams
from camdrift.kernels.divergence import psi
from tests.agent.drift_fixtures import FPS, KERNEL, SIZE, small_baseline, stats_of


def test_budget_to_per_test_level() -> None:
    assert run_length(30, 5.0) == 30 * 86400 * 5
    # windows sharing more than half their frames are one test: L / (window / 2) tests per run
    assert per_test_level(run_length(30, 5.0), 100) == pytest.approx(50 / 12_960_000)


def test_block_length_follows_the_autocorrelation() -> None:
    rng = np.random.default_rng(1)
    e = rng.normal(size=20_000)
    x = np.empty_like(e)
    x[0] = e[0]
    for i in range(1, len(e)):
        x[i] = 0.8 * x[i - 1] + e[i]
    acf = autocorrelation(np.stack([x, e], axis=1), 100)
    assert acf.shape == (2, 100) and acf[0, 0] == pytest.approx(1.0)
    assert acf[0, 5] == pytest.approx(0.8**5, abs=0.03)
    assert block_length(acf) == 2 * 11  # 0.8**11 < 0.1 <= 0.8**10
    assert block_length(acf[1:]) == 5  # white noise: the minimum


def test_every_reference_length_gets_bootstrap_thresholds_and_a_short_one_wider() -> None:
    """No theoretical fallback: 120 frames (below the minimum, as --force would calibrate them) and 600 frames of
    the same scene both get finite, ordered bootstrap thresholds; the short one is widened more and none of its
    own uncertainty is priced in: at 15 effective windows a null scale may be 2.1x too small (95 %)."""
    short, long = small_baseline(seed=3, n=120).thresholds, small_baseline(seed=3, n=600).thresholds
    for th in (short, long):
        assert th.method == "bootstrap-tail" and th.n_replicates == 400
        assert np.isfinite(th.drift).all() and (0 < th.warn).all() and (th.warn < th.drift).all()
    assert short.n_eff < long.n_eff and short.widening > long.widening > 1.0
    assert short.min_frames > 120 and long.min_frames <= 600  # 120 frames are below the minimum, 600 are not
    assert variance_upper_factor(14.0) == pytest.approx(2.13, abs=0.01)
    assert any("effectively independent windows" in n for n in long.notes)
    assert long.budget == "one per 30 days at 5 fps"


def test_healthy_z_scores_are_unit_scaled_for_a_short_and_a_long_reference() -> None:
    """The engine divides by the sd of (window mean - reference mean), which the bootstrap measures with the
    reference's own noise in it: on healthy streams that did not calibrate, the median over the varying scalars
    of mean z^2 is about 1. (Median, not mean: on this line 60 s of reference miss the sharpness of a rarely
    passing product that the healthy streams show, which no statistic of those 60 s can see; 120 s see it.)"""
    healthy = [stats_of(seed, 400) for seed in (5, 6, 7)]
    for n in (300, 600):
        b = small_baseline(seed=3, n=n)
        z2 = []
        for stream in healthy:
            engine = DriftEngine(b)
            for i, s in enumerate(stream):
                engine.update(s, i, i / FPS)
                if engine.pixels.last is not None and i % 10 == 0:
                    z2.append(engine.pixels.last.z**2)
        varying = b.scalar_std > 1e-9
        mean_z2 = float(np.median(np.mean(np.array(z2)[:, varying], axis=0)))
        assert 0.6 < mean_z2 < 1.4, (n, mean_z2)


def test_unusable_thresholds_are_refused_naming_the_statistic() -> None:
    names = ("psi.luma", "shift.noise")
    check_thresholds(names, np.array([0.1, 1.0]), np.array([0.2, 2.0]))
    for warn, drift in (([0.1, np.nan], [0.2, 2.0]), ([0.1, 1.0], [0.2, np.inf]), ([0.1, 2.0], [0.2, 2.0])):
        with pytest.raises(ThresholdError, match="thresholds of shift.noise came out unusable"):
            check_thresholds(names, np.array(warn), np.array(drift))


def test_too_few_replicates_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 200 bootstrap replicates"):
        build_baseline(
            stats_of(3, 300),
            camera_id="c",
            source="s",
            kernel=KernelParams(resolution=SIZE, **KERNEL),
            budget=Budget(window=20, n_replicates=1),
        )


def test_folklore_psi_fires_on_a_healthy_line_the_calibrated_engine_does_not() -> None:
    """PSI of the per-frame brightness over a 100-frame window, 20 reference-quantile bins: E[PSI] under no drift
    is about (B - 1)(1/M + 1/N) (Yurdakul 2018), so 0.1 / 0.25 fire on a healthy stream. The calibrated engine
    stays silent on the same frames."""
    b = small_baseline()
    ref = np.array([s.luma_mean for s in stats_of(3, 600)])
    healthy = stats_of(5, 400)
    cur = np.array([s.luma_mean for s in healthy])
    edges = np.quantile(ref, np.linspace(0, 1, 21))[1:-1]
    ref_counts = np.bincount(np.searchsorted(edges, ref), minlength=20)
    values = []
    for i in range(100, len(cur) + 1):
        counts = np.bincount(np.searchsorted(edges, cur[i - 100 : i]), minlength=20)
        values.append(psi(ref_counts, counts))
    values = np.array(values)
    assert np.mean(values) == pytest.approx(19 * (1 / 600 + 1 / 100), rel=0.3)  # Yurdakul's expectation
    assert np.mean(values > 0.1) > 0.5
    assert np.mean(values > 0.25) > 0.05
    engine = DriftEngine(b)
    events = []
    for i, s in enumerate(healthy):
        events += [d for d in engine.update(s, i, i / FPS).decisions if d.kind.startswith("drift.")]
    assert events == []
    assert len(b.thresholds.names) == 4 + len(SCALARS) + 2
