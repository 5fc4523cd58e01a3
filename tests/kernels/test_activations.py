"""Activation kernels against their numpy references, on feature maps of real photos and on hypothesis arrays."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import skimage.data
from hypothesis import given, settings
from hypothesis import strategies as st

from camdrift.kernels.activations import (
    finite_samples,
    histogram_by_edges,
    pool_channels,
    project,
    quantile_edges_float,
)
from tests.kernels.naive import (
    naive_finite_samples,
    naive_histogram_by_edges,
    naive_pool,
    naive_project,
    naive_quantile_edges_float,
)

# Floats: kernel and reference add the same float64 terms in another order (sequential vs pairwise / BLAS), so
# they agree to rounding, relative to the magnitude of the terms: rtol 1e-12, atol 1e-12 * the largest term.
RTOL = 1e-12
FLOAT_DTYPES = (np.float16, np.float32, np.float64)


@st.composite
def activations(draw, ndim: int | None = None) -> tuple[np.ndarray, str]:
    """(N, C, H, W) / (N, H, W, C) / (N, D) activations of a float dtype; maybe constant, strided or transposed."""
    ndim = ndim or draw(st.sampled_from([2, 4]))
    dtype = draw(st.sampled_from(FLOAT_DTYPES))
    layout = draw(st.sampled_from(["nchw", "nhwc"]))
    n, c, h, w = (draw(st.integers(lo, 9)) for lo in (0, 1, 1, 1))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["normal", "relu", "constant", "large"]))
    shape = (n, c, h, w) if ndim == 4 else (n, c)
    a = rng.normal(size=shape)
    if kind == "relu":
        a = np.maximum(a, 0)
    elif kind == "constant":
        a[:] = rng.normal()
    elif kind == "large":
        a *= 1e4
    view = draw(st.sampled_from(["contiguous", "strided", "other_order"]))
    if view == "strided":
        a = np.repeat(a, 2, axis=-1)[..., ::2]
    elif view == "other_order":  # same values, stored in the other memory order
        a = np.asfortranarray(a)
    a = a.astype(dtype)
    if ndim == 4 and layout == "nhwc":
        a = np.moveaxis(a, 1, 3)  # a non-contiguous NHWC view unless it was Fortran-ordered
    return a, layout


@settings(max_examples=80, deadline=None)
@given(drawn=activations())
def test_pool_channels_matches_reference(drawn):
    act, layout = drawn
    got = pool_channels(act, layout)
    want = naive_pool(act, layout)
    assert got.dtype == np.float64 and got.shape == want.shape
    scale = float(np.abs(act.astype(np.float64)).max(initial=0.0))
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=RTOL * scale)
    if act.ndim == 2:
        np.testing.assert_array_equal(got, act.astype(np.float64))
        assert not np.shares_memory(got, act)
    np.testing.assert_array_equal(finite_samples(act), np.ones(act.shape[0], bool))


@settings(max_examples=60, deadline=None)
@given(drawn=activations(), data=st.data())
def test_non_finite_activations_are_named_or_filtered(drawn, data):
    act, layout = drawn
    if act.shape[0] == 0:
        return
    act = act.copy()
    for _ in range(data.draw(st.integers(1, 3))):
        where = tuple(data.draw(st.integers(0, s - 1)) for s in act.shape)
        act[where] = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    bad = ~np.isfinite(act.astype(np.float64))
    np.testing.assert_array_equal(finite_samples(act), naive_finite_samples(act))
    n = int(np.flatnonzero(bad.reshape(act.shape[0], -1).any(axis=1))[0])
    chan_axis = 2 if (act.ndim == 4 and layout == "nhwc") else 0
    per_channel = np.moveaxis(bad[n], chan_axis, 0).reshape(
        bad.shape[1 + chan_axis if act.ndim == 4 else 1], -1
    )
    c = int(np.flatnonzero(per_channel.any(axis=1))[0])
    with pytest.raises(ValueError, match=f"act holds NaN or Inf in sample {n}, channel {c}$"):
        pool_channels(act, layout)
    ok = finite_samples(act)
    np.testing.assert_allclose(
        pool_channels(act[ok], layout), naive_pool(act[ok], layout), rtol=1e-9, atol=1e-6
    )


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 30),
    c=st.integers(1, 40),
    k=st.integers(1, 12),
    dtype=st.sampled_from(FLOAT_DTYPES),
    fortran_basis=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_project_matches_reference(n, c, k, dtype, fortran_basis, seed):
    rng = np.random.default_rng(seed)
    features = (rng.normal(size=(n, 2 * c)) * 10)[:, ::2].astype(dtype)  # strided columns
    mean = rng.normal(size=c).astype(dtype)
    basis = rng.normal(size=(c, k))
    if fortran_basis:
        basis = np.asfortranarray(basis)
    got = project(features, mean, basis)
    want = naive_project(features, mean, basis)
    bound = np.abs(features.astype(np.float64) - mean.astype(np.float64)) @ np.abs(basis)
    assert got.shape == (n, k) and got.dtype == np.float64
    assert (np.abs(got - want) <= RTOL * bound + 1e-300).all()


@st.composite
def values_and_edges(draw) -> tuple[np.ndarray, np.ndarray]:
    """Values that hit edges exactly, lie beyond the outer edges, or are infinite; strictly increasing edges."""
    k, b, n = draw(st.integers(1, 5)), draw(st.integers(1, 12)), draw(st.integers(0, 60))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    edges = np.cumsum(rng.random((k, b + 1)) + 1e-3, axis=1) - 3
    pool = np.concatenate([edges.ravel(), rng.normal(size=20) * 5, [-np.inf, np.inf, -100.0, 100.0]])
    values = rng.choice(pool, size=(n, k)).astype(draw(st.sampled_from(FLOAT_DTYPES)))
    if draw(st.booleans()):
        values = np.ascontiguousarray(values.T).T
    return values, edges


@settings(max_examples=80, deadline=None)
@given(ve=values_and_edges())
def test_histogram_by_edges_matches_reference(ve):
    values, edges = ve
    got = histogram_by_edges(values, edges)
    np.testing.assert_array_equal(got, naive_histogram_by_edges(values, edges))
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got.sum(axis=1), np.full(values.shape[1], values.shape[0]))


def test_histogram_edges_are_half_open_and_outer_bins_open_ended():
    edges = np.array([[0.0, 1.0, 2.0, 3.0]])
    values = np.array([[-5.0, 0.0, 0.999, 1.0, 2.0, 2.5, 3.0, 1e9, -np.inf, np.inf]]).T
    np.testing.assert_array_equal(histogram_by_edges(values, edges), [[4, 1, 5]])


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 80),
    k=st.integers(1, 4),
    n_bins=st.integers(1, 16),
    kind=st.sampled_from(["distinct", "relu", "constant", "few_levels"]),
    dtype=st.sampled_from(FLOAT_DTYPES),
    seed=st.integers(0, 2**32 - 1),
)
def test_quantile_edges_float_matches_reference(n, k, n_bins, kind, dtype, seed):
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n, k))
    if kind == "relu":
        values = np.maximum(values, 0)
    elif kind == "constant":
        values[:] = rng.normal()
    elif kind == "few_levels":
        values = np.round(values)
    values = values.astype(dtype)
    edges = quantile_edges_float(values, n_bins)
    np.testing.assert_array_equal(edges, naive_quantile_edges_float(values, n_bins))
    assert edges.shape == (k, n_bins + 1) and edges.dtype == np.float64
    assert (np.diff(edges, axis=1) > 0).all()
    counts = histogram_by_edges(values, edges)
    ranks = np.array([0] + [math.floor(j * n / n_bins + 0.5) for j in range(1, n_bins)] + [n])
    distinct = all(len(np.unique(values[:, j])) == n for j in range(k))
    # no tie and no nudged edge: bin j - 1 holds the values ranked r_{j-1} .. r_j - 1
    if distinct and (np.diff(ranks[:-1]) > 0).all():
        for j in range(k):
            np.testing.assert_array_equal(counts[j], np.diff(ranks))


@pytest.fixture(scope="module")
def photo_features() -> tuple[np.ndarray, np.ndarray]:
    """(N, C, H, W) float32 'feature maps' of real photos: 6 fixed 3x3 filters + ReLU on 32x32 tiles.

    Reference tiles come from skimage's astronaut, current ones from the same tiles blurred (a focus drift).
    """
    grey = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    blurred = cv2.GaussianBlur(grey, (0, 0), 2.0)
    filters = [
        np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32),
        np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], np.float32),
        np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32),
        np.full((3, 3), 1 / 9, np.float32),
    ]
    filters += [-filters[0], -filters[2]]

    def maps(img: np.ndarray) -> np.ndarray:
        fm = np.stack([np.maximum(cv2.filter2D(img, -1, f), 0) for f in filters])  # (C, H, W)
        c, h, w = fm.shape
        tiles = fm.reshape(c, h // 32, 32, w // 32, 32).transpose(1, 3, 0, 2, 4)
        return np.ascontiguousarray(tiles.reshape(-1, c, 32, 32))

    return maps(grey), maps(blurred)


def test_real_feature_maps_pipeline(photo_features):
    ref_maps, cur_maps = photo_features
    ref = pool_channels(ref_maps)
    cur = pool_channels(np.ascontiguousarray(cur_maps.transpose(0, 2, 3, 1)), layout="nhwc")
    for got, maps in ((ref, ref_maps), (cur, cur_maps)):
        np.testing.assert_allclose(got, naive_pool(maps), rtol=RTOL, atol=RTOL * float(maps.max()))
    mean = ref.mean(axis=0)
    basis = np.linalg.svd(ref - mean, full_matrices=False)[2][:3].T  # (C, 3) principal axes
    basis *= np.sign(basis.sum(axis=0))  # orient each axis so that more filter response scores higher
    ref_z, cur_z = project(ref, mean, basis), project(cur, mean, basis)
    np.testing.assert_allclose(ref_z, naive_project(ref, mean, basis), rtol=1e-9, atol=1e-12)
    edges = quantile_edges_float(ref_z, 8)
    np.testing.assert_array_equal(edges, naive_quantile_edges_float(ref_z, 8))
    ref_h, cur_h = histogram_by_edges(ref_z, edges), histogram_by_edges(cur_z, edges)
    np.testing.assert_array_equal(cur_h, naive_histogram_by_edges(cur_z, edges))
    assert (ref_h.max(axis=1) - ref_h.min(axis=1) <= 1).all()  # 256 tiles, 8 bins: 32 each
    # the first axis is brightness (the box filter), which a blur keeps; the second is edge energy, which it cuts
    assert np.abs(basis[3, 0]) > 0.9 and np.abs(cur_h[0] - ref_h[0]).max() <= 4
    assert cur_h[1, :4].sum() > 1.4 * ref_h[1, :4].sum()


@pytest.mark.parametrize(
    ("call", "exc", "words"),
    [
        (lambda: pool_channels([[1.0]]), TypeError, "act must be a numpy array"),
        (
            lambda: pool_channels(np.ones((2, 3), np.int64)),
            TypeError,
            "act must be float16, float32 or float64",
        ),
        (lambda: pool_channels(np.ones((2, 3, 4), np.float32)), ValueError, "act must be 2-D or 4-D"),
        (
            lambda: pool_channels(np.ones((2, 3, 4, 4), np.float32), "chw"),
            ValueError,
            "layout must be one of",
        ),
        (lambda: pool_channels(np.ones((2, 3, 0, 4), np.float32)), ValueError, "empty spatial map"),
        (lambda: finite_samples(np.ones(3)), ValueError, "act must be 2-D or 4-D"),
        (
            lambda: project(np.ones((2, 3)), np.ones(4), np.ones((3, 2))),
            ValueError,
            "mean must have shape (3,)",
        ),
        (
            lambda: project(np.ones((2, 3)), np.ones(3), np.ones((4, 2))),
            ValueError,
            "basis must have shape (3, K)",
        ),
        (
            lambda: project(np.ones((2, 3), np.int32), np.ones(3), np.ones((3, 2))),
            TypeError,
            "features must be",
        ),
        (
            lambda: project(np.array([[1.0, 2.0], [1.0, np.nan]]), np.ones(2), np.ones((2, 2))),
            ValueError,
            "features holds NaN or Inf at index (1, 1)",
        ),
        (
            lambda: project(np.ones((2, 2)), np.ones(2), np.full((2, 2), np.inf)),
            ValueError,
            "basis holds NaN",
        ),
        (
            lambda: histogram_by_edges(
                np.array([[0.0, 1.0], [np.nan, 1.0]]), np.array([[0.0, 1.0], [0.0, 1.0]])
            ),
            ValueError,
            "values holds NaN in sample 1, component 0",
        ),
        (
            lambda: histogram_by_edges(np.ones((3, 2)), np.ones((3, 4))),
            ValueError,
            "edges must have shape (2, B + 1)",
        ),
        (
            lambda: histogram_by_edges(np.ones((3, 1)), np.array([[0.0, 1.0, 1.0]])),
            ValueError,
            "strictly increasing",
        ),
        (
            lambda: histogram_by_edges(np.ones((3, 1)), np.array([[0.0, np.inf]])),
            ValueError,
            "edges holds NaN or Inf",
        ),
        (lambda: histogram_by_edges(np.ones((3, 1)), np.array([[0, 1]])), TypeError, "edges must be float"),
        (lambda: quantile_edges_float(np.ones((0, 2)), 4), ValueError, "at least one sample"),
        (lambda: quantile_edges_float(np.ones((3, 2)), 0), ValueError, "n_bins must be >= 1"),
        (lambda: quantile_edges_float(np.array([[1.0], [np.inf]]), 2), ValueError, "values holds NaN or Inf"),
    ],
)
def test_bad_inputs_name_the_problem(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    assert words in str(info.value)
