"""How much reference a baseline needs: the effective number of independent windows a reference holds, and the
stated minimum below which ``camdrift calibrate`` refuses (exit 1, ``--force`` writes it anyway).

A threshold is a quantile of the window statistics' null, scaled by their null variance (a window mean's
variance for every ``shift.<scalar>``). That variance is estimated from the reference's own windows, so its
precision is what a reference length buys. By Bartlett's formula the variance estimated from a series of length n
whose autocorrelation is rho(k) has ``Var(s^2) ~ 2 sigma^4 / n * sum_k rho(k)^2``: it is as precise as a variance
from ``n_eff = n / (1 + 2 sum_{k>=1} rho(k)^2)`` independent values. Here the series is the moving window mean of
each scalar (so both the window's overlap and the frames' own autocorrelation are priced in; the sum runs over
the initial positive sequence). On white frames n_eff is about 1.5 R / window (35 for 500 frames of window 20);
correlated footage has fewer.

Minimum (stated and tested): ``MIN_WINDOWS`` (10) windows of frames, and ``MIN_EFFECTIVE`` (15) effectively
independent windows (median over the scalars that vary). At 15 the 95 % upper bound of a variance is 2.1 times
its estimate (:func:`~camdrift.calibration.calibrate.tails.variance_upper_factor`), the widening a reference at
the minimum pays; 100 s at 5 fps of the four scenes of ``agent/sim/scenes.py`` hold 21-47 (measured for issue
#14).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

MIN_WINDOWS = 10
MIN_EFFECTIVE = 15.0
MAX_LAG = 600


def autocorrelation(x: np.ndarray, max_lag: int) -> np.ndarray:
    """(R, S) series -> (S, max_lag) autocorrelation at lags 0..max_lag-1 (biased estimator, via FFT); a
    constant series gives 0."""
    x = np.asarray(x, np.float64)
    xc = x - x.mean(axis=0)
    nfft = 1 << int(math.ceil(math.log2(2 * x.shape[0])))
    f = np.fft.rfft(xc, nfft, axis=0)
    ac = np.fft.irfft(f * np.conj(f), nfft, axis=0)[:max_lag].T
    var = ac[:, :1]
    return np.where(var > 0, ac / np.where(var > 0, var, 1.0), 0.0)


def effective_windows(scalars: np.ndarray, window: int) -> np.ndarray:
    """(S,) effective number of independent windows (module doc) of each scalar in ``scalars`` (R, S); NaN for
    a scalar that does not vary (its sd is floored, not estimated). Fewer than ``window + 2`` frames: 1."""
    x = np.asarray(scalars, np.float64)
    r, s = x.shape
    if r < window + 2:
        return np.ones(s)
    c = np.cumsum(np.vstack([np.zeros(s), x]), axis=0)
    means = (c[window:] - c[:-window]) / window  # (R - window + 1, S) moving window means
    acf = autocorrelation(means, min(MAX_LAG, len(means) // 2))
    out = np.full(s, np.nan)
    varies = x.std(axis=0) > 1e-9 * np.maximum(np.abs(x).max(axis=0), 1.0)
    for i in np.flatnonzero(varies):
        rho = acf[i, 1:]
        stop = np.flatnonzero(rho <= 0)
        rho = rho[: stop[0]] if stop.size else rho
        out[i] = len(means) / (1.0 + 2.0 * float(np.sum(rho * rho)))
    return out


class ReferenceMinimum(NamedTuple):
    """A reference against the minimum. frames: analysed reference frames; window: frames per window; n_eff:
    median effective independent windows over the varying scalars; min_frames: the minimum for this footage
    (max of ``MIN_WINDOWS`` windows and the frames that hold ``MIN_EFFECTIVE`` effective windows)."""

    frames: int
    window: int
    n_eff: float
    min_frames: int

    @property
    def met(self) -> bool:
        return self.frames >= self.min_frames

    def shortfall(self, rate: float) -> str:
        """One line: the reference, the minimum and how much more footage (s at ``rate`` analysed frames/s)."""
        more = math.ceil((self.min_frames - self.frames) / rate - 1e-6) if rate > 0 else 0
        return (
            f"reference of {self.frames} analysed frames ({self.frames / rate:.0f} s at {rate:.3g} fps) is below "
            f"the minimum of {self.min_frames} frames for a window of {self.window} ({MIN_WINDOWS} windows, and "
            f"{MIN_EFFECTIVE:g} effectively independent windows at the autocorrelation measured; these frames "
            f"hold {self.n_eff:.1f}): capture at least {more} s more"
        )


def reference_minimum(scalars: np.ndarray, window: int) -> ReferenceMinimum:
    """The minimum (module doc) for the (R, S) per-frame ``scalars`` of a reference and its ``window``."""
    r = int(np.asarray(scalars).shape[0])
    per_scalar = effective_windows(scalars, window)
    n_eff = median_effective(per_scalar, r, window)
    # nothing varies (a frozen stream): no variance to estimate, the static-scene gate says so
    by_eff = math.ceil(r * MIN_EFFECTIVE / max(n_eff, 1e-9)) if np.isfinite(per_scalar).any() else 0
    return ReferenceMinimum(r, window, n_eff, max(MIN_WINDOWS * window, by_eff))


def median_effective(n_eff: np.ndarray, frames: int, window: int) -> float:
    """Median over the scalars that vary; when none does (a frozen stream, refused by its own gate), the
    number of disjoint windows in ``frames``."""
    finite = n_eff[np.isfinite(n_eff)]
    return float(np.median(finite)) if finite.size else max(frames / window, 1.0)
