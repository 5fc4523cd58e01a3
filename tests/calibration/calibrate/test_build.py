"""Building a baseline: it records the kernel parameters the frames were analysed with, bins every group alike,
keeps the per-frame features consistent with its pooled reference, and is reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from camdrift.agent.sim.line import ProductionLine
from camdrift.calibration.calibrate.build import (
    Budget,
    KernelParams,
    build_baseline,
    build_from_frames,
    group_edges,
    reference_frames,
)
from camdrift.kernels import rebin
from tests.agent.drift_fixtures import FPS, KERNEL, SIZE, WINDOW, small_baseline, stats_of

BUDGET = Budget(window=WINDOW, fps=FPS, n_replicates=200, seed=1)


def test_the_baseline_records_its_kernel_parameters_and_budget() -> None:
    kernel = KernelParams(pixel_format="bgr8", roi=(8, 4, 144, 112), stride=2, resolution=SIZE, **KERNEL)
    stats = [kernel.stats(f) for f in _frames(60)]
    b = build_baseline(stats, camera_id="cam", source="test", kernel=kernel, budget=BUDGET)
    assert b.kernel == kernel
    assert (b.roi, b.stride, b.resolution, b.thumb_size) == ((8, 4, 144, 112), 2, SIZE, (16, 16))
    th = b.thresholds
    assert (th.window, th.fps, th.seed, th.budget) == (WINDOW, FPS, 1, "one per 30 days at 5 fps")
    assert b.frame_count == 60 and b.alpha == BUDGET.alpha


def test_a_kernel_without_the_frames_resolution_is_refused() -> None:
    frames = reference_frames(stats_of(3, 30))
    with pytest.raises(ValueError, match="kernel.resolution must be set"):
        build_from_frames(
            frames, camera_id="cam", source="test", kernel=KernelParams(**KERNEL), budget=BUDGET
        )
    with pytest.raises(ValueError, match="at least 2 reference frames"):
        build_baseline(
            stats_of(3, 1), camera_id="c", source="s", kernel=KernelParams(resolution=SIZE), budget=BUDGET
        )


def test_every_group_gets_the_same_bins_and_a_flat_reference_is_refused() -> None:
    pooled = np.zeros((4, 256), np.int64)
    pooled[0, 100:110] = 50  # a group piled into ten levels gets at most ten bins
    pooled[1:, :] = 7
    edges = group_edges(pooled, 20)
    assert edges.shape == (4, 11) and edges.dtype == np.int64
    assert (edges[:, 0] == 0).all() and (edges[:, -1] == 256).all()
    flat = np.zeros((4, 256), np.int64)
    flat[:, 128] = 1000
    with pytest.raises(ValueError, match="fewer than 2 distinct levels"):
        group_edges(flat, 20)


def test_per_frame_features_rebin_to_the_pooled_reference() -> None:
    """A merge rebuilds thresholds from kept per-frame histograms: they must sum, in the baseline's bins, to the
    reference counts the baseline holds."""
    b = small_baseline()
    frames = reference_frames(stats_of(3, 600))
    assert frames.hist.shape == (600, 4, 256) and frames.hist.dtype == np.uint32
    pooled = frames.hist.sum(axis=0, dtype=np.int64)
    rebinned = np.stack([rebin(pooled[k], b.lut[k], b.n_bins) for k in range(4)])
    np.testing.assert_array_equal(rebinned, b.ref_counts)
    np.testing.assert_allclose(b.ref_props.sum(axis=1), 1.0, rtol=1e-12)


def test_the_same_frames_give_the_same_baseline() -> None:
    frames = reference_frames(stats_of(3, 120))
    kernel = KernelParams(resolution=SIZE, **KERNEL)
    args = dict(
        camera_id="cam", source="t", kernel=kernel, budget=BUDGET, created_at="2026-01-01T00:00:00+00:00"
    )
    assert build_from_frames(frames, **args).baseline_id == build_from_frames(frames, **args).baseline_id


def _frames(n: int) -> list[np.ndarray]:
    line = ProductionLine(seed=3, width=SIZE[0], height=SIZE[1], fps=FPS)
    return [line.frame(i) for i in range(n)]
