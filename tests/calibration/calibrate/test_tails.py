"""Distribution tails: the scaled chi-square fit and its far quantile, chi-square tails against scipy, and the
CUSUM threshold's run length."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from camdrift.calibration.calibrate.tails import chi2_isf, chi2_sf, cusum_h, fit_scaled_chi2, scaled_chi2_isf


def test_scaled_chi2_fit_recovers_a_known_chi2_and_its_far_tail() -> None:
    rng = np.random.default_rng(0)
    a_true, nu_true = 0.02, 7.0
    draws = a_true * rng.chisquare(nu_true, size=4000)  # a bootstrap-sized sample
    a, nu = fit_scaled_chi2(draws)
    assert a == pytest.approx(a_true, rel=0.1) and nu == pytest.approx(nu_true, rel=0.1)
    # the 1e-6 quantile, unreachable by 4000 draws, is extrapolated within a few percent
    true_q = a_true * sps.chi2.isf(1e-6, nu_true)
    assert scaled_chi2_isf(a, nu, 1e-6) == pytest.approx(true_q, rel=0.06)
    assert draws.max() < 0.7 * true_q  # the empirical maximum is far short of it


@pytest.mark.parametrize("nu", [0.3, 1.0, 3.5, 19.0, 250.0])
def test_chi2_tail_matches_scipy(nu: float) -> None:
    for x in (0.01, 1.0, nu, 5 * nu + 30):
        assert chi2_sf(x, nu) == pytest.approx(sps.chi2.sf(x, nu), rel=1e-9, abs=1e-300)
    for level in (0.3, 1e-3, 1e-7, 1e-12):
        assert chi2_isf(level, nu) == pytest.approx(sps.chi2.isf(level, nu), rel=1e-8)


def test_cusum_threshold_gives_the_run_length() -> None:
    assert cusum_h(0.5, 1e4) < cusum_h(0.5, 1e6)
    rng = np.random.default_rng(3)
    h = cusum_h(0.5, 300.0)
    runs = []
    for _ in range(300):
        s, n = 0.0, 0
        while s <= h:
            s = max(0.0, s + rng.normal() - 0.5)
            n += 1
        runs.append(n)
    assert np.mean(runs) == pytest.approx(300.0, rel=0.2)  # Siegmund's approximation
