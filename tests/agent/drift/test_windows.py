"""Incremental windows equal their batch recomputation after every update (long seeded streams)."""

from __future__ import annotations

import numpy as np
import pytest

from camdrift.agent.drift.features import FrameFeatures
from camdrift.agent.drift.windows import RingSum, SlidingWindow, TimeBuckets


def _frame(rng: np.random.Generator) -> FrameFeatures:
    return FrameFeatures(
        counts=rng.integers(0, 5000, size=(4, 7)),
        scalars=rng.normal(100.0, 30.0, size=5) * rng.choice([1e-3, 1.0, 1e3]),
        thumbnail=rng.uniform(0, 255, size=(3, 4)).astype(np.float32).astype(np.float64),
        grid_sharpness=rng.normal(5.0, 1.0, size=(2, 2)),
        grid_luma=rng.uniform(0, 255, size=(2, 2)),
    )


@pytest.mark.parametrize("size", [1, 7, 64])
def test_sliding_window_equals_batch_after_every_update(size: int) -> None:
    rng = np.random.default_rng(size)
    frames = [_frame(rng) for _ in range(1500)]
    win = SlidingWindow(size, frames[0])
    for i, f in enumerate(frames):
        win.update(f)
        batch = frames[max(0, i + 1 - size) : i + 1]
        assert win.count == len(batch)
        sums = win.sums()
        np.testing.assert_array_equal(sums.counts, np.sum([b.counts for b in batch], axis=0))  # exact
        for field in ("scalars", "thumbnail", "grid_sharpness", "grid_luma"):
            want = np.sum([getattr(b, field) for b in batch], axis=0)
            np.testing.assert_allclose(getattr(sums, field), want, rtol=1e-9, atol=1e-9, err_msg=field)
        k = 1 + i % 5
        recent = win.recent_sums(k)
        np.testing.assert_array_equal(
            recent.counts, np.sum([b.counts for b in frames[max(0, i + 1 - min(k, size)) : i + 1]], axis=0)
        )


def test_ring_rejects_empty_window() -> None:
    with pytest.raises(ValueError, match="window size"):
        RingSum(0, (3,))


def test_time_buckets_equal_batch_after_every_update_with_rollover_and_gaps() -> None:
    rng = np.random.default_rng(5)
    width, n_buckets = 60.0, 12
    tb = TimeBuckets(width, n_buckets, 3)
    t = 1000.0
    seen: list[tuple[float, np.ndarray]] = []
    for _ in range(4000):
        t += rng.choice(
            [0.2, 5.0, 61.0, 400.0], p=[0.7, 0.25, 0.04, 0.01]
        )  # includes gaps longer than the ring
        x = rng.normal(0.0, 10.0, size=3)
        prev = tb.current
        closed = tb.update(t, x).closed
        seen.append((t, x))
        b_now = int(np.floor(t / width))
        if prev != b_now and prev > -(2**62):
            rows = [v for s, v in seen if int(np.floor(s / width)) == prev]
            assert closed is not None and closed.index == prev and closed.count == len(rows)
            np.testing.assert_allclose(closed.mean, np.mean(rows, axis=0), rtol=1e-9, atol=1e-12)
        else:
            assert closed is None
        starts, counts, means = tb.series(include_current=True)
        ids = sorted(
            {int(np.floor(s / width)) for s, _ in seen if int(np.floor(s / width)) > b_now - n_buckets}
        )
        np.testing.assert_array_equal(starts, np.array(ids) * width)
        for j, b in enumerate(ids):
            rows = [v for s, v in seen if int(np.floor(s / width)) == b]
            assert counts[j] == len(rows)
            np.testing.assert_allclose(means[j], np.mean(rows, axis=0), rtol=1e-9, atol=1e-12)
        seen = [(s, v) for s, v in seen if int(np.floor(s / width)) > b_now - n_buckets]


def test_time_buckets_refuse_time_going_back() -> None:
    tb = TimeBuckets(60.0, 4, 1)
    tb.update(600.0, np.zeros(1))
    with pytest.raises(ValueError, match="goes back"):
        tb.update(500.0, np.zeros(1))


def test_memory_is_bounded_and_stated() -> None:
    tb = TimeBuckets(60.0, 1440, 13)
    assert tb.nbytes == 1440 * (16 + 8 * 13) == 172_800
    win = SlidingWindow(
        100,
        FrameFeatures(
            np.zeros((4, 20), np.int64), np.zeros(13), np.zeros((64, 64)), np.zeros((8, 8)), np.zeros((8, 8))
        ),
    )
    before = win.nbytes
    rng = np.random.default_rng(0)
    for _ in range(300):
        win.update(
            FrameFeatures(
                rng.integers(0, 9, (4, 20)),
                rng.random(13),
                rng.random((64, 64)),
                rng.random((8, 8)),
                rng.random((8, 8)),
            )
        )
    assert win.nbytes == before
