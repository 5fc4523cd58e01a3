"""Thresholds from the reference itself: block bootstrap of the null, run-length budget, scaled chi-square tail,
widened by the uncertainty of the threshold itself.

Recipe (see :func:`calibrate`); frames are the unit of evidence, never pixels, at every reference length:

1. Circular block bootstrap over the reference frames (:mod:`.null`). Blocks keep consecutive frames together
   because video frames are correlated; the block length is twice the largest lag at which a scalar's
   autocorrelation is still >= 0.1 (at least 5). Each replicate pairs a window of ``window`` frames with a
   pseudo-reference of all R frames, both drawn by that scheme, and computes every monitored statistic on the
   pair as the engine computes it on (live window, reference): PSI per group, z^2 per scalar, max cell z^2,
   displacement^2. The null therefore holds the window's noise AND the reference's own (a short reference's mean
   and histogram are themselves noisy), and the engine's null sds are those of the same difference.
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
   fired on a healthy stream.) The displacement is read apart: its null is mostly zeros with rare jumps, which
   over its tiny mean swamped the max-statistic; its threshold is the largest bootstrap displacement, widened,
   never below the 1.5 px floor.
4. Uncertainty of the threshold itself: every null scale is a variance estimated from a finite reference. With
   ``n_eff`` effectively independent windows (:mod:`.minimum`, Bartlett's formula on the moving window means) it
   may be too small by the 95 % upper-bound factor ``(n_eff - 1) / chi2_0.05(n_eff - 1)``
   (:func:`~.tails.variance_upper_factor`), and each chi-scale threshold is multiplied by it: each
   ``shift.<scalar>`` by its own scalar's factor, PSI, grid and displacement by the factor at the median
   ``n_eff``. A short reference gets wider thresholds, never narrower (x1.7 at 25 effective windows, x1.15 at
   300). Chosen over an outer bootstrap: the same bound in closed form, no extra calibration time, and stated
   in the baseline (``Thresholds.n_eff``, ``widening``, the notes).

There is no theoretical fallback: below the minimum of :mod:`.minimum` the command refuses (``--force`` still
calibrates by this recipe, wider). Thresholds that come out non-finite or unordered raise
:class:`ThresholdError` naming the statistic: such a baseline is never written.

The long-window CUSUM threshold h comes from Siegmund's approximation of the in-control average run length. The
distribution tails (chi-square, its moment fit, the CUSUM's run length) are in :mod:`.tails`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from camdrift.agent.drift.statistics import scores_from_chi, statistic_names
from camdrift.agent.reference.baseline import Thresholds
from camdrift.calibration.calibrate.minimum import (
    ReferenceMinimum,
    autocorrelation,
    effective_windows,
    reference_minimum,
)
from camdrift.calibration.calibrate.null import Reference, bootstrap_windows, null_sample
from camdrift.calibration.calibrate.tails import (
    cusum_h,
    fit_scaled_chi2,
    scaled_chi2_isf,
    variance_upper_factor,
)

DISPLACEMENT_FLOOR_PX = 1.5  # below this a "camera moved" verdict is not actionable, whatever the null says
CONFIDENCE = 0.95  # of the upper bound each null scale is widened to (module doc, step 4)
MIN_REPLICATES = 200  # the moment fit of the max-statistic needs its variance to ~10 %

__all__ = [
    "Budget",
    "NullModel",
    "Reference",
    "ThresholdError",
    "autocorrelation",
    "bootstrap_windows",
    "calibrate",
]


class ThresholdError(ValueError):
    """Calibration gave a threshold that cannot be used (non-finite, or not 0 < warn < drift); names it."""


@dataclass(frozen=True)
class Budget:
    """How thresholds are calibrated: the false-alarm budget they are read at and the bootstrap that reads it.

    Shared by the pixel groups (:func:`calibrate`) and the activation group
    (:func:`~camdrift.calibration.calibrate.activation_reference.build_activation_reference`).
    window: sliding-window length (frames for the pixel groups, activation samples for the activation group);
    fps: analysed frames per second, the rate budgets are counted at; budget_days / warn_budget_days: at most
    one false alarm / warning per that many days; n_replicates: bootstrap windows (>= ``MIN_REPLICATES`` for the
    pixel groups); seed: their random seed; alpha: pseudo-count added to every bin before proportions are taken
    (PSI). Pixel groups only: cusum_k: the CUSUM allowance (bucket-mean sds); bucket_seconds: the CUSUM's
    bucket (s).
    """

    window: int = 20
    fps: float = 5.0
    budget_days: float = 30.0
    warn_budget_days: float = 1.0
    n_replicates: int = 2000
    seed: int = 0
    alpha: float = 0.5
    cusum_k: float = 0.5
    bucket_seconds: float = 60.0


class NullModel(NamedTuple):
    """What calibration hands to the baseline: thresholds and the null sds the engine standardizes with."""

    thresholds: Thresholds
    window_sd: np.ndarray
    grid_sharpness_sd: np.ndarray
    grid_luma_sd: np.ndarray


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


def widening(
    names: tuple[str, ...], scalar_names: tuple[str, ...], n_eff: np.ndarray, median: float
) -> np.ndarray:
    """(n,) chi-scale factor per statistic (module doc, step 4) from the scalars' (S,) effective windows and
    their ``median`` (:func:`~.minimum.median_effective`)."""
    out = np.empty(len(names))
    for i, name in enumerate(names):
        eff = median
        if name.startswith("shift."):
            own = n_eff[scalar_names.index(name[len("shift.") :])]
            eff = (
                own if np.isfinite(own) else median
            )  # a constant scalar: its sd is the floor, not an estimate
        out[i] = variance_upper_factor(max(eff - 1.0, 1.0), CONFIDENCE)
    return out


class _Tail(NamedTuple):
    """Chi-scale drift / warn thresholds per statistic, their null scales, and how they were read (a note)."""

    drift_chi: np.ndarray
    warn_chi: np.ndarray
    scale: np.ndarray
    note: str


def _tail(chi: np.ndarray, names: tuple[str, ...], levels: tuple[float, float], factor: np.ndarray) -> _Tail:
    """The max-statistic recipe (module doc, steps 3 and 4) on the (n_rep, n) replicates ``chi``."""
    level, level_warn = levels
    # The displacement is not in the joint fit: its null is mostly exact zeros (a window whose products did not
    # move the correlation peak) with rare jumps of a few px, so over its tiny mean it swamped the max-statistic
    # (measured: max 400 instead of ~10, every threshold x10 and a 15 % light step missed). Its threshold is the
    # largest bootstrap displacement, widened, and never below the actionable floor.
    d_i = names.index("displacement")
    disp = chi[:, d_i].copy()
    chi = np.delete(chi, d_i, axis=1)
    names = names[:d_i] + names[d_i + 1 :]
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
        f"chi2({nu:.4g}), method of moments on {len(chi)} bootstrap pairs (window, pseudo-reference); drift "
        f"quantile {q_drift:.4g} at level {level:.3g}, warn {q_warn:.4g} at {level_warn:.3g}; largest "
        f"bootstrap max {float(mx.max()):.4g}"
    )
    f = np.delete(factor, d_i)
    d_drift = max(float(disp.max()) * factor[d_i], DISPLACEMENT_FLOOR_PX**2)
    d_warn = min(max(float(np.quantile(disp, 0.99)) * factor[d_i], d_drift / 4), d_drift / 2)
    note += f"; displacement read apart: largest bootstrap {float(np.sqrt(disp.max())):.3g} px"
    drift_chi = np.insert(q_drift * scale * f, d_i, d_drift)
    warn_chi = np.insert(q_warn * scale * f, d_i, d_warn)
    return _Tail(drift_chi, warn_chi, np.insert(scale, d_i, max(disp.mean(), 1e-12)), note)


def _widening_note(minimum: ReferenceMinimum, factor: np.ndarray) -> str:
    return (
        f"widened for the reference's own uncertainty: {minimum.n_eff:.1f} effectively independent windows "
        f"(median over the scalars) in {minimum.frames} frames, chi-scale x{float(np.median(factor)):.3g} "
        f"(x{float(factor.min()):.3g}..x{float(factor.max()):.3g} over the statistics; {CONFIDENCE:.0%} upper "
        f"bound of each null scale); minimum {minimum.min_frames} frames"
    )


def check_thresholds(names: tuple[str, ...], warn: np.ndarray, drift: np.ndarray) -> None:
    """:class:`ThresholdError` naming the first statistic whose thresholds are not finite with 0 < warn < drift."""
    for name, w, d in zip(names, warn, drift, strict=True):
        if not (math.isfinite(w) and math.isfinite(d) and 0 < w < d):
            raise ThresholdError(
                f"the thresholds of {name} came out unusable (warn {w!r}, drift {d!r}; want finite 0 < warn < "
                "drift): check the reference's variation and the budget options"
            )


def calibrate(
    ref: Reference,
    *,
    scalar_names: tuple[str, ...],
    scalar_acf: np.ndarray,
    cell_px: tuple[float, float],
    budget: Budget,
    forced: tuple[str, ...] = (),
) -> NullModel:
    """Thresholds for every statistic of :func:`~camdrift.agent.statistics.statistic_names` (see module doc).

    scalar_acf: (S, L) reference autocorrelation (for the block length); cell_px: (x, y) frame pixels per
    thumbnail cell (displacements are in frame pixels); budget: the window, rate, false-alarm budgets and
    bootstrap settings; forced: what the technician overrode to get this baseline (recorded, see
    :class:`~camdrift.agent.reference.baseline.Thresholds`). Raises :class:`ThresholdError` (unusable thresholds)
    or ValueError (fewer than 2 frames, a window < 2, fewer than ``MIN_REPLICATES`` replicates).
    """
    names = statistic_names(scalar_names)
    n_frames = ref.scalars.shape[0]
    window, fps = budget.window, budget.fps
    if window < 2 or n_frames < 2:
        raise ValueError(f"need window >= 2 and >= 2 reference frames, got {window} and {n_frames}")
    if budget.n_replicates < MIN_REPLICATES:
        raise ValueError(f"need at least {MIN_REPLICATES} bootstrap replicates, got {budget.n_replicates}")
    rl = run_length(budget.budget_days, fps)
    level = per_test_level(rl, window)
    # warn below drift even when the drift budget is shorter than the warning's (--budget-days < 1)
    levels = (
        level,
        max(per_test_level(run_length(budget.warn_budget_days, fps), window), min(0.5, 10 * level)),
    )
    block = min(block_length(scalar_acf), max(5, n_frames // 4))
    n_buckets = budget.budget_days * 86400.0 / budget.bucket_seconds
    h = cusum_h(budget.cusum_k, 2.0 * n_buckets * len(scalar_names))  # two sides and every scalar share it
    sample = null_sample(
        ref,
        window=window,
        block=block,
        n_rep=budget.n_replicates,
        seed=budget.seed,
        alpha=budget.alpha,
        cell_px=cell_px,
    )
    minimum = reference_minimum(ref.scalars, window)
    factor = widening(names, scalar_names, effective_windows(ref.scalars, window), minimum.n_eff)
    tail = _tail(sample.chi, names, levels, factor)
    notes = [tail.note, _widening_note(minimum, factor)]
    drift_chi, warn_chi = tail.drift_chi, tail.warn_chi
    notes += [f"FORCED: {why}" for why in forced]
    drift = scores_from_chi(names, drift_chi)
    warn = scores_from_chi(names, np.minimum(warn_chi, drift_chi))
    check_thresholds(names, warn, drift)
    thresholds = Thresholds(
        names=names,
        drift=drift,
        warn=warn,
        null_scale=np.asarray(tail.scale, np.float64),
        method="bootstrap-tail",
        window=window,
        fps=float(fps),
        budget=f"one per {budget.budget_days:g} days at {fps:g} fps",
        run_length=rl,
        level=levels[0],
        cusum_k=budget.cusum_k,
        cusum_h=h,
        bucket_seconds=budget.bucket_seconds,
        n_replicates=budget.n_replicates,
        block_length=block,
        seed=budget.seed,
        notes=tuple(notes),
        n_eff=float(minimum.n_eff),
        widening=float(np.median(factor)),
        min_frames=int(minimum.min_frames),
        forced=tuple(forced),
    )
    return NullModel(thresholds, sample.window_sd, sample.grid_sharpness_sd, sample.grid_luma_sd)
