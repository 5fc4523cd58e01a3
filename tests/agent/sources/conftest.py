"""Fixtures of the source tests: a real photo and a short MJPG video of it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from tests.agent.sources.helpers import H, W, shifted


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A real photo, BGR8, H x W."""
    rgb = skdata.astronaut()
    return cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), (W, H), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def video(tmp_path_factory, photo) -> Path:
    path = tmp_path_factory.mktemp("video") / "line.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (W, H))
    assert writer.isOpened()
    for k in range(12):
        writer.write(shifted(photo, k))
    writer.release()
    return path
