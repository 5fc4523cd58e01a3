"""Build a :class:`~camdrift.agent.baseline.Baseline` from a reference recording's per-frame statistics."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

import numpy as np

from camdrift.agent.drift.features import SCALARS, extract
from camdrift.agent.drift.statistics import px_per_cell, static_weight
from camdrift.agent.reference.baseline import Baseline, ReferenceFrames
from camdrift.calibration.calibrate.minimum import autocorrelation
from camdrift.calibration.calibrate.thresholds import Budget, Reference, calibrate
from camdrift.kernels import FrameStats, KernelParams
from camdrift.kernels.rebin import quantile_edges, rebin_lut

MAX_ACF_LAG = 600


def group_edges(pooled: np.ndarray, n_bins: int) -> np.ndarray:
    """(K, 256) pooled reference counts -> (K, B+1) int64 quantile edges with one B for every group.

    A group whose reference piles into a few natural bins gets fewer than ``n_bins`` bins; every group is then
    re-cut to the smallest count so the engine's histograms stack as (K, B).
    """
    b = n_bins
    while True:
        edges = [quantile_edges(row, b) for row in pooled]
        got = min(len(e) - 1 for e in edges)
        if all(len(e) - 1 == got for e in edges):
            if got < 2:
                raise ValueError(
                    "the reference histograms hold fewer than 2 distinct levels; cannot bin them"
                )
            return np.stack(edges).astype(np.int64)
        b = got


_IDENTITY_LUT = np.tile(np.arange(256, dtype=np.int64), (4, 1))


def reference_frames(frames_stats: Sequence[FrameStats]) -> ReferenceFrames:
    """The per-frame features a baseline is built from (natural-bin histograms, so they can be re-binned when
    baselines are merged); thumbnails stay float32 here (exact), a caller may store them as float16."""
    if not frames_stats:
        raise ValueError("need at least 1 reference frame")
    feats = [extract(fs, _IDENTITY_LUT, 256, colour_medians=True) for fs in frames_stats]
    return ReferenceFrames(
        hist=np.stack([f.counts for f in feats]).astype(np.uint32),
        scalars=np.stack([f.scalars for f in feats]),
        thumbnails=np.stack([f.thumbnail for f in feats]).astype(np.float32),
        grid_sharpness=np.stack([f.grid_sharpness for f in feats]),
        grid_luma=np.stack([f.grid_luma for f in feats]),
    )


def keep_frames(frames: ReferenceFrames) -> ReferenceFrames:
    """The per-frame features as stored in a baseline (float16 thumbnails, float32 grids: ~12 kB / frame)."""
    return frames._replace(
        thumbnails=frames.thumbnails.astype(np.float16),
        grid_sharpness=frames.grid_sharpness.astype(np.float32),
        grid_luma=frames.grid_luma.astype(np.float32),
    )


def _rebin_frames(hist: np.ndarray, lut: np.ndarray, n_bins: int) -> np.ndarray:
    """(R, K, 256) natural counts -> (R, K, B) int64 counts in the bins ``lut`` (K, 256) maps them to."""
    onehot = np.zeros((lut.shape[0], 256, n_bins), np.int64)
    for k in range(lut.shape[0]):
        onehot[k, np.arange(256), lut[k]] = 1
    return np.einsum("rkn,knb->rkb", hist.astype(np.int64), onehot)


def build_baseline(
    frames_stats: Sequence[FrameStats],
    *,
    camera_id: str,
    source: str,
    kernel: KernelParams,
    budget: Budget,
    n_bins: int = 20,
    created_at: str | None = None,
) -> Baseline:
    """:func:`build_from_frames` over the :func:`reference_frames` of ``frames_stats`` (same keyword arguments)."""
    if len(frames_stats) < 2:
        raise ValueError(f"need at least 2 reference frames, got {len(frames_stats)}")
    return build_from_frames(
        reference_frames(frames_stats),
        camera_id=camera_id,
        source=source,
        kernel=kernel,
        budget=budget,
        n_bins=n_bins,
        created_at=created_at,
    )


def _reference(frames: ReferenceFrames, n_bins: int) -> tuple[Reference, np.ndarray, np.ndarray]:
    """The stacked reference the thresholds are calibrated on, its groups' (K, B+1) edges and (K, 256) lut."""
    pooled = frames.hist.sum(axis=0, dtype=np.int64)  # (K, 256); grey frames carry the luma in every group
    edges = group_edges(pooled, n_bins)
    lut = np.stack([rebin_lut(e, 256) for e in edges])
    ref = Reference(
        counts=_rebin_frames(frames.hist, lut, edges.shape[1] - 1),
        scalars=np.asarray(frames.scalars, np.float64),
        grid_sharpness=np.asarray(frames.grid_sharpness, np.float64),
        grid_luma=np.asarray(frames.grid_luma, np.float64),
        thumbnails=np.asarray(frames.thumbnails, np.float32),
        pixel_count=int(frames.hist[0, 0].sum(dtype=np.int64)),
    )
    return ref, edges, lut


def build_from_frames(
    frames: ReferenceFrames,
    *,
    camera_id: str,
    source: str,
    kernel: KernelParams,
    budget: Budget,
    n_bins: int = 20,
    created_at: str | None = None,
    forced: tuple[str, ...] = (),
) -> Baseline:
    """Reference distributions, scalar summaries, thumbnail, grid and calibrated thresholds of a recording.

    frames: the reference frames' features (:func:`reference_frames` of their
    :func:`~camdrift.kernels.frame_stats` results), in stream order, computed with ``kernel`` (recorded so live
    frames are analysed alike; its resolution must be set). ``baseline.reference_frames`` is left None: the
    caller decides whether to keep them in the file. budget: window (frames), analysis rate, false-alarm budget
    and bootstrap settings; n_bins: the most reference-quantile bins per group.
    created_at: UTC ISO time to record (default: now; pass one for reproducible files). forced: what the
    technician overrode to calibrate from these frames (recorded in the thresholds). Raises ValueError (its
    subclass :class:`~camdrift.calibration.calibrate.thresholds.ThresholdError` for unusable thresholds).
    """
    if len(frames.scalars) < 2:
        raise ValueError(f"need at least 2 reference frames, got {len(frames.scalars)}")
    if kernel.resolution is None:
        raise ValueError("kernel.resolution must be set: the (w, h) of the reference frames")
    ref, edges, lut = _reference(frames, n_bins)
    b = edges.shape[1] - 1
    n = len(ref.scalars)
    acf = autocorrelation(ref.scalars, min(MAX_ACF_LAG, max(2, n // 4)))
    thumb = ref.thumbnails.mean(axis=0, dtype=np.float64)
    null = calibrate(
        ref,
        scalar_names=SCALARS,
        scalar_acf=acf,
        cell_px=px_per_cell(kernel.resolution, kernel.roi, thumb.shape),
        budget=budget,
        forced=forced,
    )
    alpha = budget.alpha
    ref_counts = ref.counts.sum(axis=0).astype(np.float64)
    props = (ref_counts + alpha) / (ref_counts.sum(axis=1, keepdims=True) + alpha * b)
    med = np.median(ref.scalars, axis=0)
    if created_at is None:
        created_at = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    return Baseline(
        camera_id=camera_id,
        created_at=created_at,
        source=source,
        frame_count=n,
        kernel=kernel,
        alpha=alpha,
        edges=edges,
        lut=lut,
        ref_counts=ref_counts,
        ref_props=props,
        scalar_names=SCALARS,
        scalar_mean=ref.scalars.mean(axis=0),
        scalar_std=ref.scalars.std(axis=0, ddof=1),
        scalar_robust=1.4826 * np.median(np.abs(ref.scalars - med), axis=0),
        scalar_acf1=acf[:, 1] if acf.shape[1] > 1 else np.zeros(len(SCALARS)),
        window_sd=null.window_sd,
        scalar_acf=acf,
        thumbnail=thumb,
        thumbnail_weight=static_weight(ref.thumbnails.std(axis=0, dtype=np.float64)),
        grid_log_sharpness=ref.grid_sharpness.mean(axis=0),
        grid_luma=ref.grid_luma.mean(axis=0),
        grid_sharpness_sd=null.grid_sharpness_sd,
        grid_luma_sd=null.grid_luma_sd,
        thresholds=null.thresholds,
    )


__all__ = [
    "Budget",
    "KernelParams",
    "build_baseline",
    "build_from_frames",
    "group_edges",
    "keep_frames",
    "reference_frames",
]
