"""Threshold calibration: run-length budget, bootstrap, and folklore vs calibrated (tails: test_tails.py)."""

from __future__ import annotations

import numpy as np
import pytest

from camdrift.agent.drift.engine import DriftEngine
from camdrift.agent.drift.features import SCALARS
from camdrift.calibration.calibrate.thresholds import (
    autocorrelation,
    block_length,
    bootstrap_windows,
    per_test_level,
    run_length,
)
from camdrift.kernels.divergence import psi
from tests.agent.drift_fixtures import FPS, small_baseline, stats_of


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


def test_bootstrap_windows_are_circular_blocks() -> None:
    idx = bootstrap_windows(50, 23, 5, 100, np.random.default_rng(0))
    assert idx.shape == (100, 23) and idx.min() >= 0 and idx.max() < 50
    steps = np.diff(idx, axis=1) % 50
    # inside a block consecutive frames follow each other; a new block starts every 5 frames
    inside = np.ones(22, bool)
    inside[4::5] = False
    assert (steps[:, inside] == 1).all()


def test_small_reference_falls_back_to_chi2_and_says_so() -> None:
    b = small_baseline(seed=3, n=120)
    assert b.thresholds.method == "chi2"
    assert any("theoretical chi2" in n for n in b.thresholds.notes)
    assert small_baseline().thresholds.method == "bootstrap-tail"
    assert small_baseline().thresholds.budget == "one per 30 days at 5 fps"


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
