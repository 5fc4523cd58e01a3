"""The agent's pixel-format rules: what each format's image looks like, its channel count and its resolution."""

from __future__ import annotations

import numpy as np
import pytest

from camdrift.agent import frames
from camdrift.agent.frames import PIXEL_FORMATS, Frame, channels_of, image_problem, image_resolution
from camdrift.kernels import pixel_formats


def test_the_agent_uses_the_kernels_formats_and_rules() -> None:
    assert frames.PIXEL_FORMATS is pixel_formats.PIXEL_FORMATS
    assert frames.image_problem is pixel_formats.image_problem
    assert PIXEL_FORMATS == ("bgr8", "rgb8", "gray8", "gray16", "nv12")


@pytest.mark.parametrize(
    ("image", "pixel_format"),
    [
        (np.zeros((4, 6, 3), np.uint8), "bgr8"),
        (np.zeros((4, 6, 3), np.uint8), "rgb8"),
        (np.zeros((4, 6), np.uint8), "gray8"),
        (np.zeros((4, 6), np.uint16), "gray16"),
        (np.zeros((6, 6), np.uint8), "nv12"),
    ],
)
def test_each_format_accepts_its_layout(image: np.ndarray, pixel_format: str) -> None:
    assert image_problem(image, pixel_format) is None


@pytest.mark.parametrize(
    ("image", "pixel_format", "kind", "detail"),
    [
        ([[1, 2]], "gray8", "not_array", "not a numpy array but list"),
        (np.zeros((4, 4), np.uint8), "yuyv", "unknown_format", "unknown pixel_format 'yuyv'"),
        (np.zeros((4, 4), np.uint16), "gray8", "wrong_dtype", "gray8 needs dtype uint8, got uint16"),
        (np.zeros((4, 4), np.uint8), "gray16", "wrong_dtype", "gray16 needs dtype uint16"),
        (np.zeros((4, 4, 4), np.uint8), "bgr8", "wrong_shape", "bgr8 needs shape (H, W, 3)"),
        (np.zeros((4, 4, 3), np.uint8), "gray8", "wrong_shape", "gray8 needs shape (H, W)"),
        (np.zeros((0, 4), np.uint8), "gray8", "empty", "empty image"),
        (np.zeros((5, 4), np.uint8), "nv12", "wrong_shape", "nv12 needs shape (H*3/2, W)"),
        (np.zeros((6, 5), np.uint8), "nv12", "wrong_shape", "even H and W"),
    ],
)
def test_a_misfit_names_its_kind_and_what_was_expected(
    image: object, pixel_format: str, kind: str, detail: str
) -> None:
    got = image_problem(image, pixel_format)
    assert got is not None and got[0] == kind and detail in got[1]


def test_channels_per_format() -> None:
    assert [channels_of(f) for f in PIXEL_FORMATS] == [3, 3, 1, 1, 3]
    with pytest.raises(ValueError, match="unknown pixel_format 'yuyv'"):
        channels_of("yuyv")


def test_resolution_counts_the_picture_not_the_buffer() -> None:
    """(width, height) of what the camera sees: an NV12 buffer of 720 rows is a 480-row picture."""
    assert image_resolution(np.zeros((480, 640, 3), np.uint8), "bgr8") == (640, 480)
    assert image_resolution(np.zeros((480, 640), np.uint16), "gray16") == (640, 480)
    assert image_resolution(np.zeros((720, 640), np.uint8), "nv12") == (640, 480)
    frame = Frame(np.zeros((720, 640), np.uint8), frame_index=0, stream_time=0.0, pixel_format="nv12")
    assert frame.resolution == (640, 480)
