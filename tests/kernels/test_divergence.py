"""Divergence kernels against their numpy references, scipy as an oracle, and their documented values."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import scipy.spatial.distance
import scipy.stats
import skimage.data
from hypothesis import given, settings
from hypothesis import strategies as st

from camdrift.kernels import divergence
from camdrift.kernels.divergence import js, kl, psi, psi_rows, smoothed_proportions, wasserstein_1d
from tests.kernels.naive import (
    naive_js,
    naive_js_terms,
    naive_kl,
    naive_kl_terms,
    naive_psi,
    naive_smoothed,
    naive_wasserstein,
    naive_wasserstein_scale,
    rounding_scale,
)

# Kernel and reference sum the same terms in a different order (sequential vs pairwise): rounding only. RTOL
# bounds the error relative to the sum of the terms' magnitudes (about n * eps for n up to a few thousand terms),
# which for sums of non-negative terms (PSI, proportions) is the result itself; KL, JS and W1 cancel.
RTOL = 1e-12
ATOL = 1e-14

COUNT_DTYPES = (np.int64, np.uint32, np.float64)


@st.composite
def histograms(draw, n_bins: int, dtype, rows: int | None = None) -> np.ndarray:
    """(B,) or (rows, B) counts with empty bins, possibly a strided view; every histogram holds a count."""
    shape = (n_bins,) if rows is None else (rows, n_bins)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    empty_share = draw(st.sampled_from([0.0, 0.3, 0.9]))
    scale = draw(st.sampled_from([3, 1000, 10**6]))
    step = draw(st.sampled_from([1, 2, 3]))
    big = rng.integers(0, scale, size=shape[:-1] + (n_bins * step,)).astype(dtype)
    if np.dtype(dtype).kind == "f":
        big *= rng.random(big.shape)
    big[rng.random(big.shape) < empty_share] = 0
    view = big[..., ::step]
    view[..., 0] += 1  # at least one count per histogram
    return view


def both(rows: int | None = None):
    """Two histograms over the same number of bins (and rows), each of its own count dtype."""
    dtypes = st.sampled_from(COUNT_DTYPES)
    return st.integers(2, 300).flatmap(
        lambda b: st.tuples(dtypes, dtypes).flatmap(
            lambda d: st.tuples(histograms(b, d[0], rows), histograms(b, d[1], rows))
        )
    )


alphas = st.sampled_from([0.5, 1.0, 1e-3, 7.0])


@settings(max_examples=60, deadline=None)
@given(pq=both(), alpha=alphas)
def test_1d_kernels_match_reference(pq, alpha):
    p, q = pq
    np.testing.assert_allclose(smoothed_proportions(p, alpha), naive_smoothed(p, alpha), rtol=RTOL, atol=0)
    assert psi(p, q, alpha) == pytest.approx(naive_psi(p, q, alpha), rel=RTOL, abs=ATOL)
    # KL and JS terms have both signs: the sum cancels, so the rounding is bounded relative to sum |terms|
    kl_tol = RTOL * rounding_scale(naive_kl_terms(p, q, alpha)) + ATOL
    assert kl(p, q, alpha) == pytest.approx(naive_kl(p, q, alpha), rel=0, abs=kl_tol)
    js_tol = RTOL * rounding_scale(naive_js_terms(p, q, alpha)) + ATOL
    assert js(p, q, alpha) == pytest.approx(naive_js(p, q, alpha), rel=0, abs=js_tol)
    centers = np.arange(p.shape[0], dtype=np.float64)
    # W1's CDF differences cancel too: bounded relative to the CDFs they are taken from
    w1_tol = RTOL * naive_wasserstein_scale(p, q, centers) + ATOL
    assert wasserstein_1d(p, q) == pytest.approx(naive_wasserstein(p, q, centers), rel=0, abs=w1_tol)


@settings(max_examples=40, deadline=None)
@given(pq=both(rows=5), alpha=alphas, transpose=st.booleans())
def test_psi_rows_match_reference(pq, alpha, transpose):
    p, q = pq
    if transpose:  # the same rows, read through a transposed (Fortran-ordered) view
        p, q = np.ascontiguousarray(p.T).T, np.ascontiguousarray(q.T).T
    want = np.array([naive_psi(p[k], q[k], alpha) for k in range(p.shape[0])])
    np.testing.assert_allclose(psi_rows(p, q, alpha), want, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(smoothed_proportions(p, alpha), naive_smoothed(p, alpha), rtol=RTOL)
    np.testing.assert_allclose(smoothed_proportions(p, alpha).sum(axis=-1), 1.0, rtol=RTOL)


@settings(max_examples=60, deadline=None)
@given(pq=both(), alpha=alphas)
def test_known_properties(pq, alpha):
    p, q = pq
    assert psi(p, p, alpha) == 0.0
    assert kl(p, p, alpha) == 0.0
    assert js(p, p, alpha) == 0.0
    assert wasserstein_1d(p, p) == 0.0
    assert psi(p, q, alpha) == pytest.approx(psi(q, p, alpha), rel=RTOL, abs=ATOL)
    assert js(p, q, alpha) == pytest.approx(js(q, p, alpha), rel=RTOL, abs=ATOL)
    # PSI is the symmetrised KL (Jeffreys' J-divergence)
    assert psi(p, q, alpha) == pytest.approx(kl(p, q, alpha) + kl(q, p, alpha), rel=1e-9, abs=ATOL)
    assert 0.0 <= js(p, q, alpha) <= math.log(2)
    assert min(psi(p, q, alpha), kl(p, q, alpha), wasserstein_1d(p, q)) >= 0.0


@settings(max_examples=50, deadline=None)
@given(pq=both(), alpha=alphas)
def test_scipy_oracles(pq, alpha):
    p, q = pq
    sp, sq = naive_smoothed(p, alpha), naive_smoothed(q, alpha)
    assert kl(p, q, alpha) == pytest.approx(scipy.stats.entropy(sp, sq), rel=1e-10, abs=1e-13)
    # scipy gives the Jensen-Shannon distance, the square root of the divergence
    assert js(p, q, alpha) == pytest.approx(
        scipy.spatial.distance.jensenshannon(sp, sq) ** 2, rel=1e-9, abs=1e-13
    )
    positions = np.cumsum(np.random.default_rng(len(p)).random(len(p)) + 0.01)
    want = scipy.stats.wasserstein_distance(positions, positions, p, q)
    assert wasserstein_1d(p, q, centers=positions) == pytest.approx(want, rel=1e-9, abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(
    counts=st.lists(st.integers(0, 10**6), min_size=1, max_size=200).filter(any),
    dtype=st.sampled_from(COUNT_DTYPES),
    bin_width=st.floats(1e-3, 1e3),
)
def test_w1_of_a_one_bin_shift_is_the_bin_width(counts, dtype, bin_width):
    c = np.asarray(counts).astype(dtype)
    p = np.concatenate([c, [0]]).astype(dtype)
    q = np.concatenate([[0], c]).astype(dtype)
    assert wasserstein_1d(p, q, bin_width=bin_width) == pytest.approx(bin_width, rel=RTOL)
    shift_by_3 = np.concatenate([[0, 0, 0], c]).astype(dtype)
    assert wasserstein_1d(np.concatenate([c, [0, 0, 0]]), shift_by_3) == pytest.approx(3.0, rel=RTOL)


def test_js_of_disjoint_histograms_approaches_ln2():
    vals = [js([n, 0], [0, n]) for n in (10, 1000, 10**6)]
    assert vals == sorted(vals)
    assert vals[-1] == pytest.approx(math.log(2), rel=1e-4)


@pytest.fixture(scope="module")
def photo_hists() -> tuple[np.ndarray, np.ndarray]:
    """256-bin grey histograms of skimage's camera photo and of the same photo 20 DN8 brighter."""
    img = skimage.data.camera().astype(np.int64)
    brighter = np.minimum(img + 20, 255)
    return np.bincount(img.ravel(), minlength=256), np.bincount(brighter.ravel(), minlength=256)


def test_real_photo_histograms(photo_hists):
    ref, cur = photo_hists
    assert psi(ref, ref) == 0.0
    # a 20 DN8 brightening of most pixels moves the CDF by close to 20 bins' worth
    w1 = wasserstein_1d(ref, cur)
    assert w1 == pytest.approx(naive_wasserstein(ref, cur, np.arange(256.0)), rel=RTOL)
    assert 15 < w1 <= 20
    for name, fn, ref_fn in (("psi", psi, naive_psi), ("kl", kl, naive_kl), ("js", js, naive_js)):
        assert fn(ref, cur) == pytest.approx(ref_fn(ref, cur), rel=RTOL), name
    assert psi(ref, cur) > 0.25  # a large shift on the usual PSI scale


def test_documented_empty_bin_cost():
    """The module docstring's figures (Jeffreys) hold, and so do the ones it quotes for the fixed floors."""
    result = doctest.testmod(divergence, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 3 and result.failed == 0
    ref = np.full(20, 500)
    cur = np.full(20, 50)
    cur[0] = 0
    p, q = ref / ref.sum(), cur / cur.sum()
    for floor, cost in ((1e-4, 0.31), (np.finfo(np.float64).tiny, 35.27)):
        qf = np.where(q == 0, floor, q)
        assert float(np.sum((qf - p) * np.log(qf / p))) == pytest.approx(cost, abs=0.005)
    # pseudo-counts: the empty bin's cost grows with the evidence (n), but slowly, and stays below the 1e-4 hack's
    costs = []
    for per_bin in (5, 50, 500):
        c = np.full(20, per_bin)
        c[0] = 0
        costs.append(psi(ref, c))
    assert costs == sorted(costs)
    assert costs[1] < 0.31


@pytest.mark.parametrize(
    ("call", "exc", "words"),
    [
        (lambda: psi([1, 2], [1, 2, 3]), ValueError, "same shape"),
        (lambda: psi([[1, 2]], [[1, 2]]), ValueError, "ref_counts must be 1-D"),
        (lambda: psi([5], [5]), ValueError, "at least 2 bins"),
        (lambda: psi([1, -1, 3], [1, 1, 1]), ValueError, "ref_counts holds negative"),
        (lambda: psi([1, 1, 1], [1.0, np.nan, 1.0]), ValueError, "cur_counts holds NaN"),
        (lambda: psi([1, 1, 1], [1.0, np.inf, 1.0]), ValueError, "cur_counts holds NaN or Inf"),
        (lambda: psi([0, 0, 0], [1, 1, 1]), ValueError, "ref_counts holds no counts"),
        (lambda: psi([1, 1], [1, 1], alpha=0), ValueError, "alpha"),
        (lambda: psi([1, 1], [1, 1], alpha=float("nan")), ValueError, "alpha"),
        (lambda: psi([1, 1], [1, 1], alpha="half"), TypeError, "alpha"),
        (lambda: psi([True, False], [1, 1]), TypeError, "ref_counts must hold integer counts"),
        (lambda: psi(["a", "b"], [1, 1]), TypeError, "ref_counts"),
        (lambda: psi_rows([1, 1], [1, 1]), ValueError, "ref_counts must be 2-D"),
        (
            lambda: psi_rows([[1, 1], [0, 0]], [[1, 1], [1, 1]]),
            ValueError,
            "ref_counts holds no counts (row 1)",
        ),
        (lambda: kl([1, 1], [0, 0]), ValueError, "q_counts holds no counts"),
        (lambda: js([1, 1j], [1, 1]), TypeError, "p_counts"),
        (lambda: smoothed_proportions(np.float64(3.0)), ValueError, "counts must be at least 1-D"),
        (
            lambda: smoothed_proportions(np.ones((2, 3, 4)) * [[[1]], [[0]]]),
            ValueError,
            "no counts (row (1, 0))",
        ),
        (lambda: smoothed_proportions(np.zeros((2, 0))), ValueError, "at least 2 bins"),
        (lambda: wasserstein_1d([1, 1], [1, 1], bin_width=0), ValueError, "bin_width"),
        (lambda: wasserstein_1d([1, 1], [1, 1], bin_width=None), TypeError, "bin_width"),
        (
            lambda: wasserstein_1d([1, 1], [1, 1], centers=[0, 1, 2]),
            ValueError,
            "centers must have shape (2,)",
        ),
        (lambda: wasserstein_1d([1, 1, 1], [1, 1, 1], centers=[0, 2, 1]), ValueError, "strictly increasing"),
        (lambda: wasserstein_1d([1, 1], [1, 1], 2.0, centers=[0, 1]), ValueError, "not both"),
    ],
)
def test_bad_inputs_name_the_problem(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    assert words in str(info.value)
