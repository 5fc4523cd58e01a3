"""Divergences between histograms over the same bins: PSI, KL, Jensen-Shannon and 1-D Wasserstein.

Inputs are counts (any integer dtype, or float weights), shape (B,) with B >= 2 (``psi_rows``: (K, B)); each
histogram must be finite, non-negative and hold at least one count. Results are float64, in nats for PSI, KL
and JS, and in units of ``bin_width`` (or of ``centers``) for W1.

Empty bins: one rule, Jeffreys pseudo-counts. PSI, KL and JS take logarithms of proportions, so an empty bin
needs a rule. Every count gets ``alpha = 1/2`` added before normalising::

    p_i = (c_i + alpha) / (n + alpha * B)        n = sum(c)

This is the posterior mean of the bin probabilities under a Dirichlet(1/2, ..., 1/2) prior (Jeffreys' prior
for a multinomial), so it is an estimate of the proportions, not a patch. Its pull on any proportion is at most
``alpha * B / (n + alpha * B)``, shrinking like 1/n: a large sample speaks for itself, and an empty bin costs
what the data says it costs, a PSI term that grows only like ``p ln(n p / alpha)``, finite for every n. A fixed
floor for empty bins instead charges the same arbitrary amount whatever n is, and the amount is set by the
constant: Evidently's 1e-4 makes one empty bin worth 0.31, a float-min floor (Frouros) ~35.

The figures, for a reference of 20 equal bins (500 counts each) against a current histogram with 19 equal bins
and one empty (5, 50 or 500 counts per bin):

>>> import numpy as np
>>> ref = np.full(20, 500)
>>> for per_bin in (5, 50, 500):
...     cur = np.full(20, per_bin)
...     cur[0] = 0
...     print(f"n = {cur.sum():4d}: PSI = {psi(ref, cur):.2f}")
n =   95: PSI = 0.11
n =  950: PSI = 0.23
n = 9500: PSI = 0.35

while the 1e-4 floor gives 0.31 and the float-min floor 35.27 for all three. No fastmath anywhere here: the
logarithms of small proportions decide the result.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["js", "kl", "psi", "psi_rows", "smoothed_proportions", "wasserstein_1d"]


# --- kernels ------------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _smooth_rows(counts, alpha, out):
    """counts: (K, B) >= 0; out: (K, B) float64 receives (c + alpha) / (n + alpha * B) row by row."""
    n_rows, n_bins = counts.shape
    for k in range(n_rows):
        total = 0.0
        for i in range(n_bins):
            total += counts[k, i]
        denom = total + alpha * n_bins
        for i in range(n_bins):
            out[k, i] = (counts[k, i] + alpha) / denom


@njit(cache=True, nogil=True)
def _total(counts):
    total = 0.0
    for i in range(counts.shape[0]):
        total += counts[i]
    return total


@njit(cache=True, nogil=True)
def _psi(ref, cur, alpha):
    """sum (q - p) ln(q / p) over smoothed proportions p (ref) and q (cur); both (B,)."""
    n_bins = ref.shape[0]
    dp = _total(ref) + alpha * n_bins
    dq = _total(cur) + alpha * n_bins
    acc = 0.0
    for i in range(n_bins):
        p = (ref[i] + alpha) / dp
        q = (cur[i] + alpha) / dq
        acc += (q - p) * math.log(q / p)
    return acc


@njit(cache=True, nogil=True)
def _psi_rows(ref, cur, alpha, out):
    for k in range(ref.shape[0]):
        out[k] = _psi(ref[k], cur[k], alpha)


@njit(cache=True, nogil=True)
def _kl(pc, qc, alpha):
    """KL(p || q) = sum p ln(p / q) over smoothed proportions; nats."""
    n_bins = pc.shape[0]
    dp = _total(pc) + alpha * n_bins
    dq = _total(qc) + alpha * n_bins
    acc = 0.0
    for i in range(n_bins):
        p = (pc[i] + alpha) / dp
        q = (qc[i] + alpha) / dq
        acc += p * math.log(p / q)
    return acc


@njit(cache=True, nogil=True)
def _js(pc, qc, alpha):
    """(KL(p || m) + KL(q || m)) / 2 with m = (p + q) / 2 over smoothed proportions; nats, <= ln 2."""
    n_bins = pc.shape[0]
    dp = _total(pc) + alpha * n_bins
    dq = _total(qc) + alpha * n_bins
    acc = 0.0
    for i in range(n_bins):
        p = (pc[i] + alpha) / dp
        q = (qc[i] + alpha) / dq
        m = 0.5 * (p + q)
        acc += p * math.log(p / m) + q * math.log(q / m)
    return 0.5 * acc


@njit(cache=True, nogil=True)
def _w1(pc, qc, widths):
    """sum_i |CDF_p(i) - CDF_q(i)| * widths[i] for i < B - 1; widths: (B - 1,) distances between bins."""
    n_p = _total(pc)
    n_q = _total(qc)
    cum_p = 0.0
    cum_q = 0.0
    acc = 0.0
    for i in range(widths.shape[0]):
        cum_p += pc[i]
        cum_q += qc[i]
        acc += abs(cum_p / n_p - cum_q / n_q) * widths[i]
    return acc


# --- checking wrappers --------------------------------------------------------------------------------------


def _check_counts(name: str, counts: object, ndim: int | None) -> np.ndarray:
    """Returns ``counts`` as an integer or float64 array (no copy when it already is one); raises naming it.

    ndim: the required number of dimensions, or None for any >= 1.
    """
    arr = np.asarray(counts)
    if arr.dtype.kind == "f":
        if arr.dtype != np.float64:
            arr = arr.astype(np.float64)
    elif arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer counts or float weights, got dtype {arr.dtype}")
    if ndim is None and arr.ndim < 1:
        raise ValueError(f"{name} must be at least 1-D, got a scalar")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if arr.shape[-1] < 2:
        raise ValueError(f"{name} needs at least 2 bins, got shape {arr.shape}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} holds NaN or Inf")
    if arr.dtype.kind != "u" and (arr < 0).any():
        raise ValueError(f"{name} holds negative counts")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: shape {arr.shape}")
    empty = np.flatnonzero(arr.reshape(-1, arr.shape[-1]).sum(axis=-1) <= 0)
    if empty.size:
        row = tuple(int(i) for i in np.unravel_index(empty[0], arr.shape[:-1]))
        where = "" if not row else f" (row {row[0] if len(row) == 1 else row})"
        raise ValueError(f"{name} holds no counts{where}")
    return arr


def _check_pair(p_name: str, p: object, q_name: str, q: object, ndim: int) -> tuple[np.ndarray, np.ndarray]:
    a = _check_counts(p_name, p, ndim)
    b = _check_counts(q_name, q, ndim)
    if a.shape != b.shape:
        raise ValueError(f"{p_name} and {q_name} must have the same shape, got {a.shape} and {b.shape}")
    return a, b


def _check_alpha(alpha: object) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float | np.integer | np.floating):
        raise TypeError(f"alpha must be a number, got {type(alpha).__name__}")
    if not (math.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha must be finite and > 0, got {alpha}")
    return float(alpha)


def smoothed_proportions(counts: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """(..., B) counts -> (..., B) float64 proportions ``(c + alpha) / (n + alpha * B)``, each row summing to 1.

    n is the row's total. ``alpha = 1/2`` is Jeffreys' pseudo-count (see the module docstring).
    """
    arr = _check_counts("counts", counts, None)
    a = _check_alpha(alpha)
    flat = arr.reshape(-1, arr.shape[-1])
    out = np.empty(flat.shape, np.float64)
    _smooth_rows(flat, a, out)
    return out.reshape(arr.shape)


def psi(ref_counts: np.ndarray, cur_counts: np.ndarray, alpha: float = 0.5) -> float:
    """Population stability index, ``sum (q - p) ln(q / p)`` over smoothed proportions; >= 0, symmetric.

    ref_counts, cur_counts: (B,) counts over the same bins, B >= 2. Common reading: < 0.1 stable,
    0.1-0.25 moderate shift, > 0.25 large shift.
    """
    p, q = _check_pair("ref_counts", ref_counts, "cur_counts", cur_counts, 1)
    return float(_psi(p, q, _check_alpha(alpha)))


def psi_rows(ref_counts: np.ndarray, cur_counts: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """PSI of each row: (K, B) reference and (K, B) current counts -> (K,) float64."""
    p, q = _check_pair("ref_counts", ref_counts, "cur_counts", cur_counts, 2)
    out = np.empty(p.shape[0], np.float64)
    _psi_rows(p, q, _check_alpha(alpha), out)
    return out


def kl(p_counts: np.ndarray, q_counts: np.ndarray, alpha: float = 0.5) -> float:
    """Kullback-Leibler divergence KL(p || q) in nats between the smoothed proportions of two (B,) histograms."""
    p, q = _check_pair("p_counts", p_counts, "q_counts", q_counts, 1)
    return float(_kl(p, q, _check_alpha(alpha)))


def js(p_counts: np.ndarray, q_counts: np.ndarray, alpha: float = 0.5) -> float:
    """Jensen-Shannon divergence in nats (0 <= JS <= ln 2) between two (B,) histograms.

    Both inputs are smoothed first, then mixed: m = (p + q) / 2. This is the divergence, not its square root
    (the Jensen-Shannon distance).
    """
    p, q = _check_pair("p_counts", p_counts, "q_counts", q_counts, 1)
    return float(_js(p, q, _check_alpha(alpha)))


def wasserstein_1d(
    p_counts: np.ndarray,
    q_counts: np.ndarray,
    bin_width: float = 1.0,
    centers: np.ndarray | None = None,
) -> float:
    """Earth mover's distance W1 between two normalised (B,) histograms over ordered bins; no smoothing.

    W1 = sum_i |CDF_p(i) - CDF_q(i)| * bin_width, in units of ``bin_width``. With ``centers`` ((B,) strictly
    increasing bin positions, for unequal bins) the widths are ``diff(centers)`` instead; give one or the other.
    Moving all mass by one bin costs exactly one ``bin_width``.
    """
    p, q = _check_pair("p_counts", p_counts, "q_counts", q_counts, 1)
    n_bins = p.shape[0]
    if centers is None:
        if isinstance(bin_width, bool) or not isinstance(bin_width, int | float | np.integer | np.floating):
            raise TypeError(f"bin_width must be a number, got {type(bin_width).__name__}")
        if not (math.isfinite(bin_width) and bin_width > 0):
            raise ValueError(f"bin_width must be finite and > 0, got {bin_width}")
        widths = np.full(n_bins - 1, float(bin_width))
    else:
        if bin_width != 1.0:
            raise ValueError("give bin_width or centers, not both")
        c = np.asarray(centers)
        if c.dtype.kind not in "iuf":
            raise TypeError(f"centers must be numeric, got dtype {c.dtype}")
        if c.shape != (n_bins,):
            raise ValueError(f"centers must have shape ({n_bins},) like the histograms, got {c.shape}")
        c = c.astype(np.float64)
        widths = np.diff(c)
        if not (np.isfinite(c).all() and (widths > 0).all()):
            raise ValueError("centers must be finite and strictly increasing")
    return float(_w1(p, q, widths))
