"""The frame-kernel benchmark's parts: natural test frames, a cold frame pool, the OpenCV chain it is compared
with, and the row and table it reports. Tiny frames; speed is never asserted."""

from __future__ import annotations

import numpy as np
import pytest

from camdrift.agent.bench import frame_kernels
from camdrift.agent.bench.frame_kernels import (
    KernelRow,
    Startup,
    bench_size,
    format_rows,
    format_startup,
    frame_pool,
    natural_frame,
    opencv_chain,
)
from camdrift.agent.bench.timing import Timing


def test_natural_frames_are_bgr8_of_the_asked_size_and_reproducible() -> None:
    frame = natural_frame(64, 48)
    assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
    np.testing.assert_array_equal(frame, natural_frame(64, 48))
    assert not np.array_equal(frame, natural_frame(64, 48, seed=1))  # the sensor noise differs
    assert frame.std() > 10  # photographic content, not a flat field


def test_the_pool_exceeds_the_asked_bytes_with_distinct_frames() -> None:
    pool = frame_pool(32, 24, min_bytes=10 * 32 * 24 * 3)
    assert len(pool) == 10 and all(f.shape == (24, 32, 3) and f.dtype == np.uint8 for f in pool)
    assert sum(f.nbytes for f in pool) >= 10 * 32 * 24 * 3
    assert not any(np.array_equal(pool[0], f) for f in pool[1:])
    assert len(frame_pool(32, 24, min_bytes=0)) == 2  # never fewer than two


def test_the_opencv_chain_computes_the_same_statistics() -> None:
    hists, moments, sharpness, noise, thumb = opencv_chain(natural_frame(64, 48))
    assert len(hists) == 4 and all(h.size == 256 for h in hists)  # B, G, R and luma: 256 bins each
    assert all(h.sum() == 64 * 48 for h in hists)
    assert [m.shape for m in moments] == [(3, 1), (3, 1)]  # per-channel mean and standard deviation
    assert len(sharpness) == 2 and noise > 0
    assert thumb.shape == (64, 64)


@pytest.mark.usefixtures("small_pool")
def test_one_row_per_size_with_every_contender() -> None:
    row = bench_size(32, 24, 5)
    assert (row.width, row.height) == (32, 24)
    for name in ("memory_read", "fused_stride1", "fused_stride2", "opencv_chain"):
        assert getattr(row, name).n == 5
    assert frame_kernels.frame_pool is not frame_pool  # the fixture's small pool was used


def test_the_table_quotes_the_ratios() -> None:
    row = KernelRow(
        1280, 720, Timing(0.5, 0.6, 5), Timing(2.0, 2.5, 5), Timing(1.0, 1.2, 5), Timing(8.0, 9.0, 5)
    )
    assert (row.speedup_stride1, row.speedup_stride2, row.stride2_cost) == (4.0, 8.0, 0.5)
    table = format_rows([row])
    assert "1280x720" in table and "4.00x" in table and "8.00x" in table
    assert table.splitlines()[-1].endswith(" 0.50") and "s2/s1" in table  # stride 2's cost relative to 1
    assert "8.00 /  9.00" in table  # the OpenCV chain: median / p90 ms
    text = format_startup(
        Startup(cold_first_call_s=12.3, warm_process_to_first_frame_s=0.9, warm_first_call_s=0.05)
    )
    assert "12.30 s" in text and "0.90 s" in text and "50 ms" in text
