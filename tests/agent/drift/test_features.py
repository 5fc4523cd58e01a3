"""Per-frame features: the scalars mean what features.SCALARS says, the luma quantiles match numpy's on a real
photo, histogram counts survive the rebinning, grey frames give the luma for every colour group, and a lookup
table of the wrong shape is refused."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from camdrift.agent.drift.features import SCALARS, colour_ratios, extract, luma_quantiles
from camdrift.kernels import frame_stats
from tests.agent.drift_fixtures import KERNEL, small_baseline


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A real photo (skimage's astronaut) as BGR8, 160x120."""
    return cv2.resize(np.ascontiguousarray(skdata.astronaut()[:, :, ::-1]), (160, 120))


def test_scalars_are_the_frames_statistics_in_their_units(photo) -> None:
    b = small_baseline()
    stats = frame_stats(photo, **KERNEL)
    f = extract(stats, b.lut, b.n_bins)
    x = dict(zip(SCALARS, f.scalars, strict=True))
    assert x["brightness"] == stats.luma_mean
    assert x["contrast"] == pytest.approx(np.sqrt(stats.luma_var))
    assert x["sharpness"] == pytest.approx(np.log1p(stats.sharpness))
    assert x["noise"] == stats.noise_sigma
    b_med, g_med, r_med = (np.median(photo[..., c]) for c in range(3))
    assert x["rg"] == pytest.approx(r_med / g_med, abs=1.0 / g_med)  # medians inside their 1-DN8 bins
    assert x["bg"] == pytest.approx(b_med / g_med, abs=1.0 / g_med)
    means = extract(stats, b.lut, b.n_bins, colour_medians=False).scalars
    assert (means[SCALARS.index("rg")], means[SCALARS.index("bg")]) == (
        stats.rg,
        stats.bg,
    )  # format-1 baselines
    assert x["under_exposed"] == stats.under_exposed and x["over_exposed"] == stats.over_exposed
    assert x["luma_p10"] < x["luma_p25"] < x["luma_p50"] < x["luma_p75"] < x["luma_p90"]
    np.testing.assert_array_equal(f.thumbnail, stats.thumbnail.astype(np.float64))
    np.testing.assert_allclose(f.grid_sharpness, np.log1p(stats.grid_sharpness))
    assert f.grid_luma.shape == stats.grid_sharpness.shape
    assert f.grid_luma.mean() == pytest.approx(f.thumbnail.mean(), rel=1e-9)  # area means of the same picture


def test_luma_quantiles_match_numpy_on_a_real_photo(photo) -> None:
    luma = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    hist = np.bincount(luma.ravel(), minlength=256)
    qs = (0.1, 0.25, 0.5, 0.75, 0.9)
    got = luma_quantiles(hist, qs)
    want = np.quantile(luma.ravel(), qs)
    assert np.all(np.abs(got - want) <= 1.0)  # linear inside each 1-DN8 bin: within the bin numpy picks
    assert np.all(np.diff(got) > 0)
    single = np.zeros(256, np.int64)
    single[100] = 50
    assert np.all((luma_quantiles(single) >= 100) & (luma_quantiles(single) <= 101))


def _ratios(frame: np.ndarray) -> tuple[float, float]:
    return colour_ratios(frame_stats(frame, **KERNEL).channel_hist)


def test_colour_ratios_follow_the_light_not_the_product_mix() -> None:
    """On a belt (a real grass photo, tinted green) a white-balance change moves the median ratios by its gains;
    a red product over a sixth of the view moves the mean ratios several times more than the medians, which
    read the belt."""
    grass = cv2.resize(skdata.grass(), (160, 120)).astype(np.float64)
    belt = np.clip(grass[..., None] * (0.85, 1.1, 0.8) * 0.6 + 20, 0, 255).round().astype(np.uint8)
    warm = np.clip(belt * np.array((0.92, 1.0, 1.08)), 0, 255).round().astype(np.uint8)  # B x0.92, R x1.08
    rg0, bg0 = _ratios(belt)
    rg1, bg1 = _ratios(warm)
    assert rg1 / rg0 == pytest.approx(1.08, abs=0.02) and bg1 / bg0 == pytest.approx(0.92, abs=0.02)
    red = belt.copy()
    red[40:80, 50:130] = (20, 30, 220)  # a red product over a sixth of the view
    rg2, bg2 = _ratios(red)
    s0, s2 = frame_stats(belt, **KERNEL), frame_stats(red, **KERNEL)
    assert abs(np.log(s2.rg / s0.rg)) > 3 * abs(np.log(rg2 / rg0))
    assert abs(np.log(bg2 / bg0)) < 0.01


def test_colour_ratios_of_grey_and_black_frames_are_defined(photo) -> None:
    grey = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    assert colour_ratios(frame_stats(grey, pixel_format="gray8", **KERNEL).channel_hist) == (1.0, 1.0)
    black = np.zeros_like(photo)
    assert _ratios(black) == (1.0, 1.0)  # every median is inside the 0 bin: the ratios stay finite


def test_rebinned_counts_keep_every_pixel(photo) -> None:
    b = small_baseline()
    stats = frame_stats(photo, **KERNEL)
    f = extract(stats, b.lut, b.n_bins)
    assert f.counts.shape == (4, b.n_bins) and f.counts.dtype == np.int64
    np.testing.assert_array_equal(f.counts.sum(axis=1), np.full(4, stats.pixel_count))


def test_grey_frames_give_the_luma_for_every_group(photo) -> None:
    b = small_baseline()
    grey = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    f = extract(frame_stats(grey, pixel_format="gray8", **KERNEL), b.lut[[3, 3, 3, 3]], b.n_bins)
    assert all(np.array_equal(f.counts[k], f.counts[3]) for k in range(3))


def test_a_lookup_table_of_the_wrong_shape_is_refused(photo) -> None:
    b = small_baseline()
    with pytest.raises(ValueError, match=r"lut must have shape \(4, 256\)"):
        extract(frame_stats(photo, **KERNEL), b.lut[:3], b.n_bins)
