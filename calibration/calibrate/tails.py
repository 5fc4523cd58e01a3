"""Far tails the thresholds are read from: the chi-square survival function and its inverse, a scaled chi-square
fitted by moments, and the CUSUM threshold of a given in-control run length (Siegmund's approximation).

Pure Python (``math``): levels of 1e-6 and below, far past what a bootstrap sample reaches, are computed on the
log of the tail so that they keep their relative precision.
"""

from __future__ import annotations

import math

import numpy as np


def fit_scaled_chi2(samples: np.ndarray) -> tuple[float, float]:
    """Method of moments: ``a * chi2(nu)`` with the sample mean and variance -> (a, nu)."""
    m = float(np.mean(samples))
    v = float(np.var(samples, ddof=1))
    if m <= 0 or v <= 0:
        raise ValueError(f"cannot fit a scaled chi-square to samples with mean {m} and variance {v}")
    return v / (2.0 * m), 2.0 * m * m / v


def _gamma_q(s: float, x: float) -> float:
    """Regularized upper incomplete gamma Q(s, x) (series below s + 1, Lentz continued fraction above)."""
    if x <= 0:
        return 1.0
    log_front = s * math.log(x) - x - math.lgamma(s)
    if x < s + 1:
        term = total = 1.0 / s
        k = s
        for _ in range(10_000):
            k += 1
            term *= x / k
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return max(0.0, 1.0 - math.exp(log_front) * total)
    tiny = 1e-300
    b = x + 1 - s
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - s)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        step = d * c
        h *= step
        if abs(step - 1) < 1e-16:
            break
    return math.exp(log_front) * h


def chi2_sf(x: float, nu: float) -> float:
    """P(chi2(nu) > x)."""
    return _gamma_q(nu / 2.0, x / 2.0)


def chi2_isf(level: float, nu: float) -> float:
    """x with P(chi2(nu) > x) = level, by bisection on the log of the tail (relative precision ~1e-12)."""
    if not 0 < level < 1 or nu <= 0:
        raise ValueError(f"need 0 < level < 1 and nu > 0, got {level} and {nu}")
    lo, hi = 0.0, max(1.0, nu)
    while chi2_sf(hi, nu) > level:
        lo, hi = hi, 2 * hi
    target = math.log(level)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        p = chi2_sf(mid, nu)
        if p > 0 and math.log(p) > target:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * hi:
            break
    return 0.5 * (lo + hi)


def scaled_chi2_isf(a: float, nu: float, level: float) -> float:
    """Upper ``level`` quantile of ``a * chi2(nu)``."""
    return float(a * chi2_isf(level, nu))


def cusum_h(k: float, arl: float) -> float:
    """Decision threshold h whose one-sided in-control ARL is ``arl`` (Siegmund's approximation, N(0,1) data)."""

    def arl_of(h: float) -> float:
        b = h + 1.166
        if k == 0:
            return b * b
        return (math.exp(2 * k * b) - 2 * k * b - 1) / (2 * k * k)

    lo, hi = 0.0, 1.0
    while arl_of(hi) < arl:
        hi *= 2
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if arl_of(mid) < arl else (lo, mid)
    return hi


def variance_upper_factor(dof: float, confidence: float = 0.95) -> float:
    """How much a variance estimated with ``dof`` degrees of freedom may be too small, at ``confidence``.

    The one-sided upper confidence bound of a variance is ``s^2 * dof / chi2_{1-confidence}(dof)``, so the factor
    is ``dof / chi2_isf(confidence, dof)`` (>= 1; 1.44 at 49 dof, 2.13 at 14, 5.6 at 4 for 95 %)."""
    if not dof > 0 or not 0.5 <= confidence < 1:
        raise ValueError(f"need dof > 0 and 0.5 <= confidence < 1, got {dof} and {confidence}")
    return max(1.0, dof / chi2_isf(confidence, dof))
