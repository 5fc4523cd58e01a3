"""Fixtures of the output tests."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return np.ascontiguousarray(data.chelsea()[:, :, ::-1])
