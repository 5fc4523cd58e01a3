"""Calibrate the activation group: run the model over the reference frames, fit the PCA basis, the reference
bins and the thresholds, and add the result to a baseline.

Thresholds follow the recipe of :mod:`camdrift.calibration.calibrate.thresholds` on the activation series (one sample per
``every_n`` analysed frames): circular block bootstrap of M-sample windows, each statistic over its bootstrap
mean, the max over the two statistics fitted by a scaled chi-square, read at the per-test level of the budget.
The activation group is calibrated as its own group with its own budget (one false alarm per ``budget_days``):
the pixel groups keep theirs, so a camera's combined false-alarm rate is at most the sum of the two.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import numpy as np

from camdrift.agent.drift.activations import activation_statistics, covariance_inverse, residuals
from camdrift.agent.model.runner import ModelError, ModelRunner, Preprocess
from camdrift.agent.reference.activation_baseline import STATISTICS, ActivationReference
from camdrift.agent.reference.baseline import Baseline
from camdrift.calibration.calibrate.tails import fit_scaled_chi2, scaled_chi2_isf
from camdrift.calibration.calibrate.thresholds import (
    Budget,
    autocorrelation,
    block_length,
    bootstrap_windows,
    per_test_level,
    run_length,
)
from camdrift.kernels.activations import histogram_by_edges, project, quantile_edges_float


def reference_features(
    runner: ModelRunner, images: Iterable[np.ndarray], *, pixel_format: str = "bgr8", every_n: int = 1
) -> tuple[np.ndarray, Counter[str]]:
    """(N, C) float64 summaries of every ``every_n``-th image (the agent's live sampling), and the images whose
    output was refused, by reason (``nonfinite``, ``wrong_shape``)."""
    if every_n < 1:
        raise ValueError(f"every_n must be >= 1, got {every_n}")
    rows, rejected = [], Counter()
    for i, image in enumerate(images):
        if i % every_n:
            continue
        try:
            rows.append(runner.features(image, pixel_format))
        except ModelError as exc:
            rejected[str(exc).split(":", 1)[0]] += 1
    if not rows:
        raise ValueError("the model produced no usable output on the reference frames")
    widths = Counter(len(r) for r in rows)
    width = widths.most_common(1)[0][0]
    odd = sum(n for w, n in widths.items() if w != width)
    if odd:
        rejected["wrong_shape"] += odd
    return np.stack([r for r in rows if len(r) == width]), rejected


def fit_pca(
    features: np.ndarray, *, min_components: int = 16, max_components: int = 32, variance: float = 0.85
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PCA of (N, C) features -> mean (C,), basis (C, K) orthonormal columns, explained (K,) variance ratios.

    K: the fewest components reaching ``variance`` of the total, clipped to [min_components, max_components]
    and to what the data can give (C and N - 1)."""
    x = np.asarray(features, np.float64)
    n, c = x.shape
    if n < 3:
        raise ValueError(f"need at least 3 reference activation samples, got {n}")
    mean = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    var = s * s
    total = float(var.sum())
    if total <= 0:
        raise ValueError("the reference activations do not vary: nothing to fit a basis on")
    ratio = var / total
    k = int(np.searchsorted(np.cumsum(ratio), variance) + 1)
    k = max(min(k, max_components), min_components)
    k = min(k, c, n - 1, int(np.count_nonzero(var > total * 1e-12)))
    # a deterministic sign per component (largest loading positive), so refits name the same directions
    basis = vt[:k].T.copy()
    flip = np.sign(basis[np.abs(basis).argmax(axis=0), np.arange(k)])
    return mean, basis * flip, ratio[:k]


class ModelIdentity(NamedTuple):
    """The model an activation group is calibrated with, as the baseline records it: sha256 (hex) of the file,
    name (its file name, a hint), output (the summarised tensor), preprocess (the input recipe), output_layout
    (of a 4-D output: "nchw" or "nhwc")."""

    sha256: str
    name: str
    output: str
    preprocess: Preprocess
    output_layout: str = "nchw"

    @classmethod
    def of(cls, runner: ModelRunner) -> ModelIdentity:
        """The identity of the model ``runner`` runs."""
        return cls(
            runner.sha256, Path(runner.path).name, runner.output, runner.preprocess, runner.output_layout
        )


class _Fit(NamedTuple):
    """The fitted group before its thresholds: draft reference (thresholds 1), per-sample projections (N, K)
    and residual norms (N,), and whether the residual statistic is on."""

    draft: ActivationReference
    proj: np.ndarray
    res: np.ndarray
    has_residual: bool


def _checked(features: np.ndarray, window: int) -> np.ndarray:
    if window < 2:
        raise ValueError(f"window must be >= 2 activation samples, got {window}")
    feats = np.asarray(features, np.float64)
    if feats.ndim != 2 or not np.isfinite(feats).all():
        raise ValueError(f"features must be a finite (N, C) array, got shape {feats.shape}")
    n = feats.shape[0]
    if n < 4 * window:
        raise ValueError(f"need at least {4 * window} reference activation samples (4 windows), got {n}")
    return feats


def _fit(feats: np.ndarray, model: ModelIdentity, budget: Budget, every_n: int, n_bins: int) -> _Fit:
    """PCA basis, reference bins, moments and residuals of (N, C) features."""
    mean, basis, explained = fit_pca(feats)
    proj = project(feats, mean, basis)
    edges = quantile_edges_float(proj, n_bins)
    res = residuals(feats, proj, mean)
    has_residual = basis.shape[1] < feats.shape[1] and float(res.std()) > 1e-9 * (
        1.0 + float(np.abs(feats).max())
    )
    draft = ActivationReference(
        model_sha256=model.sha256,
        model_name=model.name,
        output=model.output,
        output_layout=model.output_layout,
        preprocess=model.preprocess,
        every_n=int(every_n),
        window=int(budget.window),
        alpha=float(budget.alpha),
        sample_count=int(feats.shape[0]),
        mean=mean,
        basis=basis,
        explained=explained,
        edges=edges,
        ref_counts=histogram_by_edges(proj, edges).astype(np.float64),
        proj_mean=proj.mean(axis=0),
        proj_cov=np.atleast_2d(np.cov(proj, rowvar=False)),
        # a basis that holds every channel leaves rounding only: the residual statistic is off (sd 0)
        residual_mean=float(res.mean()),
        residual_sd=float(res.std(ddof=1)) if has_residual else 0.0,
        drift=np.ones(len(STATISTICS)),
        warn=np.ones(len(STATISTICS)),
        null_scale=np.ones(len(STATISTICS)),
    )
    return _Fit(draft, proj, res, has_residual)


def _bootstrap_chi(fit: _Fit, budget: Budget) -> tuple[np.ndarray, int]:
    """(n_replicates, 3) chi-like values of the statistics over bootstrap windows, and the block length."""
    proj, res, window = fit.proj, fit.res, budget.window
    n = proj.shape[0]
    # per-sample bins, so every bootstrap window's counts are sums of one-hot rows
    onehot = np.stack([histogram_by_edges(proj[i : i + 1], fit.draft.edges) for i in range(n)])  # (N, K, B)
    acf = autocorrelation(np.column_stack([proj, res]), min(200, max(2, n // 4)))
    block = min(block_length(acf), max(2, n // 4))
    rng = np.random.default_rng(budget.seed)
    idx = bootstrap_windows(n, window, block, budget.n_replicates, rng)
    cov_inv = covariance_inverse(fit.draft.proj_cov)
    stats = [
        activation_statistics(
            onehot[r].sum(axis=0), proj[r].sum(axis=0), float(res[r].sum()), window, fit.draft, cov_inv
        )
        for r in idx
    ]
    # chi-like values, the residual two-sided (z^2) so that its fit sees the whole null; its one-sided test
    # then takes twice the level
    return np.array([[st.chi[0], st.chi[1], st.residual_z**2] for st in stats]), block


def _tail_thresholds(
    chi: np.ndarray, n_stats: int, levels: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Chi-scale drift and warn thresholds (3,) of the first ``n_stats`` statistics, each from its own fitted
    tail at a Bonferroni share of ``levels`` (drift, warn), and the fits in words."""
    level, level_warn = levels
    drift_chi, warn_chi, fits = np.ones(3), np.ones(3), []
    for i in range(n_stats):
        # Each statistic has its own tail (a mean PSI, a chi2(K)-like distance, a chi2(1)-like rise): one
        # shared quantile of their max would let the heaviest tail set every threshold. Bonferroni over the
        # statistics keeps the group's budget.
        a, nu = fit_scaled_chi2(chi[:, i])
        side = 2.0 if i == 2 else 1.0
        drift_chi[i] = scaled_chi2_isf(a, nu, min(0.5, side * level / n_stats))
        warn_chi[i] = min(scaled_chi2_isf(a, nu, min(0.5, side * level_warn / n_stats)), 0.95 * drift_chi[i])
        fits.append(f"{STATISTICS[i]} {a:.3g} * chi2({nu:.3g})")
    if n_stats < 3:
        drift_chi[2], warn_chi[2] = 4.0, 1.0  # never reached: the residual score stays 0
    return drift_chi, warn_chi, fits


def build_activation_reference(
    features: np.ndarray,
    *,
    model: ModelIdentity,
    budget: Budget,
    every_n: int = 5,
    n_bins: int | None = None,
) -> ActivationReference:
    """The activation group from (N, C) reference summaries in stream order (one per ``every_n`` frames).

    budget: window = M activation samples per sliding window (24 in ``camdrift calibrate``), fps = analysed
    frames per second (the activation rate is fps / every_n), the group's own false-alarm budget and the
    bootstrap settings; n_bins: reference-quantile bins per component (default window // 4 within 3..10, so
    that a window fills its bins: sparse bins make PSI noise)."""
    feats = _checked(features, budget.window)
    window = budget.window
    n_bins = min(10, max(3, window // 4)) if n_bins is None else n_bins
    fit = _fit(feats, model, budget, every_n, n_bins)
    chi, block = _bootstrap_chi(fit, budget)
    rate = budget.fps / every_n
    levels = (
        per_test_level(run_length(budget.budget_days, rate), window),
        per_test_level(run_length(budget.warn_budget_days, rate), window),
    )
    n_stats = len(STATISTICS) if fit.has_residual else len(STATISTICS) - 1
    drift_chi, warn_chi, fits = _tail_thresholds(chi, n_stats, levels)
    scale = np.maximum(chi.mean(axis=0), 1e-12)
    basis, explained = fit.draft.basis, fit.draft.explained
    note = (
        f"{basis.shape[1]} components ({float(explained.sum()):.0%} of the variance) of {feats.shape[1]} channels"
        f"{'' if fit.has_residual else ' (residual off: the basis holds every channel)'}; scaled chi-square "
        f"tails fitted by moments on {budget.n_replicates} bootstrap windows of {window} samples in blocks of "
        f"{block}: {', '.join(fits)}; level {levels[0]:.3g} shared by {n_stats} statistics"
    )
    # scores: mean PSI as it is, the Mahalanobis distance and the residual rise as roots of their squares
    return dataclasses.replace(
        fit.draft,
        drift=np.concatenate([drift_chi[:1], np.sqrt(drift_chi[1:])]),
        warn=np.concatenate([warn_chi[:1], np.sqrt(warn_chi[1:])]),
        null_scale=scale,
        budget=f"one per {budget.budget_days:g} days at {rate:g} activation samples/s (own budget)",
        level=levels[0],
        notes=(note,),
    )


def calibrate_activations(
    baseline: Baseline,
    images: Iterable[np.ndarray],
    runner: ModelRunner,
    *,
    pixel_format: str = "bgr8",
    every_n: int = 5,
    window: int = 24,
    n_replicates: int = 2000,
    budget_days: float = 30.0,
) -> tuple[Baseline, Counter[str]]:
    """``baseline`` with the activation group of ``runner`` over the reference ``images`` (stream order), and the
    refused outputs by reason. window: activation samples per window; the analysis rate and the bootstrap seed
    are the baseline's; n_replicates, budget_days: as in :class:`Budget`."""
    feats, rejected = reference_features(runner, images, pixel_format=pixel_format, every_n=every_n)
    th = baseline.thresholds
    budget = Budget(
        window=window, fps=th.fps, budget_days=budget_days, n_replicates=n_replicates, seed=th.seed
    )
    ref = build_activation_reference(feats, model=ModelIdentity.of(runner), budget=budget, every_n=every_n)
    return dataclasses.replace(baseline, activations=ref), rejected


__all__ = [
    "ModelIdentity",
    "build_activation_reference",
    "calibrate_activations",
    "fit_pca",
    "reference_features",
]
