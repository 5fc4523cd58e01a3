"""Calibrate the model-outputs group from the reference's own outputs: the reference class counts, the
per-frame means, the null sds of a window's means and the thresholds, added to a baseline.

The class mix is judged over its own, longer window (:func:`mix_window`: the pixel window times the predicted
classes' autocorrelation time, at most a tenth of the reference), the means over the pixel window.

The recipe is the pixel groups' (:mod:`camdrift.calibration.calibrate.thresholds`), on the frames that carry
outputs, in stream order: circular block bootstrap of ``window``-frame windows (frames are the unit: a window's
value is a mean over its frames), each paired with a pseudo-reference of all the frames drawn the same way, so
the null holds the window's noise and the reference's own (a 100 s reference's class mix and uncertain share are
themselves estimates); each statistic's tail fitted by a scaled chi-square and read at a Bonferroni share of the
group's own budget (one false alarm per ``budget_days``); every threshold widened by the 95 % upper bound of its
null variance at the effective number of independent windows (a short reference gets wider thresholds).

Floors, for what a short reference cannot show. A window-mean sd is never below what a reference of n
correlated frames can rule out: 0.01 for the confidence; for the uncertain share (binomial) and the detections
per frame (Poisson), their mean raised to the rule-of-three bound 3 / n_eff, over the window's effective frames
(n_eff = n / tau, tau = half the block length): a model that was never uncertain on 500 frames may still be, on
bursts of frames the reference did not hold (measured on the corpus: a floor of one frame's worth gave a false
alarm on a static scene). A z threshold is never below the normal quantile at the level. The class-mix threshold
is never below the PSI of ``MIN_MOVED`` frames of a window turning into a class the reference never predicted,
and never above the largest PSI a window of predicted classes can reach (:func:`_vertex_psi`): the product mix
comes in runs, and a moment-fitted tail read at a 1e-7 level lands beyond every window of known classes, where
it would miss a class the model never predicted before.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from camdrift.agent.drift.outputs import output_sample, output_statistics
from camdrift.agent.predictions.outputs import ModelOutputs
from camdrift.agent.reference.output_baseline import (
    CLASSIFICATION_STATISTICS,
    DETECTION_STATISTICS,
    OutputReference,
)
from camdrift.calibration.calibrate.minimum import autocorrelation, effective_windows, median_effective
from camdrift.calibration.calibrate.null import bootstrap_windows
from camdrift.calibration.calibrate.tails import (
    chi2_isf,
    fit_scaled_chi2,
    scaled_chi2_isf,
    variance_upper_factor,
)
from camdrift.calibration.calibrate.thresholds import Budget, block_length, per_test_level, run_length
from camdrift.kernels.divergence import psi_rows

MIN_WINDOWS = 10  # reference frames with outputs, in windows: fewer cannot estimate a window's null
MIN_MOVED = 3  # frames of a window that must change class before the class mix may alarm
CONFIDENCE_SD_FLOOR = 0.01


def _kind_and_classes(
    outputs: Sequence[ModelOutputs], class_names: Sequence[str]
) -> tuple[str, tuple[str, ...]]:
    kinds = {o.kind for o in outputs}
    if len(kinds) != 1:
        raise ValueError(f"the reference outputs mix kinds ({', '.join(sorted(kinds))}): one model, one kind")
    kind = kinds.pop()
    seen = 0
    for o in outputs:
        top = o.probs.size if o.probs is not None else o.label + 1
        seen = max(seen, top, int(o.classes.max()) + 1 if o.n_detections else 0)
    if class_names:
        if len(class_names) < seen:
            raise ValueError(f"{len(class_names)} class names for outputs with {seen} classes")
        return kind, tuple(class_names)
    return kind, tuple(f"class_{i}" for i in range(max(seen, 1)))


def _draft(kind: str, names: tuple[str, ...], window: int, uncertain_below: float) -> OutputReference:
    stats = CLASSIFICATION_STATISTICS if kind == "classification" else DETECTION_STATISTICS
    one = np.ones(len(stats))
    return OutputReference(
        kind, names, window, 0.5, 1, uncertain_below, np.zeros(len(names) + 1), np.zeros(3), np.ones(3),
        2 * one, one, one, stats,
    )  # fmt: skip


def _samples(outputs: Sequence[ModelOutputs], draft: OutputReference) -> tuple[np.ndarray, np.ndarray]:
    rows = [output_sample(o, draft) for o in outputs]
    return np.stack([r.classes for r in rows]), np.stack([r.values for r in rows])


def _floor_psi(ref: OutputReference) -> float:
    """PSI of a window in which ``MIN_MOVED`` frames of the most common class turned into an unseen one."""
    share = ref.class_share
    moved = share * ref.class_window
    top = int(np.argmax(share))
    moved[top] -= MIN_MOVED
    moved[-1] += MIN_MOVED
    counts = np.maximum(moved, 0.0)
    return output_statistics(counts, np.zeros(3), np.zeros(3), ref.class_window, ref).psi


def _vertex_psi(ref: OutputReference) -> float:
    """The largest class-mix PSI a window of classes the reference predicted can reach, a hair above: PSI is
    convex in the window's shares, so its maximum over those windows is a window of one class. A fitted tail
    beyond it would only ever be crossed by classes the reference never predicted, and should be by them."""
    seen = np.flatnonzero(ref.class_counts > 0)
    best = 0.0
    for c in seen:
        counts = np.zeros_like(ref.class_counts)
        counts[c] = ref.class_window
        best = max(best, output_statistics(counts, np.zeros(3), np.zeros(3), ref.class_window, ref).psi)
    return best * 1.01  # the warn cap; the drift cap is 5 % above it


def build_output_reference(
    outputs: Sequence[ModelOutputs],
    *,
    budget: Budget,
    class_names: Sequence[str] = (),
    uncertain_below: float = 0.5,
) -> OutputReference:
    """The output group from the reference frames' outputs in stream order (``budget.window`` frames per
    window, ``budget.fps`` analysed frames per second); ValueError naming why it cannot be built (too few
    frames, mixed kinds, too few class names)."""
    window = budget.window
    if not 0.0 < uncertain_below <= 1.0:
        raise ValueError(f"uncertain_below must be in (0, 1], got {uncertain_below}")
    need = MIN_WINDOWS * window
    if len(outputs) < need:
        raise ValueError(
            f"{len(outputs)} reference frames carry model outputs; the output group needs at least {need} "
            f"({MIN_WINDOWS} windows of {window})"
        )
    kind, names = _kind_and_classes(outputs, class_names)
    draft = _draft(kind, names, window, uncertain_below)
    classes, values = _samples(outputs, draft)
    n = len(values)
    mix = mix_window(classes, window)
    frame_mean = np.nan_to_num(np.nanmean(np.where(np.isfinite(values), values, np.nan), axis=0))
    filled = np.where(np.isfinite(values), values, frame_mean)
    acf = autocorrelation(filled, min(200, max(2, n // 4)))
    block = min(block_length(acf), max(2, n // 4))
    rng = np.random.default_rng(budget.seed)
    idx = bootstrap_windows(n, window, block, budget.n_replicates, rng)
    pseudo = bootstrap_windows(n, n, block, budget.n_replicates, rng)  # each window's pseudo-reference
    win, ref_side = _means(values, idx, frame_mean), _means(values, pseudo, frame_mean)
    n_eff = median_effective(effective_windows(filled, window), n, window)
    widen = variance_upper_factor(max(n_eff - 1.0, 1.0))
    onehot = classes[:, :-1].astype(np.float64)
    mix_eff = median_effective(effective_windows(onehot, mix), n, mix)
    sd = np.maximum((win[0] - ref_side[0]).std(axis=0, ddof=1), _sd_floors(frame_mean, n, window, block))
    ref = dataclasses.replace(
        draft,
        class_counts=classes.sum(axis=0).astype(np.float64),
        frame_mean=frame_mean,
        null_sd=sd * math.sqrt(widen),
        sample_count=n,
        mix_window=mix,
    )
    idx_mix = idx if mix == window else bootstrap_windows(n, mix, block, budget.n_replicates, rng)
    counts = np.stack([classes[r].sum(axis=0) for r in idx_mix]).astype(np.float64)
    ref_counts = np.stack([classes[r].sum(axis=0) for r in pseudo]).astype(np.float64)
    z = np.where(win[1] > 0, (win[0] - ref_side[0]) / ref.null_sd, 0.0)
    chi = np.column_stack([psi_rows(ref_counts, counts, ref.alpha), z**2])[:, : len(ref.names)]
    widen_each = np.full(len(ref.names), widen)
    widen_each[0] = variance_upper_factor(max(mix_eff - 1.0, 1.0))  # fewer, longer class-mix windows
    return _with_thresholds(ref, chi, budget, (block, n_eff, widen_each))


def mix_window(classes: np.ndarray, window: int) -> int:
    """Frames the class mix is judged over, from the reference's (n, K + 1) predicted-class counts in stream
    order: ``window`` times the integrated autocorrelation time of the predicted classes (a window of as many
    independent frames as ``window`` frames would hold), at least ``window`` and at most the reference's frames
    over ``MIN_WINDOWS``. The product mix comes in runs: over the pixel window's frames, a run of a minority
    class moves the mix further than a 100 s reference shows (measured on the corpus: a false alarm in 20,000
    healthy frames at 20 frames, none at 30)."""
    n = len(classes)
    present = classes[:, :-1][:, classes[:, :-1].sum(axis=0) > 0].astype(np.float64)
    tau = 1.0
    if n > 2 and present.shape[1] > 1:
        for row in autocorrelation(present, min(200, max(2, n // 4))):
            below = np.flatnonzero(row < 0.1)
            lags = int(below[0]) if below.size else len(row)
            tau = max(tau, 1.0 + 2.0 * float(row[1:lags].sum()))
    return int(min(max(window, math.ceil(window * tau)), max(window, n // MIN_WINDOWS)))


def _means(values: np.ndarray, idx: np.ndarray, fallback: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R, 3) means of the per-frame values over each row of frame indices ``idx`` (``fallback`` where a row
    has none), and (R, 3) the frames that had one."""
    picked = values[idx]  # (R, m, 3)
    valid = np.isfinite(picked).sum(axis=1).astype(np.float64)
    sums = np.nansum(picked, axis=1)
    return np.where(valid > 0, sums / np.maximum(valid, 1), fallback), valid


def _sd_floors(frame_mean: np.ndarray, n: int, window: int, block: int) -> np.ndarray:
    """(3,) least sd of a window mean's shift, from what a reference of ``n`` correlated frames can tell: the
    confidence's ``CONFIDENCE_SD_FLOOR``; for the uncertain share (a binomial) and the detections (a Poisson
    count), their mean raised to the rule-of-three bound 3 / n_eff (a share the reference never showed may
    still be up to that), over the window's effective frames. n_eff = n / tau, tau = block / 2 frames."""
    tau = max(1.0, block / 2.0)
    n_eff, w_eff = max(n / tau, 1.0), max(window / tau, 1.0)
    share = min(max(frame_mean[1], 3.0 / n_eff), 0.5)
    rate = max(frame_mean[2], 3.0 / n_eff)
    return np.array([CONFIDENCE_SD_FLOOR, math.sqrt(share * (1.0 - share) / w_eff), math.sqrt(rate / w_eff)])


def _with_thresholds(
    ref: OutputReference, chi: np.ndarray, budget: Budget, fit: tuple[int, float, np.ndarray]
) -> OutputReference:
    """``ref`` with drift / warn thresholds from the bootstrap ``chi`` (n_rep, n) and the provenance note;
    ``fit``: (block length, effective windows, (n,) each statistic's widening factor)."""
    block, n_eff, widen_each = fit
    m = len(ref.names)
    level = per_test_level(run_length(budget.budget_days, budget.fps), ref.window)
    level_warn = per_test_level(run_length(budget.warn_budget_days, budget.fps), ref.window)
    drift, warn, words = np.empty(m), np.empty(m), []
    for i in range(m):
        side = 2.0 if ref.names[i] == "out.uncertain" else 1.0  # one-sided rise, fitted on z^2
        try:
            a, nu = fit_scaled_chi2(chi[:, i])
            d = scaled_chi2_isf(a, nu, min(0.5, side * level / m))
            w = scaled_chi2_isf(a, nu, min(0.5, side * level_warn / m))
            words.append(f"{ref.names[i]} {a:.3g} * chi2({nu:.3g})")
        except (
            ValueError,
            ArithmeticError,
        ):  # never moved in the reference (or a degenerate fit): the floor holds
            d = w = 0.0
            words.append(f"{ref.names[i]} constant in the reference")
        widen = float(widen_each[i])
        d, w = d * widen, w * widen
        if i == 0:
            cap, floor = _vertex_psi(ref), _floor_psi(ref)  # both caps above every window of known classes
            drift[i], warn[i] = max(min(d, 1.05 * cap), floor), max(min(w, cap), 0.5 * floor)
        else:  # z scores: never below the normal quantile at the level (the fit can only widen them)
            gauss = math.sqrt(chi2_isf(min(0.5, side * level / m), 1.0) * widen)
            gauss_warn = math.sqrt(chi2_isf(min(0.5, side * level_warn / m), 1.0) * widen)
            drift[i], warn[i] = max(math.sqrt(d), gauss), max(math.sqrt(w), gauss_warn)
        warn[i] = min(warn[i], 0.95 * drift[i])
    note = (
        f"{ref.sample_count} frames with outputs, blocks of {block}, {n_eff:.0f} effective windows (thresholds "
        f"x{widen_each[-1]:.2f}, the class mix's over {ref.class_window} frames x{widen_each[0]:.2f}, for their "
        f"own uncertainty); tails: {', '.join(words)}; level {level:.3g} shared by {m}"
    )
    return dataclasses.replace(
        ref,
        drift=drift,
        warn=warn,
        null_scale=np.maximum(chi.mean(axis=0), 1e-12),
        budget=f"one per {budget.budget_days:g} days at {budget.fps:g} fps (own budget)",
        level=level,
        notes=(note,),
    )


__all__ = ["MIN_WINDOWS", "build_output_reference", "mix_window"]
