"""Kernels for a vision model's activations: per-channel pooling, projection onto a reference basis, and
histogramming of the projected components against reference-quantile edges.

Shapes: N samples (frames), C channels, (H, W) spatial, K components, B bins. Activations come as float16,
float32 or float64; numba has no CPU float16, so float16 input is widened to float32 first (exactly). Results
are float64 (pooled features, projections, edges) or int64 (counts).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from camdrift.kernels._checks import check_int

__all__ = ["finite_samples", "histogram_by_edges", "pool_channels", "project", "quantile_edges_float"]

LAYOUTS = ("nchw", "nhwc")


# --- kernels ------------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _pool_nchw(act, out):
    """act: (N, C, H, W); out: (N, C) float64 means. Returns n * C + c of the first non-finite value (lowest
    sample, then lowest channel), or -1; the caller raises, so the kernel stops there."""
    n_s, n_c, h, w = act.shape
    size = h * w
    for n in range(n_s):
        for c in range(n_c):
            acc = 0.0
            for y in range(h):
                for x in range(w):
                    v = act[n, c, y, x]
                    if not math.isfinite(v):
                        return n * n_c + c
                    acc += v
            out[n, c] = acc / size
    return -1


@njit(cache=True, nogil=True)
def _pool_nhwc(act, out):
    """act: (N, H, W, C); as :func:`_pool_nchw`. Channels are innermost, so sum them in place into out."""
    n_s, h, w, n_c = act.shape
    size = h * w
    for n in range(n_s):
        bad = n_c
        for c in range(n_c):
            out[n, c] = 0.0
        for y in range(h):
            for x in range(w):
                for c in range(n_c):
                    v = act[n, y, x, c]
                    if not math.isfinite(v):
                        bad = min(bad, c)
                    out[n, c] += v
        if bad < n_c:
            return n * n_c + bad
        for c in range(n_c):
            out[n, c] /= size
    return -1


@njit(cache=True, nogil=True)
def _finite_samples(act, out):
    """act: (N, A, B, C) any layout; out[n] = every value of sample n is finite."""
    n_s, a, b, c = act.shape
    for n in range(n_s):
        ok = True
        for i in range(a):
            for j in range(b):
                for k in range(c):
                    if not math.isfinite(act[n, i, j, k]):
                        ok = False
                        break
                if not ok:
                    break
            if not ok:
                break
        out[n] = ok


@njit(cache=True, nogil=True)
def _project(features, mean, basis, out):
    """out (N, K) float64 = (features - mean) @ basis, accumulated over channels in order."""
    n_s, n_c = features.shape
    n_k = basis.shape[1]
    for n in range(n_s):
        for k in range(n_k):
            out[n, k] = 0.0
        for c in range(n_c):
            d = features[n, c] - mean[c]
            for k in range(n_k):
                out[n, k] += d * basis[c, k]


@njit(cache=True, nogil=True)
def _histogram_by_edges(values, edges, out):
    """values: (N, K); edges: (K, B + 1) strictly increasing; out: (K, B) int64 zeroed.

    Bin of v = the number of inner edges edges[k, 1..B-1] that are <= v, found by binary search, so bins are
    [e_i, e_{i+1}) and the outer two are open-ended. Returns n * K + k of the first NaN, or -1.
    """
    n_s, n_k = values.shape
    n_b = edges.shape[1] - 1
    for n in range(n_s):
        for k in range(n_k):
            v = values[n, k]
            if v != v:
                return n * n_k + k
            lo = 1
            hi = n_b
            while lo < hi:
                mid = (lo + hi) >> 1
                if edges[k, mid] <= v:
                    lo = mid + 1
                else:
                    hi = mid
            out[k, lo - 1] += 1
    return -1


@njit(cache=True, nogil=True)
def _quantile_edges_float(sorted_values, n_bins, out):
    """sorted_values: (N, K) each column ascending; out: (K, n_bins + 1) float64.

    Inner edge j is the sorted value of rank r_j = round(j * N / n_bins) (halves up; the next float above the
    maximum when r_j = N), so the r_j smallest reference values fall below it; the outer edges are the column's
    minimum and maximum. An edge that does not exceed its predecessor (ties) moves to the next float above it.
    """
    n_s, n_k = sorted_values.shape
    for k in range(n_k):
        out[k, 0] = sorted_values[0, k]
        for j in range(1, n_bins + 1):
            rank = (2 * j * n_s + n_bins) // (2 * n_bins)
            if j == n_bins:
                cand = sorted_values[n_s - 1, k]
            elif rank < n_s:
                cand = sorted_values[rank, k]
            else:  # every reference value falls below this edge
                cand = np.nextafter(sorted_values[n_s - 1, k], np.inf)
            floor = np.nextafter(out[k, j - 1], np.inf)
            out[k, j] = cand if cand >= floor else floor


# --- checking wrappers --------------------------------------------------------------------------------------


def _float_array(name: str, arr: object, ndims: tuple[int, ...]) -> np.ndarray:
    """``arr`` as a float32/float64 ndarray (float16 widened) of one of the allowed ndims; raises naming it."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(arr).__name__}")
    if arr.dtype not in (np.float16, np.float32, np.float64):
        raise TypeError(f"{name} must be float16, float32 or float64, got {arr.dtype}")
    if arr.ndim not in ndims:
        want = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"{name} must be {want}, got shape {arr.shape}")
    return arr.astype(np.float32) if arr.dtype == np.float16 else arr


def _first_nonfinite(name: str, arr: np.ndarray) -> None:
    bad = np.argwhere(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"{name} holds NaN or Inf at index {tuple(int(i) for i in bad[0])}")


def pool_channels(act: np.ndarray, layout: str = "nchw") -> np.ndarray:
    """Per-channel spatial means: (N, C, H, W) ("nchw") or (N, H, W, C) ("nhwc") activations -> (N, C) float64.

    (N, D) activations (already pooled or a flat embedding) pass through as a float64 copy, whatever the layout.
    Raises ValueError naming the first sample and channel that hold a NaN or Inf: the caller counts and skips
    such outputs (or filters them first with :func:`finite_samples`).
    """
    a = _float_array("act", act, (2, 4))
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    if a.ndim == 2:
        a, layout = a[:, :, None, None], "nchw"  # a view: each "channel" is a 1 x 1 map
    n_s, n_c = (a.shape[0], a.shape[1]) if layout == "nchw" else (a.shape[0], a.shape[3])
    spatial = a.shape[2:] if layout == "nchw" else a.shape[1:3]
    if 0 in spatial or n_c == 0:
        raise ValueError(f"act has no channels or an empty spatial map: shape {act.shape} ({layout})")
    out = np.empty((n_s, n_c), np.float64)
    bad = _pool_nchw(a, out) if layout == "nchw" else _pool_nhwc(a, out)
    if bad >= 0:
        raise ValueError(f"act holds NaN or Inf in sample {bad // n_c}, channel {bad % n_c}")
    return out


def finite_samples(act: np.ndarray) -> np.ndarray:
    """(N,) bool: True where every value of sample n of (N, ...) activations (2-D or 4-D) is finite."""
    a = _float_array("act", act, (2, 4))
    if a.ndim == 2:
        a = a[:, :, None, None]
    out = np.empty(a.shape[0], np.bool_)
    _finite_samples(a, out)
    return out


def project(features: np.ndarray, mean: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """(features - mean) @ basis: (N, C) features, (C,) mean and (C, K) basis -> (N, K) float64 components."""
    f = _float_array("features", features, (2,))
    m = _float_array("mean", mean, (1,))
    b = _float_array("basis", basis, (2,))
    n_c = f.shape[1]
    if m.shape != (n_c,):
        raise ValueError(f"mean must have shape ({n_c},) to match features {f.shape}, got {m.shape}")
    if b.shape[0] != n_c:
        raise ValueError(f"basis must have shape ({n_c}, K) to match features {f.shape}, got {b.shape}")
    for name, arr in (("features", f), ("mean", m), ("basis", b)):
        _first_nonfinite(name, arr)
    out = np.empty((f.shape[0], b.shape[1]), np.float64)
    # float64 mean and basis (small) make the kernel subtract and multiply in float64 even for float32 features
    _project(f, m.astype(np.float64, copy=False), b.astype(np.float64, copy=False), out)
    return out


def histogram_by_edges(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of each component's values in its reference bins: (N, K) values, (K, B + 1) edges -> (K, B) int64.

    Bin i of component k is [edges[k, i], edges[k, i+1]), except that the outer bins are open-ended: values
    below edges[k, 0] (and -Inf) count in bin 0, values at or above edges[k, -1] (and +Inf) in bin B - 1. So
    only the inner edges decide, and every value is counted: each row sums to N. NaN raises ValueError.
    edges: finite and strictly increasing along each row, B >= 1 (as from :func:`quantile_edges_float`).
    """
    v = _float_array("values", values, (2,))
    e = _float_array("edges", edges, (2,)).astype(np.float64, copy=False)
    n_k = v.shape[1]
    if e.shape[0] != n_k or e.shape[1] < 2:
        raise ValueError(
            f"edges must have shape ({n_k}, B + 1) with B >= 1 to match values {v.shape}, got {e.shape}"
        )
    _first_nonfinite("edges", e)
    if (np.diff(e, axis=1) <= 0).any():
        raise ValueError("edges must be strictly increasing along each row")
    out = np.zeros((n_k, e.shape[1] - 1), np.int64)
    bad = _histogram_by_edges(v, e, out)
    if bad >= 0:
        raise ValueError(f"values holds NaN in sample {bad // n_k}, component {bad % n_k}")
    return out


def quantile_edges_float(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Reference-quantile edges of each column of (N, K) finite values -> (K, n_bins + 1) float64, strictly
    increasing along each row, for :func:`histogram_by_edges`.

    edges[k, 0] and edges[k, -1] are the column's minimum and maximum; inner edge j is the value of rank
    r_j = round(j * N / n_bins) in the sorted column, so with distinct values bin j - 1 holds exactly
    r_j - r_{j-1}, about N / n_bins, of the reference values. Ties: an
    edge that would not exceed the previous one is moved to the next float above it, so a value held by more
    than a quantile's share of the reference fills one bin and is followed by bins one float wide that stay
    empty in the reference (the divergences' pseudo-counts make that harmless).
    """
    v = _float_array("values", values, (2,))
    b = check_int("n_bins", n_bins, 1)
    if v.shape[0] < 1 or v.shape[1] < 1:
        raise ValueError(f"values must hold at least one sample and one component, got shape {v.shape}")
    _first_nonfinite("values", v)
    ordered = np.sort(v.astype(np.float64), axis=0)
    out = np.empty((v.shape[1], b + 1), np.float64)
    _quantile_edges_float(ordered, b, out)
    return out
