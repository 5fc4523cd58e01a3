"""Trend and forecast for slow drift: slope of a long-window scalar and the time until it crosses tolerance.

A forecast is made only from a significant trend: the slope's t statistic (slope over its standard error, the
error inflated for the residuals' lag-1 autocorrelation: minute buckets of a product mix are correlated) must
reach :data:`SIGNIFICANT_T` over at least :data:`MIN_BUCKETS` buckets. Otherwise the slope is reported without a
crossing time: a CUSUM that crossed on a few noisy minutes no longer reads "+280 %/day, crosses in ~0.0 days".
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

DAY_S = 86400.0
SIGNIFICANT_T = (
    3.0  # |slope| / se: a trend this clear is not the noise of the bucket means (two-sided ~0.3 %)
)
MIN_BUCKETS = 6
RANGE_T = 2.0  # the forecast's range: the crossing times of the slopes 2 standard errors either side (~95 %)


class Trend(NamedTuple):
    """Least-squares line through bucket means. slope: units per day; rel_slope: fraction of the reference
    mean per day; now: fitted value at the last bucket; days_to_tolerance: days from the last bucket until the
    line leaves [lo, hi] (0 if already outside, inf if it never does or the trend is not significant); text:
    plain words; t_stat: slope / its standard error (inf for an exact line); significant: the forecast holds;
    days_range: (soonest, latest) crossing for the slopes :data:`RANGE_T` standard errors either side of the fit
    (the level at the last bucket taken as known; (inf, inf) without a forecast)."""

    name: str
    slope: float
    rel_slope: float
    now: float
    days_to_tolerance: float
    text: str
    t_stat: float = math.inf
    significant: bool = True
    days_range: tuple[float, float] = (math.inf, math.inf)


def fit_trend(
    name: str,
    times_s: np.ndarray,
    means: np.ndarray,
    weights: np.ndarray,
    *,
    reference: float,
    lo: float,
    hi: float,
    since: float | None = None,
    hinge: bool = False,
) -> Trend | None:
    """Weighted (by frames per bucket) least-squares trend of bucket ``means`` at ``times_s`` (s, bucket
    starts); tolerance band [lo, hi] in the scalar's units. With ``since`` (s, inside the span) the line is a
    hinge: level before ``since``, slope after it; ``hinge=True`` picks ``since`` as the least-squares change
    point. None with fewer than 3 buckets."""
    t = np.asarray(times_s, np.float64)
    y = np.asarray(means, np.float64)
    w = np.asarray(weights, np.float64)
    if t.size < 3 or np.ptp(t) <= 0:
        return None
    if hinge:
        since = _best_hinge(t, y, w)
    if since is None or not (t[0] < since < t[-1]):
        design = np.stack([np.ones_like(t), t - np.average(t, weights=w)], axis=1)
    else:
        # Hinge: flat until ``since``, linear after. The flat part pins the level the drift departs from, so a
        # few hours of slope are not read against noise alone.
        design = np.stack([np.ones_like(t), np.maximum(t - since, 0.0)], axis=1)
    slope_s, now, t_stat = _weighted_line(design, y, w)
    slope = slope_s * DAY_S
    significant = t.size >= MIN_BUCKETS and abs(t_stat) >= SIGNIFICANT_T
    rel = slope / abs(reference) if reference else 0.0
    days_range = (math.inf, math.inf)
    if now < lo or now > hi:
        days = 0.0
        days_range = (0.0, 0.0)
    elif not significant or slope == 0:
        days = math.inf
    else:
        gap = (lo if slope < 0 else hi) - now
        days = gap / slope
        # |t| >= SIGNIFICANT_T > RANGE_T: both bounding slopes have the fitted slope's sign
        spread = RANGE_T / abs(t_stat) if math.isfinite(t_stat) else 0.0
        days_range = (gap / (slope * (1.0 + spread)), gap / (slope * (1.0 - spread)))
    if days == 0.0:
        when = "crosses tolerance already outside"
    elif not significant:
        when = f"no forecast: not a significant trend (t {t_stat:.1f} over {t.size} buckets)"
    else:
        when = (
            "crosses tolerance never at this rate"
            if math.isinf(days)
            else f"crosses tolerance in ~{days:.1f} days ({days_range[0]:.1f}-{days_range[1]:.1f} at 95 %)"
        )
    text = f"{name} {100 * rel:+.2f}%/day; {when}"
    return Trend(name, slope, rel, float(now), float(days), text, float(t_stat), significant, days_range)


def _weighted_line(design: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float, float]:
    """Weighted least squares of ``y`` on the (n, 2) ``design`` [1, x] -> (slope per s, fitted value at the last
    point, slope t statistic). The slope's variance is the usual sigma^2 (X'WX)^-1, inflated by
    (1 + rho) / (1 - rho) for the lag-1 autocorrelation rho >= 0 of the residuals (bias-corrected)."""
    sw = np.sqrt(w)
    a = design * sw[:, None]
    coef, *_ = np.linalg.lstsq(a, sw * y, rcond=None)
    resid = sw * y - a @ coef
    n = y.size
    sigma2 = float(resid @ resid) / max(n - 2, 1)
    rho = 0.0
    if n > 3 and float(resid @ resid) > 0:
        r1 = float((resid[1:] @ resid[:-1]) / (resid @ resid))
        # the lag-1 estimate of a short series is biased low by about (1 + 4 rho) / n (Marriott & Pope)
        rho = float(np.clip(r1 + (1.0 + 4.0 * r1) / n, 0.0, 0.98))
    var = sigma2 * float(np.linalg.pinv(a.T @ a)[1, 1]) * (1.0 + rho) / (1.0 - rho)
    slope_s = float(coef[1])
    t_stat = slope_s / math.sqrt(var) if var > 0 else (math.inf if slope_s else 0.0)
    return slope_s, float(design[-1] @ coef), t_stat


def _hinge_sse(t: np.ndarray, y: np.ndarray, w: np.ndarray, since: float) -> float:
    x = np.maximum(t - since, 0.0)
    sw = np.sqrt(w)
    a = np.stack([sw, sw * x], axis=1)
    coef, *_ = np.linalg.lstsq(a, sw * y, rcond=None)
    r = sw * y - a @ coef
    return float(r @ r)


def _best_hinge(t: np.ndarray, y: np.ndarray, w: np.ndarray, n_candidates: int = 48) -> float | None:
    """Change point (s) of a flat-then-linear fit, searched over ``n_candidates`` times; None if the plain line
    fits as well (no change point inside the span)."""
    cands = np.linspace(t[0], t[-1], n_candidates + 2)[1:-2]
    if cands.size == 0:
        return None
    sse = [_hinge_sse(t, y, w, c) for c in cands]
    return float(cands[int(np.argmin(sse))])
