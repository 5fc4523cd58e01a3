"""The colour pass's Laplacian and noise sums stay exact on wide rows (more than 2^31 in a 32-bit sum), at the
largest responses 8-bit luma can give (random full-contrast pixels: |Laplacian| up to 4 * 255)."""

from __future__ import annotations

import numpy as np
import pytest

from camdrift.kernels import frame_stats
from tests.kernels.naive import naive_frame_stats


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_wide_extreme_rows_are_summed_exactly(stride: int) -> None:
    w = 3 * 1024 * stride + 7  # 3,079 sampled columns: sums of squares beyond 2^31 in 32 bits
    rows = 2 * stride + 3  # at least three sampled rows: the Laplacian is taken on the sampled grid
    binary = (np.random.default_rng(stride).integers(0, 2, (rows, w)) * 255).astype(np.uint8)
    frame = np.repeat(binary[:, :, None], 3, axis=2)  # grey BGR: luma 0 or 255
    got = frame_stats(frame, stride=stride, thumb_size=(2, 2), grid=2)
    want = naive_frame_stats(frame, stride=stride, thumb_size=(2, 2), grid=2)
    assert got.sharpness == pytest.approx(want["sharpness"], rel=1e-12)
    assert got.noise_sigma == pytest.approx(want["noise_sigma"], rel=1e-12)
    np.testing.assert_allclose(got.grid_sharpness, want["grid_sharpness"], rtol=1e-12)
    assert got.sharpness > 1e5  # the responses really are extreme (up to 1020^2 = 1.04e6 per pixel)
