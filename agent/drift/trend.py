"""Trend and forecast for slow drift: slope of a long-window scalar and the time until it crosses tolerance."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

DAY_S = 86400.0


class Trend(NamedTuple):
    """Least-squares line through bucket means. slope: units per day; rel_slope: fraction of the reference
    mean per day; now: fitted value at the last bucket; days_to_tolerance: days from the last bucket until the
    line leaves [lo, hi] (0 if already outside, inf if it never does); text: plain words."""

    name: str
    slope: float
    rel_slope: float
    now: float
    days_to_tolerance: float
    text: str


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
        tm = np.average(t, weights=w)
        ym = np.average(y, weights=w)
        dt = t - tm
        slope_s = float(np.sum(w * dt * (y - ym)) / np.sum(w * dt * dt))
        now = ym + slope_s * (t[-1] - tm)
    else:
        # Hinge: flat until ``since``, linear after. The flat part pins the level the drift departs from, so a
        # few hours of slope are not read against noise alone.
        x = np.maximum(t - since, 0.0)
        sw = np.sqrt(w)
        (c, slope_s), *_ = np.linalg.lstsq(np.stack([sw, sw * x], axis=1), sw * y, rcond=None)
        now = float(c + slope_s * x[-1])
    slope = slope_s * DAY_S
    if now < lo or now > hi:
        days = 0.0
    elif slope < 0:
        days = (lo - now) / slope
    elif slope > 0:
        days = (hi - now) / slope
    else:
        days = math.inf
    rel = slope / abs(reference) if reference else 0.0
    when = (
        "never at this rate"
        if math.isinf(days)
        else ("already outside" if days == 0 else f"in ~{days:.1f} days")
    )
    text = f"{name} {100 * rel:+.2f}%/day; crosses tolerance {when}"
    return Trend(name, slope, rel, float(now), float(days), text)


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
