"""The pixel formats the kernels read, and what an image of each must look like.

This module imports only numpy: the frame tap (``camdrift.agent.tap``) uses these rules through
:mod:`camdrift.agent.frames` and is imported by the inference app, which must not pay for numba
(``camdrift.kernels`` loads its numba modules only when one of their functions is first used).

Layouts: bgr8 / rgb8 (H, W, 3) uint8, gray8 (H, W) uint8, gray16 (H, W) uint16, nv12 (H*3/2, W) uint8 (the
H x W luma plane, then H/2 rows of interleaved U, V at half resolution; H and W even).
"""

from __future__ import annotations

import numpy as np

PIXEL_FORMATS = ("bgr8", "rgb8", "gray8", "gray16", "nv12")


def image_problem(image: object, pixel_format: str) -> tuple[str, str] | None:
    """Why ``image`` does not fit ``pixel_format``: ``(kind, detail)``, or None when it fits.

    kind is a short stable key for counting ("not_array", "unknown_format", "wrong_dtype", "wrong_shape",
    "empty"); detail says what was expected and what came.
    """
    if not isinstance(image, np.ndarray):
        return "not_array", f"not a numpy array but {type(image).__name__}"
    if pixel_format not in PIXEL_FORMATS:
        return "unknown_format", f"unknown pixel_format {pixel_format!r} (known: {', '.join(PIXEL_FORMATS)})"
    want = np.uint16 if pixel_format == "gray16" else np.uint8
    if image.dtype != want:
        return "wrong_dtype", f"{pixel_format} needs dtype {np.dtype(want).name}, got {image.dtype}"
    shape = image.shape
    if pixel_format in ("bgr8", "rgb8"):
        if image.ndim != 3 or shape[2] != 3:
            return "wrong_shape", f"{pixel_format} needs shape (H, W, 3), got {shape}"
    elif image.ndim != 2:
        return "wrong_shape", f"{pixel_format} needs shape (H, W), got {shape}"
    if shape[0] < 1 or shape[1] < 1:
        return "empty", f"empty image of shape {shape}"
    if pixel_format == "nv12" and (shape[0] % 3 or shape[1] % 2 or (shape[0] * 2 // 3) % 2):
        return "wrong_shape", f"nv12 needs shape (H*3/2, W) with even H and W, got {shape}"
    return None
