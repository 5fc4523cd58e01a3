"""The pixel formats the kernels read: importable without numba (the frame tap runs inside the inference app), and
the kernels refuse an image that does not fit its format with the same words the agent counts it by."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from camdrift.kernels import PIXEL_FORMATS, frame_stats
from camdrift.kernels.pixel_formats import image_problem


def test_the_rules_load_without_numba() -> None:
    code = (
        "import sys; from camdrift.kernels.pixel_formats import PIXEL_FORMATS, image_problem; "
        "print('numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_the_package_gives_its_functions_whichever_module_came_first() -> None:
    """``frame_stats`` and ``rebin`` name a module and its function: the package's name is the function."""
    code = (
        "import camdrift.kernels.frame_stats, camdrift.kernels.rebin\n"
        "from camdrift.kernels import frame_stats, rebin, KernelParams\n"
        "print(callable(frame_stats), callable(rebin), KernelParams.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True", "KernelParams"]


@pytest.mark.parametrize(
    ("image", "pixel_format", "exc"),
    [
        (np.zeros((4, 4, 3), np.float32), "bgr8", TypeError),
        (np.zeros((4, 4), np.uint8), "yuyv", ValueError),
        (np.zeros((4, 4, 4), np.uint8), "rgb8", ValueError),
        (np.zeros((0, 4), np.uint8), "gray8", ValueError),
        (np.zeros((6, 5), np.uint8), "nv12", ValueError),
    ],
)
def test_the_kernel_refuses_what_the_rules_refuse_in_the_same_words(
    image: np.ndarray, pixel_format: str, exc: type
) -> None:
    kind, detail = image_problem(image, pixel_format)
    with pytest.raises(exc) as err:
        frame_stats(image, pixel_format=pixel_format)
    assert detail in str(err.value)


def test_every_format_has_an_image_that_fits() -> None:
    fits = {
        "bgr8": np.zeros((2, 2, 3), np.uint8),
        "rgb8": np.zeros((2, 2, 3), np.uint8),
        "gray8": np.zeros((2, 2), np.uint8),
        "gray16": np.zeros((2, 2), np.uint16),
        "nv12": np.zeros((3, 2), np.uint8),
    }
    assert tuple(fits) == PIXEL_FORMATS
    assert all(image_problem(image, fmt) is None for fmt, image in fits.items())
