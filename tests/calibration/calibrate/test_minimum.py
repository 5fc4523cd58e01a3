"""The stated reference minimum: effective independent windows by Bartlett's formula, and the shortfall line."""

from __future__ import annotations

import numpy as np
import pytest

from camdrift.calibration.calibrate.minimum import (
    MIN_EFFECTIVE,
    MIN_WINDOWS,
    effective_windows,
    reference_minimum,
)


def _ar1(n: int, phi: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    e = rng.normal(size=n)
    x = np.empty(n)
    x[0] = e[0]
    for i in range(1, n):
        x[i] = phi * x[i - 1] + e[i]
    return x


def test_white_frames_hold_about_one_and_a_half_windows_per_window_length() -> None:
    x = np.random.default_rng(0).normal(size=(6000, 4))
    n_eff = effective_windows(x, 20)
    # Bartlett: 1 + 2 sum_k (1 - k/20)^2 ~ 1 + 2 * 20 / 3 frames per independent window variance
    assert n_eff == pytest.approx(np.full(4, 6000 / (1 + 2 * 6.175)), rel=0.15)


def test_correlated_frames_hold_fewer_and_a_constant_scalar_is_left_out() -> None:
    x = np.column_stack([_ar1(3000, 0.0, 1), _ar1(3000, 0.95, 2), np.full(3000, 7.0)])
    n_eff = effective_windows(x, 20)
    assert n_eff[1] < 0.6 * n_eff[0] and np.isnan(n_eff[2])


def test_the_minimum_is_ten_windows_and_fifteen_effective_ones() -> None:
    x = np.random.default_rng(3).normal(size=(500, 3))
    m = reference_minimum(x, 20)
    assert m.met and m.min_frames == MIN_WINDOWS * 20  # white: 15 effective windows need fewer frames
    corr = np.column_stack([_ar1(500, 0.97, s) for s in range(3)])
    m = reference_minimum(corr, 20)
    assert not m.met and m.n_eff < MIN_EFFECTIVE
    assert m.min_frames == pytest.approx(500 * MIN_EFFECTIVE / m.n_eff, abs=1)
    line = m.shortfall(5.0)
    assert line.startswith("reference of 500 analysed frames (100 s at 5 fps) is below the minimum of")
    assert line.endswith(f"capture at least {-(-(m.min_frames - 500) // 5)} s more")
