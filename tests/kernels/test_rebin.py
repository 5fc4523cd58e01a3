"""Quantile rebinning against its numpy reference, its documented guarantees, and real photo histograms."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
from hypothesis import given, settings
from hypothesis import strategies as st

from camdrift.kernels.rebin import quantile_edges, rebin, rebin_lut
from tests.kernels.naive import naive_quantile_edges, naive_rebin

COUNT_DTYPES = (np.int64, np.uint32, np.uint8, np.float64)


@st.composite
def natural_counts(draw, n_natural: int | None = None) -> np.ndarray:
    """(N,) reference counts: dense, sparse, spiky (one bin above a quantile's mass) or a single bin; maybe strided."""
    n = n_natural or draw(st.sampled_from([1, 2, 5, 17, 256, 1000]))
    dtype = draw(st.sampled_from(COUNT_DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["dense", "sparse", "spiky", "single"]))
    step = draw(st.sampled_from([1, 2]))
    c = rng.integers(1, 200, n * step).astype(np.float64)
    if kind == "sparse":
        c[rng.random(c.shape) < 0.8] = 0
    elif kind == "spiky":
        c[rng.integers(0, c.size, 3)] *= rng.integers(10, 1000)
    elif kind == "single":
        c[:] = 0
    if dtype is np.float64:
        c *= rng.random(c.shape)
    c[rng.integers(0, n) * step] += 1  # at least one count
    if np.dtype(dtype).kind in "iu":  # saturate: a wrapped cast (e.g. 256 -> uint8 0) could erase every count
        c = np.minimum(c, np.iinfo(dtype).max)
    return c.astype(dtype)[::step]


def mass(counts: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.array([counts[a:b].sum(dtype=np.float64) for a, b in zip(edges[:-1], edges[1:], strict=True)])


@settings(max_examples=80, deadline=None)
@given(counts=natural_counts(), n_bins=st.integers(1, 40))
def test_quantile_edges_match_reference_and_guarantees(counts, n_bins):
    edges = quantile_edges(counts, n_bins)
    np.testing.assert_array_equal(edges, naive_quantile_edges(counts, n_bins))
    assert edges.dtype == np.int64
    assert edges[0] == 0 and edges[-1] == counts.shape[0]
    assert (np.diff(edges) > 0).all()
    assert len(edges) - 1 <= min(n_bins, np.count_nonzero(counts))
    assert (mass(counts, edges) > 0).all(), "a coarse bin is empty in the reference"
    np.testing.assert_array_equal(quantile_edges(counts, n_bins), edges)  # deterministic


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_bins=st.integers(2, 20))
def test_dense_reference_gets_every_bin_of_about_equal_mass(seed, n_bins):
    """No natural bin holds half a quantile: all n_bins bins exist, each within one natural bin of 1/n_bins."""
    counts = np.random.default_rng(seed).integers(50, 100, 256)
    edges = quantile_edges(counts, n_bins)
    assert len(edges) - 1 == n_bins
    share = mass(counts, edges)
    assert np.abs(share - counts.sum() / n_bins).max() <= counts.max()


def test_a_heavy_natural_bin_merges_quantiles():
    counts = np.ones(256, np.int64)
    counts[100] = 10_000  # about 97% of the mass: targets 1..9 of 10 all fall around it
    edges = quantile_edges(counts, 10)
    assert list(edges) == [0, 100, 101, 256]


def test_nearest_boundary_and_ties_go_up():
    # target 2 of mass 4 lies mid-way through natural bin 1 (cumulative 1 .. 3): a tie, so the upper boundary
    np.testing.assert_array_equal(quantile_edges(np.array([1, 2, 1]), 2), [0, 2, 3])
    # target 5 of 10: boundary 2 (cumulative 4) is nearer than boundary 3 (cumulative 9)
    np.testing.assert_array_equal(quantile_edges(np.array([2, 2, 5, 1]), 2), [0, 2, 4])


def test_constant_reference_is_one_bin():
    counts = np.bincount(np.full(1000, 77), minlength=256)
    np.testing.assert_array_equal(quantile_edges(counts, 8), [0, 256])


@settings(max_examples=60, deadline=None)
@given(
    counts=natural_counts(),
    n_bins=st.integers(1, 12),
    lead=st.sampled_from([(), (3,), (2, 3)]),
    transpose=st.booleans(),
)
def test_rebin_matches_reference(counts, n_bins, lead, transpose):
    edges = quantile_edges(counts, n_bins)
    b = len(edges) - 1
    lut = rebin_lut(edges, counts.shape[0])
    np.testing.assert_array_equal(lut, np.searchsorted(edges, np.arange(counts.shape[0]), side="right") - 1)
    rng = np.random.default_rng(len(counts))
    if counts.dtype.kind == "f":
        frames = rng.random(lead + counts.shape) * 1000 * rng.integers(0, 2, lead + counts.shape)
    else:
        frames = rng.integers(
            0, min(np.iinfo(counts.dtype).max, 2**31), lead + counts.shape, endpoint=True, dtype=counts.dtype
        )
    if transpose and lead:  # same values, read through a non-contiguous view
        frames = np.ascontiguousarray(np.moveaxis(frames, -1, 0))
        frames = np.moveaxis(frames, 0, -1)
    got = rebin(frames, lut, b)
    want = naive_rebin(frames, lut, b)
    assert got.dtype == (np.float64 if counts.dtype.kind == "f" else np.int64)
    assert got.shape == lead + (b,)
    np.testing.assert_array_equal(got, want)  # exact, floats included (same summation order)
    if counts.dtype.kind != "f":
        np.testing.assert_array_equal(got.sum(axis=-1), frames.sum(axis=-1))


def test_rebin_accepts_a_uint16_lut_and_any_order():
    lut = np.array([2, 0, 0, 1, 2], np.uint16)
    np.testing.assert_array_equal(rebin(np.array([1, 2, 3, 4, 5]), lut, 3), [5, 4, 6])


@pytest.fixture(scope="module")
def photo_counts() -> tuple[np.ndarray, np.ndarray]:
    """256-bin grey histograms of skimage's camera photo and of its coffee photo (as grey)."""
    camera = skimage.data.camera()
    coffee = skimage.data.coffee().mean(axis=2).astype(np.uint8)
    return np.bincount(camera.ravel(), minlength=256), np.bincount(coffee.ravel(), minlength=256)


def test_real_photos(photo_counts):
    ref, cur = photo_counts
    for n_bins in (4, 10, 16):
        edges = quantile_edges(ref, n_bins)
        np.testing.assert_array_equal(edges, naive_quantile_edges(ref, n_bins))
        b = len(edges) - 1
        coarse = rebin(np.stack([ref, cur]), rebin_lut(edges), b)
        np.testing.assert_array_equal(coarse, naive_rebin(np.stack([ref, cur]), rebin_lut(edges), b))
        assert coarse[1].sum() == cur.sum()
        # the reference is spread about evenly over the coarse bins it has
        assert coarse[0].min() > 0
        assert coarse[0].max() < 3 * ref.sum() / b


@pytest.mark.parametrize(
    ("call", "exc", "words"),
    [
        (lambda: quantile_edges(np.zeros(256, np.int64), 4), ValueError, "ref_counts holds no counts"),
        (lambda: quantile_edges(np.array([1.0, np.nan]), 4), ValueError, "ref_counts holds NaN"),
        (lambda: quantile_edges(np.array([1, -2, 3]), 4), ValueError, "ref_counts holds negative"),
        (lambda: quantile_edges(np.ones((2, 3)), 4), ValueError, "ref_counts must be 1-D"),
        (lambda: quantile_edges(np.array(["x"]), 4), TypeError, "ref_counts"),
        (lambda: quantile_edges(np.ones(5), 0), ValueError, "n_bins must be >= 1"),
        (lambda: quantile_edges(np.ones(5), 2.5), TypeError, "n_bins"),
        (lambda: rebin_lut(np.array([0, 3, 256]), 255), ValueError, "n_natural=255"),
        (lambda: rebin_lut(np.array([0, 5, 5, 256])), ValueError, "strictly increasing"),
        (lambda: rebin_lut(np.array([0.0, 256.0])), TypeError, "edges must be integers"),
        (lambda: rebin(np.ones(4), np.zeros(5, np.int64), 1), ValueError, "lut must have shape (4,)"),
        (lambda: rebin(np.ones(3), np.array([0, 1, 2]), 2), ValueError, "lut values must lie in 0..1"),
        (lambda: rebin(np.ones(3), np.array([0.0, 1, 1]), 2), TypeError, "lut must be integers"),
        (lambda: rebin(np.ones(3, bool), np.array([0, 1, 1]), 2), TypeError, "counts must hold"),
    ],
)
def test_bad_inputs_name_the_problem(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    assert words in str(info.value)
