"""The tone curve a window's luma quantiles moved along, and what it does to the colour ratios.

A lamp is a gain (every level scales by the same factor); an ISP gamma is a curvature (log levels scale by
1 + b, dark levels move most, white holds). Both are fitted at once to the five luma quantiles; the ratios
R/G and B/G then move by what the fitted curve predicts, and only what is left is a colour cast.
"""

from __future__ import annotations

import numpy as np

from camdrift.agent.drift.statistics import WindowStats, window_null_sd


def tone_fit(ref_q: np.ndarray, cur_q: np.ndarray) -> tuple[float, float]:
    """Fit ln(cur / ref) = a + b ln(ref / 255) over the luma quantiles -> (a, b): a = gain (lighting),
    b = gamma - 1 (an ISP gamma moves dark levels most in log terms and holds white)."""
    ok = (ref_q > 2.0) & (ref_q < 250.0) & (cur_q > 0.5)
    if ok.sum() < 2:
        return 0.0, 0.0
    y = np.log(cur_q[ok] / ref_q[ok])
    x = np.log(ref_q[ok] / 255.0)
    a, b = np.linalg.lstsq(np.stack([np.ones_like(x), x], axis=1), y, rcond=None)[0]
    return float(a), float(b)


def tone_fit_se(ref_q: np.ndarray, rel: np.ndarray, z: np.ndarray) -> tuple[float, float]:
    """Standard errors (se_a, se_b) of :func:`tone_fit`'s (a, b) under the window's own null: each quantile's
    log-ratio has the sd |rel / z| (z is its shift in null sds); quantiles with no measured scale are left out.
    The fit is ordinary least squares, so its covariance is (X'X)^-1 X' S X (X'X)^-1 with S = diag(sd^2)."""
    sd = window_null_sd(rel, z)
    ok = (ref_q > 2.0) & (ref_q < 250.0) & np.isfinite(sd)
    if ok.sum() < 3:
        return np.inf, np.inf
    x = np.stack([np.ones(int(ok.sum())), np.log(ref_q[ok] / 255.0)], axis=1)
    inv = np.linalg.pinv(x.T @ x)
    cov = inv @ (x.T * sd[ok] ** 2) @ x @ inv
    return float(np.sqrt(max(cov[0, 0], 0.0))), float(np.sqrt(max(cov[1, 1], 0.0)))


def colour_beyond_tone(
    ws: WindowStats, si: dict[str, int], scalar_mean: np.ndarray, b: float
) -> tuple[float, float]:
    """(R/G, B/G) shifts in null sds beyond what a tone curve of exponent ``1 + b`` predicts for the ratios
    (ln ratio scales by 1 + b; a gain leaves them alone)."""
    out = []
    for c in ("rg", "bg"):
        i = si[c]
        z, rel = float(ws.z[i]), float(ws.rel[i])
        ref = float(scalar_mean[i])
        if z == 0.0 or rel == 0.0 or ref <= 0.0:
            out.append(z)
            continue
        predicted = float(np.expm1(b * np.log(ref)))
        out.append((rel - predicted) / float(window_null_sd(rel, z)) * np.sign(z * rel))
    return out[0], out[1]
