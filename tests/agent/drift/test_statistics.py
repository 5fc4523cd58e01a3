"""Window statistics, displacement by phase correlation, CUSUM and the sd of a correlated mean."""

from __future__ import annotations

import doctest

import cv2
import numpy as np
import pytest
from skimage import data

import camdrift.agent.drift.statistics as stats_module
from camdrift.agent.drift.features import FrameFeatures
from camdrift.agent.drift.statistics import (
    Cusum,
    WindowReference,
    mean_sd,
    phase_shift,
    statistic_names,
    window_null_sd,
    window_statistics,
)
from camdrift.calibration.calibrate.thresholds import cusum_h
from camdrift.kernels.divergence import js, psi_rows, wasserstein_1d


def test_doctests() -> None:
    assert doctest.testmod(stats_module).failed == 0


def _thumb(img: np.ndarray, size: tuple[int, int] = (32, 32)) -> np.ndarray:
    return cv2.resize(img.astype(np.float64), size, interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize(("dx", "dy"), [(12, 0), (-8, 6), (0, -10)])
def test_phase_shift_recovers_a_camera_move_in_frame_pixels(dx: int, dy: int) -> None:
    frame = data.camera()[::2, ::2]  # 256 x 256 real photograph
    ref = _thumb(frame[40:216, 40:216])
    # the camera moves right/down by (dx, dy): the content moves left/up in the image
    cur = _thumb(frame[40 + dy : 216 + dy, 40 + dx : 216 + dx])
    ref_copy, cur_copy = ref.copy(), cur.copy()
    sx, sy, resp = phase_shift(ref, cur, (176 / 32, 176 / 32))
    cell = 176 / 32
    assert abs(sx + dx) < cell / 2 and abs(sy + dy) < cell / 2  # sub-cell accuracy, in frame pixels
    assert resp > 0.1
    np.testing.assert_array_equal(ref, ref_copy)  # OpenCV 5 windows its inputs in place: we pass copies
    np.testing.assert_array_equal(cur, cur_copy)


def test_window_statistics_match_their_definitions() -> None:
    rng = np.random.default_rng(2)
    k, b, s = 4, 6, 13
    ref_counts = rng.integers(100, 1000, size=(k, b)).astype(np.float64)
    n = 10
    sums = FrameFeatures(
        counts=rng.integers(0, 500, size=(k, b)),
        scalars=rng.normal(50, 5, size=s) * n,
        thumbnail=rng.uniform(0, 255, size=(16, 16)) * n,
        grid_sharpness=rng.normal(3, 0.1, size=(4, 4)) * n,
        grid_luma=rng.uniform(50, 150, size=(4, 4)) * n,
    )
    mean, sd = rng.normal(50, 5, size=s), rng.uniform(0.5, 2, size=s)
    centers = np.tile(np.arange(b, dtype=np.float64) * 40 + 20, (k, 1))
    gref = (rng.normal(3, 0.1, (4, 4)), rng.uniform(50, 150, (4, 4)))
    gsd = (np.full((4, 4), 0.05), np.full((4, 4), 2.0))
    ref = WindowReference(
        ref_counts=ref_counts, alpha=0.5, bin_centers=centers, scalar_mean=mean, scalar_sd=sd, grid_ref=gref,
        grid_sd=gsd, ref_thumbnail=sums.thumbnail / n, cell_px=(10.0, 7.5),
    )  # fmt: skip
    ws = window_statistics(sums, n, ref)
    np.testing.assert_array_equal(ws.psi, psi_rows(ref_counts, sums.counts, 0.5))
    assert ws.js[2] == js(ref_counts[2], sums.counts[2], 0.5)
    assert ws.w1[1] == wasserstein_1d(ref_counts[1], sums.counts[1], centers=centers[1])
    np.testing.assert_allclose(ws.z, (sums.scalars / n - mean) / sd)
    np.testing.assert_allclose(ws.grid_z_sharpness, (sums.grid_sharpness / n - gref[0]) / gsd[0])
    assert ws.shift_px == pytest.approx((0.0, 0.0), abs=1e-6)  # identical thumbnails
    names = statistic_names(tuple(f"s{i}" for i in range(s)))
    assert len(names) == len(ws.scores) == len(ws.chi)
    np.testing.assert_allclose(ws.scores[4 : 4 + s], np.abs(ws.z))
    np.testing.assert_allclose(ws.chi[4 : 4 + s], ws.z**2)
    assert ws.scores[names.index("grid.sharpness")] == pytest.approx(np.abs(ws.grid_z_sharpness).max())


def test_cusum_silent_under_the_null_and_quick_on_a_shift() -> None:
    rng = np.random.default_rng(11)
    h = cusum_h(0.5, 1e6)
    c = Cusum(0.5, h)
    assert not any(c.update(x).drift_detected for x in rng.normal(0, 1, 20_000))
    c.reset()
    delay = next(i for i, x in enumerate(rng.normal(1.0, 1, 1000)) if c.update(x).drift_detected)
    assert delay < 60  # Siegmund: ~ (h + 1.166) / (1 - 0.5) for a one-sd shift


def test_cusum_cap_bounds_the_sums() -> None:
    c = Cusum(0.0, 1.0, cap=2.0)
    for _ in range(100):
        c.update(5.0)
    assert c.pos == 2.0 and c.value == 2.0
    with pytest.raises(ValueError):
        Cusum(0.5, 4.0, cap=3.0)


def test_mean_sd_of_an_ar1_series_matches_simulation() -> None:
    rng = np.random.default_rng(4)
    phi, n = 0.7, 50
    e = rng.normal(size=(400_000,))
    x = np.empty_like(e)
    x[0] = e[0]
    for i in range(1, len(e)):
        x[i] = phi * x[i - 1] + e[i]
    acf = phi ** np.arange(200)
    sim = x[: len(x) // n * n].reshape(-1, n).mean(axis=1).std()
    assert mean_sd(x.std(), acf, n) == pytest.approx(sim, rel=0.05)
    assert mean_sd(2.0, np.r_[1.0, np.zeros(10)], 16) == pytest.approx(0.5)


def test_window_null_sd_is_recovered_from_the_reported_change():
    """A window whose mean moved 6 % of a reference 2.0 and 3 null sds had a null sd of 0.04 (the reference's
    unit), 0.02 in relative units; a statistic that did not move has no measured scale."""
    assert window_null_sd(0.06, 3.0, 2.0) == pytest.approx(0.04)
    assert window_null_sd(-0.06, -3.0) == pytest.approx(0.02)
    sd = window_null_sd(np.array([0.1, 0.2, 0.0]), np.array([2.0, -4.0, 0.0]))
    assert sd[:2] == pytest.approx([0.05, 0.05]) and np.isnan(sd[2])
    assert np.isinf(window_null_sd(0.1, 0.0))
