"""Compile the kernels the agent runs into numba's cache ahead of the first start: ``python -m camdrift.kernels.warm``.

numba compiles each kernel on its first call for the argument types of that call and, with ``cache=True``, keeps
the machine code in ``NUMBA_CACHE_DIR``. A first start with an empty cache spends 10-16 s compiling before its
first analysed frame (more on a slow box), and every upgrade empties the cache (its entries are keyed on the
source files). The installer runs this module as the service user with the service's cache directory, so the
first start after an install or upgrade finds every kernel compiled.

What is compiled: :func:`~camdrift.kernels.frame_stats.frame_stats` for every pixel format, at stride 1 and 2,
on whole frames and on a region of interest; and the histogram, divergence and activation kernels with the
array types the drift engine passes (float64 window counts, int64 natural-bin counts, float32 model outputs).
``tests/kernels/test_warm.py`` checks that an agent replay after :func:`warm` compiles nothing more.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from camdrift.kernels.activations import (
    finite_samples,
    histogram_by_edges,
    pool_channels,
    project,
    quantile_edges_float,
)
from camdrift.kernels.divergence import js, psi, psi_rows, smoothed_proportions, wasserstein_1d
from camdrift.kernels.frame_stats import frame_stats
from camdrift.kernels.pixel_formats import PIXEL_FORMATS
from camdrift.kernels.rebin import quantile_edges, rebin, rebin_lut

_SIZE = (48, 64)  # (h, w) px: small, the compiled code does not depend on the size


def _frame(pixel_format: str, rng: np.random.Generator) -> np.ndarray:
    """A random frame of ``pixel_format`` at :data:`_SIZE`."""
    h, w = _SIZE
    if pixel_format in ("bgr8", "rgb8"):
        return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    if pixel_format == "gray8":
        return rng.integers(0, 256, (h, w), dtype=np.uint8)
    if pixel_format == "gray16":
        return rng.integers(0, 4096, (h, w), dtype=np.uint16)
    return rng.integers(0, 256, (h * 3 // 2, w), dtype=np.uint8)  # nv12: Y plane, then interleaved UV


def _frame_kernels(rng: np.random.Generator) -> None:
    for fmt in PIXEL_FORMATS:
        frame = _frame(fmt, rng)
        for stride in (1, 2):
            for roi in (None, (2, 2, 40, 30)):
                frame_stats(
                    frame, pixel_format=fmt, stride=stride, roi=roi, bit_depth=12 if fmt == "gray16" else None
                )


def _engine_kernels(rng: np.random.Generator) -> None:
    natural = rng.integers(1, 100, 256).astype(np.int64)
    edges = quantile_edges(natural, 20)
    counts = rebin(natural, rebin_lut(edges, 256), len(edges) - 1)
    ref = np.stack([counts.astype(np.float64)] * 4)  # the baseline's pooled reference counts
    centers = np.arange(ref.shape[1], dtype=np.float64)
    for cur in (np.stack([counts] * 4), ref + rng.random(ref.shape)):  # window sums (int64), mean counts
        psi_rows(ref, cur, 0.5)
        psi(ref[0], cur[0], 0.5)
        js(ref[0], cur[0], 0.5)
        wasserstein_1d(ref[0], cur[0], centers=centers)
    smoothed_proportions(ref, 0.5)
    for dtype in (np.float32, np.float64):  # model outputs come in either
        act = rng.random((1, 8, 4, 4)).astype(dtype)
        pooled = pool_channels(act, "nchw")
        pool_channels(np.ascontiguousarray(act.transpose(0, 2, 3, 1)), "nhwc")
        finite_samples(act.reshape(8, -1))
        project(pooled, np.zeros(pooled.shape[1]), np.eye(pooled.shape[1])[:, :4])
        values = rng.random((200, 4)).astype(dtype)
        histogram_by_edges(values, quantile_edges_float(values, 10))


def warm() -> None:
    """Calls every kernel once per argument type the agent uses."""
    rng = np.random.default_rng(0)
    _frame_kernels(rng)
    _engine_kernels(rng)


def loaded_specialisations() -> int:
    """How many compiled specialisations of camdrift's kernels this process holds: each one the daemon loads
    from the cache costs memory and start-up time, so a caller with an unexpected array type (a non-contiguous
    view, another dtype) shows up here as a larger count."""
    from numba.core.registry import CPUDispatcher

    seen: dict[int, CPUDispatcher] = {}
    for name, module in list(sys.modules.items()):
        if name.startswith("camdrift.kernels"):
            for obj in vars(module).values():
                if isinstance(obj, CPUDispatcher):
                    seen[id(obj)] = obj
    return sum(len(d.overloads) for d in seen.values())


def main() -> int:
    started = time.monotonic()
    warm()
    print(f"camdrift: numba kernels compiled and cached ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
