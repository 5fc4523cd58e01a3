"""Rebinning of fine (natural) histograms into a few coarse bins of equal reference mass.

A 256-bin histogram of one frame region is too sparse for PSI: most bins hold a handful of pixels, and its noise
swamps drift. Calibration picks B coarse bins that each hold about 1/B of the reference mass
(:func:`quantile_edges`), turns them into a lookup table natural bin -> coarse bin (:func:`rebin_lut`), and the
agent sums each frame's counts through it (:func:`rebin`). Coarse bin ``j`` covers natural bins
``edges[j] .. edges[j+1] - 1``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from camdrift.kernels._checks import check_int

__all__ = ["quantile_edges", "rebin", "rebin_lut"]


@njit(cache=True, nogil=True)
def _quantile_edges(counts, n_bins, out):
    """Writes the coarse edges into out ((n_bins + 1,) int64) and returns how many it wrote.

    Target j (1 <= j < n_bins) sits at mass j * M / n_bins. Its candidate edge is the natural boundary nearest
    to it: e, the first boundary with cumulative mass >= the target, or e - 1 when that is strictly nearer
    (ties go to e). Masses are compared as cum * n_bins against j * M, exact for integer counts below 2**53 / B.
    Candidates that would leave a coarse bin without reference mass are dropped, which merges bins.
    """
    n_nat = counts.shape[0]
    total = 0.0
    for i in range(n_nat):
        total += counts[i]
    out[0] = 0
    n_out = 1
    kept_cum = 0.0  # cumulative mass at the last kept edge
    e = 0
    cum_e = 0.0  # cumulative mass of natural bins [0, e)
    cum_before = 0.0  # ... of [0, e - 1), kept rather than subtracted so float weights round the same way
    for j in range(1, n_bins):
        target = j * total
        while cum_e * n_bins < target and e < n_nat:
            cum_before = cum_e
            cum_e += counts[e]
            e += 1
        cand = e
        cum_cand = cum_e
        if e > 1 and target - cum_before * n_bins < cum_e * n_bins - target:
            cand = e - 1
            cum_cand = cum_before
        if cand > out[n_out - 1] and cum_cand > kept_cum and cum_cand < total:
            out[n_out] = cand
            n_out += 1
            kept_cum = cum_cand
    out[n_out] = n_nat
    return n_out + 1


@njit(cache=True, nogil=True)
def _rebin(counts, lut, out):
    """counts: (K, N); lut: (N,) coarse bin of each natural bin; out: (K, B) zeroed, receives the sums."""
    for k in range(counts.shape[0]):
        for i in range(counts.shape[1]):
            out[k, lut[i]] += counts[k, i]


def quantile_edges(ref_counts: np.ndarray, n_bins: int) -> np.ndarray:
    """Boundaries of at most ``n_bins`` coarse bins of about equal mass in ``ref_counts``.

    ref_counts: (N,) reference counts over natural bins (e.g. 256 DN8 levels), integer or float weights,
        finite, >= 0, not all zero.
    Returns int64 edges of shape (B' + 1,), edges[0] = 0 < edges[1] < ... < edges[-1] = N, with B' <= n_bins.
    Every coarse bin holds reference mass, so B' < n_bins when a natural bin holds more than a quantile's worth
    (its neighbouring targets fall on the same boundary and the bins merge) or when the reference has fewer
    non-empty natural bins than ``n_bins``; B' is 1 for a reference held in a single natural bin. Callers that
    need B' >= 2 (every divergence does) must check ``len(edges) - 1``. Deterministic: each inner edge is the
    natural boundary nearest to its quantile target j/n_bins (ties to the upper boundary).
    """
    counts = np.asarray(ref_counts)
    if counts.dtype.kind == "f":
        counts = counts.astype(np.float64, copy=False)
        if not np.isfinite(counts).all():
            raise ValueError("ref_counts holds NaN or Inf")
    elif counts.dtype.kind not in "iu":
        raise TypeError(f"ref_counts must hold integer counts or float weights, got dtype {counts.dtype}")
    if counts.ndim != 1 or counts.shape[0] < 1:
        raise ValueError(f"ref_counts must be 1-D and non-empty, got shape {counts.shape}")
    if counts.dtype.kind != "u" and (counts < 0).any():
        raise ValueError("ref_counts holds negative counts")
    if not counts.any():
        raise ValueError("ref_counts holds no counts")
    b = check_int("n_bins", n_bins, 1)
    out = np.empty(b + 1, np.int64)
    n = _quantile_edges(counts, b, out)
    return out[:n].copy()


def rebin_lut(edges: np.ndarray, n_natural: int = 256) -> np.ndarray:
    """(n_natural,) int64 lookup table: natural bin i -> coarse bin j with edges[j] <= i < edges[j+1].

    edges: (B + 1,) integers, edges[0] = 0, strictly increasing, edges[-1] = n_natural (as from
    :func:`quantile_edges`).
    """
    n = check_int("n_natural", n_natural, 1)
    e = np.asarray(edges)
    if e.dtype.kind not in "iu":
        raise TypeError(f"edges must be integers, got dtype {e.dtype}")
    if e.ndim != 1 or e.shape[0] < 2:
        raise ValueError(f"edges must be 1-D with at least 2 entries, got shape {e.shape}")
    if e[0] != 0 or e[-1] != n:
        raise ValueError(f"edges must run from 0 to n_natural={n}, got {e[0]} .. {e[-1]}")
    if (np.diff(e) <= 0).any():
        raise ValueError("edges must be strictly increasing")
    return np.repeat(np.arange(e.shape[0] - 1, dtype=np.int64), np.diff(e))


def rebin(counts: np.ndarray, lut: np.ndarray, n_bins: int) -> np.ndarray:
    """Sums (..., N) natural-bin counts into (..., n_bins) coarse bins through ``lut`` ((N,) coarse bin per
    natural bin, values in 0..n_bins-1, any integer dtype). Exact: int64 for integer counts, float64 for float
    weights (summed in natural-bin order).
    """
    c = np.asarray(counts)
    if c.dtype.kind == "f":
        c = c.astype(np.float64, copy=False)
        out_dtype = np.float64
    elif c.dtype.kind in "iu":
        out_dtype = np.int64
    else:
        raise TypeError(f"counts must hold integer counts or float weights, got dtype {c.dtype}")
    if c.ndim < 1:
        raise ValueError("counts must be at least 1-D, got a scalar")
    table = np.asarray(lut)
    if table.dtype.kind not in "iu":
        raise TypeError(f"lut must be integers, got dtype {table.dtype}")
    if table.shape != (c.shape[-1],):
        raise ValueError(
            f"lut must have shape ({c.shape[-1]},) to match the last axis of counts, got {table.shape}"
        )
    b = check_int("n_bins", n_bins, 1)
    if table.size and (table.min() < 0 or table.max() >= b):
        raise ValueError(f"lut values must lie in 0..{b - 1}, got {table.min()} .. {table.max()}")
    flat = c.reshape(-1, c.shape[-1])
    out = np.zeros((flat.shape[0], b), out_dtype)
    _rebin(flat, table, out)
    return out.reshape(c.shape[:-1] + (b,))
