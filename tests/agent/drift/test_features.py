"""Per-frame features: the scalars mean what features.SCALARS says, the luma quantiles match numpy's on a real
photo, histogram counts survive the rebinning, grey frames give the luma for every colour group, and a lookup
table of the wrong shape is refused."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from camdrift.agent.drift.features import SCALARS, extract, luma_quantiles
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
    assert x["noise"] == stats.noise_sigma and x["rg"] == stats.rg and x["bg"] == stats.bg
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
