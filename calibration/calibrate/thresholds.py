"""Thresholds from the reference itself: block bootstrap of the null, run-length budget, scaled chi-square tail.

Recipe (see :func:`calibrate`):

1. Circular block bootstrap over the reference frames. Blocks keep consecutive frames together because video
   frames are correlated; the block length is twice the largest lag at which a scalar's autocorrelation is still
   >= 0.1 (at least 5). Each replicate is a window of ``window`` frames, on which every monitored statistic is
   computed exactly as the engine computes it (PSI per group, z^2 per scalar, max cell z^2, displacement^2).
2. Budget -> level. "At most one false alarm per ``budget_days`` at ``fps``" is a run length of
   ``L = budget_days * 86400 * fps`` frames. A sliding window is tested at every frame, but windows that share
   more than half their frames are nearly the same test, so a run holds about ``L / (window / 2)`` effectively
   independent tests, and the per-test exceedance level is their reciprocal.
3. Joint thresholds: each statistic is divided by its bootstrap mean (its null scale), the max over statistics is
   taken per replicate (the max-statistic), and the far tail of that max is read from a scaled chi-square
   ``a * chi2(nu)`` matched to the bootstrap's mean and variance (method of moments): a level of 1e-6 cannot be
   read off a few thousand draws. Each statistic's threshold is that quantile times its null scale. The warning
   level uses the same fit with a budget of one per day. (Fitting each statistic's tail on its own instead was
   tried: a moment-matched chi-square underrates the tail of a max over grid cells, and the grid statistic then
   fired on a healthy stream.)
4. Fallback (reference shorter than ``min_frames``): theoretical nulls, PSI * (1/M + 1/N)^-1 ~ chi2(B - 1) with M, N
   the pixel counts (Yurdakul 2018; it assumes independent pixels, so it is optimistic on textured scenes), z^2
   ~ chi2(1), Bonferroni over the statistics; the method is recorded as ``chi2``.

The long-window CUSUM threshold h comes from Siegmund's approximation of the in-control average run length. The
distribution tails (chi-square, its moment fit, the CUSUM's run length) are in :mod:`.tails`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from camdrift.agent.drift.statistics import (
    GRID_SD_FLOOR,
    SCALAR_SD_FLOOR,
    mean_sd,
    phase_shift,
    scores_from_chi,
    static_weight,
    statistic_names,
)
from camdrift.agent.reference.baseline import Thresholds
from camdrift.calibration.calibrate.tails import chi2_isf, cusum_h, fit_scaled_chi2, scaled_chi2_isf
from camdrift.kernels.divergence import psi_rows

DISPLACEMENT_FLOOR_PX = 1.5  # below this a "camera moved" verdict is not actionable, whatever the null says


@dataclass(frozen=True)
class Budget:
    """How thresholds are calibrated: the false-alarm budget they are read at and the bootstrap that reads it.

    Shared by the pixel groups (:func:`calibrate`) and the activation group
    (:func:`~camdrift.calibration.calibrate.activation_reference.build_activation_reference`).
    window: sliding-window length (frames for the pixel groups, activation samples for the activation group);
    fps: analysed frames per second, the rate budgets are counted at; budget_days / warn_budget_days: at most
    one false alarm / warning per that many days; n_replicates: bootstrap windows; seed: their random seed;
    alpha: pseudo-count added to every bin before proportions are taken (PSI).
    Pixel groups only: min_frames: below this many reference frames the theoretical chi2 fallback is used
    (None: 10 windows); cusum_k: the CUSUM allowance (bucket-mean sds); bucket_seconds: the CUSUM's bucket (s).
    """

    window: int = 20
    fps: float = 5.0
    budget_days: float = 30.0
    warn_budget_days: float = 1.0
    n_replicates: int = 2000
    seed: int = 0
    alpha: float = 0.5
    min_frames: int | None = None
    cusum_k: float = 0.5
    bucket_seconds: float = 60.0


class Reference(NamedTuple):
    """Per-frame reference features, stacked: counts (R, K, B) int64, scalars (R, S), grid_sharpness and
    grid_luma (R, gh, gw), thumbnails (R, th, tw); pixel_count: pixels per frame."""

    counts: np.ndarray
    scalars: np.ndarray
    grid_sharpness: np.ndarray
    grid_luma: np.ndarray
    thumbnails: np.ndarray
    pixel_count: int


class NullModel(NamedTuple):
    """What calibration hands to the baseline: thresholds and the null sds the engine standardizes with."""

    thresholds: Thresholds
    window_sd: np.ndarray
    grid_sharpness_sd: np.ndarray
    grid_luma_sd: np.ndarray


def autocorrelation(x: np.ndarray, max_lag: int) -> np.ndarray:
    """(R, S) series -> (S, max_lag) autocorrelation at lags 0..max_lag-1 (biased estimator, via FFT)."""
    x = np.asarray(x, np.float64)
    r = x.shape[0]
    xc = x - x.mean(axis=0)
    nfft = 1 << int(math.ceil(math.log2(2 * r)))
    f = np.fft.rfft(xc, nfft, axis=0)
    ac = np.fft.irfft(f * np.conj(f), nfft, axis=0)[:max_lag].T
    var = ac[:, :1]
    return np.where(var > 0, ac / np.where(var > 0, var, 1.0), 0.0)


def block_length(acf: np.ndarray, minimum: int = 5, cutoff: float = 0.1) -> int:
    """Twice the largest first lag at which any series' autocorrelation falls below ``cutoff``; >= ``minimum``."""
    lags = []
    for row in acf:
        below = np.flatnonzero(row < cutoff)
        lags.append(int(below[0]) if below.size else len(row))
    return max(minimum, 2 * max(lags, default=0))


def run_length(budget_days: float, fps: float) -> float:
    """Frames between false alarms allowed by "one per ``budget_days`` at ``fps``"."""
    return budget_days * 86400.0 * fps


def per_test_level(run_length_frames: float, window: int) -> float:
    """Per-frame exceedance level for a sliding window of ``window`` frames tested every frame."""
    return min(0.5, max(window / 2.0, 1.0) / run_length_frames)


def bootstrap_windows(
    n_frames: int, window: int, block: int, n_rep: int, rng: np.random.Generator
) -> np.ndarray:
    """(n_rep, window) frame indices: circular blocks of ``block`` consecutive frames from random starts."""
    n_blocks = -(-window // block)
    starts = rng.integers(0, n_frames, size=(n_rep, n_blocks))
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(n_rep, -1)[:, :window]
    return idx % n_frames


def _null_chi(ref: Reference, idx: np.ndarray, alpha: float, cell_px: tuple[float, float]) -> tuple:
    """Chi-like statistics of every bootstrap window (rows of ``idx``) -> (chi (n_rep, n), sds...)."""
    n = idx.shape[1]
    ref_counts = ref.counts.sum(axis=0).astype(np.float64)
    ref_scalar = ref.scalars.mean(axis=0)
    ref_gs = ref.grid_sharpness.mean(axis=0)
    ref_thumb = ref.thumbnails.mean(axis=0, dtype=np.float64)
    weight = static_weight(ref.thumbnails.std(axis=0, dtype=np.float64))
    means = ref.scalars[idx].mean(axis=1)  # (n_rep, S)
    gs = ref.grid_sharpness[idx].mean(axis=1)
    gl = ref.grid_luma[idx].mean(axis=1)
    window_sd = np.maximum(means.std(axis=0, ddof=1), SCALAR_SD_FLOOR[: means.shape[1]])
    gs_sd = np.maximum(gs.std(axis=0, ddof=1), GRID_SD_FLOOR[0])
    gl_sd = np.maximum(gl.std(axis=0, ddof=1), GRID_SD_FLOOR[1])
    rows = []
    for r in range(idx.shape[0]):
        counts = ref.counts[idx[r]].sum(axis=0)
        psi = psi_rows(ref_counts, counts, alpha)
        z = (means[r] - ref_scalar) / window_sd
        zs = ((gs[r] - ref_gs) / gs_sd) ** 2
        thumb = ref.thumbnails[idx[r]].mean(axis=0)
        dx, dy, _ = phase_shift(ref_thumb, thumb, cell_px, weight)
        rows.append(np.concatenate([psi, z * z, [zs.max(), dx * dx + dy * dy]]))
    return np.array(rows), window_sd, gs_sd, gl_sd, n


class _Null(NamedTuple):
    """Chi-scale thresholds of every statistic and the null sds, before the displacement floor and the scores."""

    drift_chi: np.ndarray
    warn_chi: np.ndarray
    scale: np.ndarray
    window_sd: np.ndarray
    gs_sd: np.ndarray
    gl_sd: np.ndarray
    note: str


def _bootstrap_null(
    ref: Reference, names: tuple[str, ...], budget: Budget, block: int, levels: tuple[float, float], cell_px
) -> _Null:
    """The max-statistic recipe (module doc, steps 1 and 3) at the drift and warn ``levels``."""
    level, level_warn = levels
    rng = np.random.default_rng(budget.seed)
    idx = bootstrap_windows(ref.scalars.shape[0], budget.window, block, budget.n_replicates, rng)
    chi, window_sd, gs_sd, gl_sd, _ = _null_chi(ref, idx, budget.alpha, cell_px)
    mean = np.maximum(chi.mean(axis=0), 1e-12)
    # A z whose sd was floored has a null mean below 1; scaling its threshold by that mean would undo the
    # floor, so its quantiles are read in units of the floored sd.
    is_z = np.array([n.startswith("shift.") for n in names])
    scale = np.where(is_z, np.maximum(mean, 1.0), mean)
    mx = (chi / scale).max(axis=1)
    a, nu = fit_scaled_chi2(mx)
    q_drift = scaled_chi2_isf(a, nu, level)
    q_warn = scaled_chi2_isf(a, nu, level_warn)
    note = (
        f"max-statistic over {len(names)} statistics (each over its bootstrap mean) fitted by {a:.4g} * "
        f"chi2({nu:.4g}), method of moments on {budget.n_replicates} bootstrap windows of {budget.window} frames "
        f"in blocks of {block}; drift quantile {q_drift:.4g} at level {level:.3g}, warn {q_warn:.4g} at "
        f"{level_warn:.3g}; largest bootstrap max {float(mx.max()):.4g}"
    )
    return _Null(q_drift * scale, q_warn * scale, scale, window_sd, gs_sd, gl_sd, note)


def _theoretical_null(
    ref: Reference, names: tuple[str, ...], scalar_acf: np.ndarray, window: int, levels: tuple[float, float]
) -> _Null:
    """The chi2 fallback (module doc, step 4) at the drift and warn ``levels``."""
    level, level_warn = levels
    n_frames = ref.scalars.shape[0]
    sd = ref.scalars.std(axis=0, ddof=1)
    window_sd = np.maximum(
        [mean_sd(sd[i], scalar_acf[i], window) for i in range(len(sd))], SCALAR_SD_FLOOR[: len(sd)]
    )
    vif = (window_sd / np.maximum(sd / math.sqrt(window), 1e-12)).max()
    gs_sd = np.maximum(ref.grid_sharpness.std(axis=0, ddof=1) * vif / math.sqrt(window), GRID_SD_FLOOR[0])
    gl_sd = np.maximum(ref.grid_luma.std(axis=0, ddof=1) * vif / math.sqrt(window), GRID_SD_FLOOR[1])
    n_bins = ref.counts.shape[2]
    m_pix = ref.pixel_count * n_frames
    n_pix = ref.pixel_count * window
    n_cells = ref.grid_luma[0].size
    scale = np.ones(len(names))
    drift_chi = np.empty(len(names))
    warn_chi = np.empty(len(names))
    for i, name in enumerate(names):
        dof, per = (n_bins - 1, 1 / m_pix + 1 / n_pix) if name.startswith("psi.") else (1, 1.0)
        tests = n_cells if name.startswith("grid.") else 1
        scale[i] = dof * per
        drift_chi[i] = per * chi2_isf(level / (len(names) * tests), dof)
        warn_chi[i] = per * chi2_isf(level_warn / (len(names) * tests), dof)
    return _Null(drift_chi, warn_chi, scale, window_sd, gs_sd, gl_sd, "")


def calibrate(
    ref: Reference,
    *,
    scalar_names: tuple[str, ...],
    scalar_acf: np.ndarray,
    cell_px: tuple[float, float],
    budget: Budget,
) -> NullModel:
    """Thresholds for every statistic of :func:`~camdrift.agent.statistics.statistic_names` (see module doc).

    scalar_acf: (S, L) reference autocorrelation (for the block length and the chi2 fallback's window sd);
    cell_px: (x, y) frame pixels per thumbnail cell (displacements are in frame pixels); budget: the window,
    rate, false-alarm budgets and bootstrap settings (its min_frames defaults to 10 windows).
    """
    names = statistic_names(scalar_names)
    n_frames = ref.scalars.shape[0]
    window, fps = budget.window, budget.fps
    if window < 2 or n_frames < 2:
        raise ValueError(f"need window >= 2 and >= 2 reference frames, got {window} and {n_frames}")
    min_frames = 10 * window if budget.min_frames is None else budget.min_frames
    rl = run_length(budget.budget_days, fps)
    levels = (per_test_level(rl, window), per_test_level(run_length(budget.warn_budget_days, fps), window))
    block = min(block_length(scalar_acf), max(5, n_frames // 4))
    n_buckets = budget.budget_days * 86400.0 / budget.bucket_seconds
    h = cusum_h(budget.cusum_k, 2.0 * n_buckets * len(scalar_names))  # two sides and every scalar share it
    if n_frames >= min_frames:
        method = "bootstrap-tail"
        null = _bootstrap_null(ref, names, budget, block, levels, cell_px)
    else:
        method = "chi2"
        null = _theoretical_null(ref, names, scalar_acf, window, levels)._replace(
            note=f"reference of {n_frames} frames < {min_frames}: theoretical chi2 nulls (pixels assumed "
            "independent)"
        )
    notes = [null.note]
    drift_chi, warn_chi = null.drift_chi, null.warn_chi
    d_i = names.index("displacement")
    floor2 = DISPLACEMENT_FLOOR_PX**2
    if drift_chi[d_i] < floor2:
        notes.append(f"displacement threshold raised to the {DISPLACEMENT_FLOOR_PX} px floor")
    drift_chi[d_i] = max(drift_chi[d_i], floor2)
    warn_chi[d_i] = min(max(warn_chi[d_i], floor2 / 4), drift_chi[d_i])
    thresholds = Thresholds(
        names=names,
        drift=scores_from_chi(names, drift_chi),
        warn=scores_from_chi(names, np.minimum(warn_chi, drift_chi)),
        null_scale=np.asarray(null.scale, np.float64),
        method=method,
        window=window,
        fps=float(fps),
        budget=f"one per {budget.budget_days:g} days at {fps:g} fps",
        run_length=rl,
        level=levels[0],
        cusum_k=budget.cusum_k,
        cusum_h=h,
        bucket_seconds=budget.bucket_seconds,
        n_replicates=budget.n_replicates if method == "bootstrap-tail" else 0,
        block_length=block,
        seed=budget.seed,
        notes=tuple(notes),
    )
    return NullModel(thresholds, np.asarray(null.window_sd, np.float64), null.gs_sd, null.gl_sd)
