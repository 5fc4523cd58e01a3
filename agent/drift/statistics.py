"""Per-window statistics against the baseline, and the two-sided CUSUM for the long windows.

Every monitored statistic has a name (:func:`statistic_names`) and a non-negative score the thresholds apply to:
``psi.<group>`` PSI in nats (primary; JS and W1 ride along as evidence), ``shift.<scalar>`` the |z| of the window
mean in units of its null sd (the block-bootstrap sd of an N-frame window mean, so autocorrelation is priced in),
``grid.sharpness`` the largest |z| over the grid cells (per-cell luma z rides along as evidence only: a
product passing a rarely visited cell moves it far more than its bootstrap sd says), ``displacement`` the phase-correlation
shift between the window's mean thumbnail and the reference thumbnail, in frame pixels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import cv2
import numpy as np

from camdrift.agent.drift.features import FrameFeatures
from camdrift.kernels.divergence import js, psi_rows, wasserstein_1d

GROUPS = ("blue", "green", "red", "luma")
# Smallest window-mean sd (in each scalar's unit, see features.SCALARS) a z-score may divide by: a reference
# that never clipped must not turn one clipped pixel into an infinite shift.
SCALAR_SD_FLOOR = (0.02, 0.02, 0.002, 0.005, 0.0005, 0.0005, 1e-4, 1e-4, 0.05, 0.05, 0.05, 0.05, 0.05)
GRID_SD_FLOOR = (0.02, 0.5)  # ln-sharpness, DN8: rare content in a cell must not read as a local fault


def window_null_sd(
    rel: np.ndarray | float, z: np.ndarray | float, ref: np.ndarray | float = 1.0
) -> np.ndarray:
    """A window statistic's null sd recovered from what the window reports of it: its change ``rel`` relative to
    the reference mean ``ref`` and the same change ``z`` in null sds, so sd = |rel * ref / z| (in the unit of
    ``ref``; inf where z == 0, NaN where rel == z == 0). Shapes broadcast."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(np.asarray(rel, float) * ref / np.asarray(z, float))


class StatisticSpec(NamedTuple):
    """What one window statistic is: its name, its kind (``psi``, ``shift``, ``grid``, ``displacement``) and the
    per-frame scalar it watches (``shift.<scalar>`` only, else None)."""

    name: str
    kind: str
    scalar: str | None


def statistic_specs(scalar_names: tuple[str, ...]) -> tuple[StatisticSpec, ...]:
    """Every window statistic, in the order of :attr:`WindowStats.scores`."""
    return (
        *(StatisticSpec(f"psi.{g}", "psi", None) for g in GROUPS),
        *(StatisticSpec(f"shift.{s}", "shift", s) for s in scalar_names),
        StatisticSpec("grid.sharpness", "grid", None),
        StatisticSpec("displacement", "displacement", None),
    )


def statistic_names(scalar_names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(spec.name for spec in statistic_specs(scalar_names))


class WindowStats(NamedTuple):
    """Statistics of one window. psi, js, w1: (K,) nats, nats, DN8; z: (S,) signed standardized shifts;
    rel: (S,) relative change of each scalar mean vs the reference; grid_z_sharpness, grid_z_luma: (gh, gw)
    signed z per cell; shift_px: (dx, dy) frame pixels (+x right, +y down); response: phase-correlation peak;
    scores: (n,) one score per :func:`statistic_names` entry; chi: (n,) the chi-like values (PSI, z^2, px^2);
    rotation_deg, move_credible: how far the content turned (+ clockwise) and how far a move explains the
    change (0..1, :attr:`~camdrift.agent.drift.displacement.CameraPose.credible`; 1.0 where no pose was read)."""

    psi: np.ndarray
    js: np.ndarray
    w1: np.ndarray
    z: np.ndarray
    rel: np.ndarray
    grid_z_sharpness: np.ndarray
    grid_z_luma: np.ndarray
    shift_px: tuple[float, float]
    response: float
    scores: np.ndarray
    chi: np.ndarray
    rotation_deg: float = 0.0
    move_credible: float = 1.0


def phase_shift(
    reference: np.ndarray,
    current: np.ndarray,
    px_per_cell: tuple[float, float],
    weight: np.ndarray | None = None,
) -> tuple[float, float, float]:
    """Shift (dx, dy) in frame pixels of ``current`` relative to ``reference`` (both (th, tw) DN8 thumbnails)
    by Hanning-windowed phase correlation, and the correlation peak (0..1). ``weight`` (th, tw) multiplies the
    Hanning window (e.g. down-weighting cells where products pass)."""
    h, w = reference.shape
    if h < 4 or w < 4:
        return 0.0, 0.0, 0.0
    win = cv2.createHanningWindow((w, h), cv2.CV_64F)
    if weight is not None:
        win = win * weight
    # Copies: OpenCV 5's phaseCorrelate multiplies its inputs by the window in place.
    (dx, dy), resp = cv2.phaseCorrelate(np.array(reference, np.float64), np.array(current, np.float64), win)
    return float(dx * px_per_cell[0]), float(dy * px_per_cell[1]), float(resp)


def static_weight(thumbnails_sd: np.ndarray) -> np.ndarray:
    """(th, tw) weight in (0, 1] of each thumbnail cell from its per-frame sd in the reference: 1 for a static
    cell, small where content moves."""
    sd = np.asarray(thumbnails_sd, np.float64)
    med = float(np.median(sd))
    if med <= 0:
        return np.ones_like(sd)
    return 1.0 / (1.0 + (sd / med) ** 2)


def px_per_cell(
    resolution: tuple[int, int], roi: tuple | None, thumb_shape: tuple[int, int]
) -> tuple[float, float]:
    """Frame pixels per thumbnail cell (x, y)."""
    w, h = (roi[2], roi[3]) if roi is not None else resolution
    return w / thumb_shape[1], h / thumb_shape[0]


@dataclass(frozen=True)
class WindowReference:
    """What a window is scored against (from the baseline).

    ref_counts: (K, B) pooled reference counts; alpha: PSI smoothing; bin_centers: (K, B) DN8 centres of the
    rebinned bins (for W1); scalar_mean, scalar_sd: (S,) reference mean and null sd of the window mean (already
    floored); grid_ref, grid_sd: per-cell reference means and null sds of (ln-sharpness, luma); ref_thumbnail:
    (th, tw) DN8; cell_px: frame pixels per thumbnail cell (x, y); thumb_weight: phase-correlation weight per
    thumbnail cell.
    """

    ref_counts: np.ndarray
    alpha: float
    bin_centers: np.ndarray
    scalar_mean: np.ndarray
    scalar_sd: np.ndarray
    grid_ref: tuple[np.ndarray, np.ndarray]
    grid_sd: tuple[np.ndarray, np.ndarray]
    ref_thumbnail: np.ndarray
    cell_px: tuple[float, float]
    thumb_weight: np.ndarray | None = None

    def with_sd_scaled(self, factor: float) -> WindowReference:
        """The same reference with every null sd times ``factor`` (a window of fewer frames than calibrated)."""
        return replace(
            self,
            scalar_sd=self.scalar_sd * factor,
            grid_sd=(self.grid_sd[0] * factor, self.grid_sd[1] * factor),
        )


def window_statistics(
    sums: FrameFeatures, n: int, ref: WindowReference, *, evidence: bool = True
) -> WindowStats:
    """All statistics of a window whose field sums over ``n`` frames are ``sums``, against ``ref``.
    ``evidence=False`` skips JS/W1."""
    psi = psi_rows(ref.ref_counts, sums.counts, ref.alpha)
    if evidence:
        jsd = np.array([js(ref.ref_counts[k], sums.counts[k], ref.alpha) for k in range(len(psi))])
        w1 = np.array(
            [
                wasserstein_1d(ref.ref_counts[k], sums.counts[k], centers=ref.bin_centers[k])
                for k in range(len(psi))
            ]
        )
    else:
        jsd = w1 = np.zeros_like(psi)
    scalar_mean, grid_ref, grid_sd = ref.scalar_mean, ref.grid_ref, ref.grid_sd
    mean = sums.scalars / n
    z = (mean - scalar_mean) / ref.scalar_sd
    rel = (mean - scalar_mean) / np.where(np.abs(scalar_mean) > 1e-12, np.abs(scalar_mean), 1.0)
    gz_s = (sums.grid_sharpness / n - grid_ref[0]) / grid_sd[0]
    gz_l = (sums.grid_luma / n - grid_ref[1]) / grid_sd[1]
    dx, dy, resp = phase_shift(ref.ref_thumbnail, sums.thumbnail / n, ref.cell_px, ref.thumb_weight)
    d2 = dx * dx + dy * dy
    gs2 = float(np.max(gz_s * gz_s))
    chi = np.concatenate([psi, z * z, [gs2, d2]])
    scores = np.concatenate([psi, np.abs(z), [np.sqrt(gs2), np.sqrt(d2)]])
    return WindowStats(psi, jsd, w1, z, rel, gz_s, gz_l, (dx, dy), resp, scores, chi)


def scores_from_chi(names: tuple[str, ...], chi: np.ndarray) -> np.ndarray:
    """Scores from chi-like values: PSI stays, the others (z^2, px^2) are square-rooted."""
    out = np.asarray(chi, np.float64).copy()
    for i, name in enumerate(names):
        if not name.startswith("psi."):
            out[..., i] = np.sqrt(np.maximum(out[..., i], 0.0))
    return out


class Cusum:
    """Two-sided CUSUM on standardized observations x (units of their null sd).

    ``S+ = max(0, S+ + x - k)``, ``S- = max(0, S- - x - k)``; :attr:`drift_detected` when either exceeds ``h``.
    k: allowance (half the shift, in sd, that it is tuned to catch fastest); h: decision threshold.

    >>> c = Cusum(k=0.5, h=3.5)
    >>> [c.update(x).drift_detected for x in (0.1, -0.2, 1.5, 1.5, 1.5, 1.5)]
    [False, False, False, False, False, True]
    """

    def __init__(self, k: float, h: float, cap: float | None = None) -> None:
        if k < 0 or h <= 0:
            raise ValueError(f"need k >= 0 and h > 0, got k={k}, h={h}")
        if cap is not None and cap < h:
            raise ValueError(f"cap must be >= h, got cap={cap}, h={h}")
        self.k = k
        self.h = h
        self.cap = cap
        self.pos = 0.0
        self.neg = 0.0

    def update(self, x: float, extra: float = 0.0) -> Cusum:
        """Add one observation ``x``; ``extra`` (>= 0, same unit) widens the allowance k for this one."""
        # The cap (a reflecting ceiling) keeps a long drift from piling up a sum that would then take as long to
        # drain after the cause is fixed.
        top = np.inf if self.cap is None else self.cap
        k = self.k + extra
        self.pos = min(top, max(0.0, self.pos + x - k))
        self.neg = min(top, max(0.0, self.neg - x - k))
        return self

    def reset(self) -> Cusum:
        self.pos = self.neg = 0.0
        return self

    @property
    def value(self) -> float:
        """Signed: +S+ if the upward sum leads, else -S-."""
        return self.pos if self.pos >= self.neg else -self.neg

    @property
    def magnitude(self) -> float:
        """The leading sum, max(S+, S-): what the thresholds apply to."""
        return max(self.pos, self.neg)

    @property
    def drift_detected(self) -> bool:
        return max(self.pos, self.neg) > self.h

    def state_arrays(self) -> dict[str, np.ndarray]:
        """``sums``: (2,) float64 [S+, S-]."""
        return {"sums": np.array([self.pos, self.neg], np.float64)}

    def state_header(self) -> dict[str, Any]:
        return {}

    def restore(self, header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        pos, neg = arrays["sums"]
        self.pos, self.neg = float(pos), float(neg)


def mean_sd(sd: float, acf: np.ndarray, n: int) -> float:
    """Null sd of the mean of ``n`` consecutive frames of a series with per-frame ``sd`` and autocorrelation
    ``acf`` (lags 0..L-1; summed up to its first non-positive lag, the initial positive sequence)."""
    if n <= 1:
        return float(sd)
    rho = np.asarray(acf[1:n], np.float64)
    stop = np.flatnonzero(rho <= 0)
    if stop.size:
        rho = rho[: stop[0]]
    j = np.arange(1, len(rho) + 1)
    vif = 1.0 + 2.0 * float(np.sum((1.0 - j / n) * rho))
    return float(sd * np.sqrt(max(vif, 1.0) / n))
