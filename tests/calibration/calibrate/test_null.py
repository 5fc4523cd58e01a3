"""The window-vs-reference null: circular blocks, prefix-sum block means, and both sides' noise in the replicates."""

from __future__ import annotations

import numpy as np
import pytest

from camdrift.calibration.calibrate.build import _reference, reference_frames
from camdrift.calibration.calibrate.null import (
    block_means,
    block_plan,
    bootstrap_windows,
    null_sample,
    prefix_sums,
)
from tests.agent.drift_fixtures import stats_of


def test_bootstrap_windows_are_circular_blocks() -> None:
    idx = bootstrap_windows(50, 23, 5, 100, np.random.default_rng(0))
    assert idx.shape == (100, 23) and idx.min() >= 0 and idx.max() < 50
    steps = np.diff(idx, axis=1) % 50
    # inside a block consecutive frames follow each other; a new block starts every 5 frames
    inside = np.ones(22, bool)
    inside[4::5] = False
    assert (steps[:, inside] == 1).all()


def test_block_means_from_prefix_sums_equal_the_frames_means() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(size=(37, 3, 2))
    p = prefix_sums(a, 8)
    lengths = block_plan(21, 8)
    assert list(lengths) == [8, 8, 5]
    starts = np.array([[0, 30, 36], [5, 12, 33]])  # 30 and 36 wrap around the end
    got = block_means(p, starts, lengths)
    for row, s in zip(got, starts, strict=True):
        idx = np.concatenate([(st + np.arange(n)) % 37 for st, n in zip(s, lengths, strict=True)])
        np.testing.assert_allclose(row, a[idx].mean(axis=0), atol=1e-12)


def test_the_null_holds_the_reference_noise_too() -> None:
    """Window minus pseudo-reference has the variance of the window mean plus that of the reference mean: for a
    short reference its sd is clearly above the window-only sd, for a long one barely."""
    stats = stats_of(3, 600)

    def sds(n: int) -> tuple[np.ndarray, np.ndarray]:
        ref, _, _ = _reference(reference_frames(stats[:n]), 20)
        sample = null_sample(ref, window=20, block=20, n_rep=600, seed=1, alpha=0.5, cell_px=(10.0, 7.5))
        assert sample.chi.shape == (600, 4 + ref.scalars.shape[1] + 2) and np.isfinite(sample.chi).all()
        c = np.cumsum(np.vstack([np.zeros(ref.scalars.shape[1]), ref.scalars]), axis=0)
        window_only = ((c[20:] - c[:-20]) / 20).std(axis=0)  # contiguous window means
        return sample.window_sd, window_only

    short, short_w = sds(100)
    long, long_w = sds(600)
    i = 0  # brightness: varies on this line
    assert short[i] / short_w[i] > 1.05  # ~sqrt(1 + 20 / 100 x correlation)
    assert long[i] / long_w[i] == pytest.approx(1.0, abs=0.15)
