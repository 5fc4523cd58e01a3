"""Shared by the source tests."""

from __future__ import annotations

import numpy as np

W, H = 160, 120  # size of the test photo and video


def shifted(photo: np.ndarray, k: int) -> np.ndarray:
    """Frame k of the test video: the photo rolled by 8k pixels, so frames are told apart by content."""
    return np.roll(photo, 8 * k, axis=1)
