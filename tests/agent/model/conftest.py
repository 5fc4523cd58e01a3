"""Fixtures shared by the model runner's and the activation sampler's tests."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data as skdata

from tests.agent.model_fixtures import tiny_nhwc_model


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A real photo (skimage's astronaut), BGR8, cropped to 320x240."""
    return np.ascontiguousarray(skdata.astronaut()[:240, :320, ::-1])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple:
    path = tmp_path_factory.mktemp("models") / "tiny_nhwc.onnx"
    return path, tiny_nhwc_model(path)
