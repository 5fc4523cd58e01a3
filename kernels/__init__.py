"""camdrift.kernels: numba kernels, pure functions over arrays (no I/O, no state).

Every public function checks its inputs and calls a private ``@njit(cache=True, nogil=True)`` kernel.
"""

from camdrift.kernels.activations import (
    finite_samples,
    histogram_by_edges,
    pool_channels,
    project,
    quantile_edges_float,
)
from camdrift.kernels.divergence import js, kl, psi, psi_rows, smoothed_proportions, wasserstein_1d
from camdrift.kernels.frame_stats import PIXEL_FORMATS, FrameStats, Roi, frame_stats, touch_bytes
from camdrift.kernels.rebin import quantile_edges, rebin, rebin_lut

__all__ = [
    "PIXEL_FORMATS",
    "FrameStats",
    "Roi",
    "frame_stats",
    "touch_bytes",
    # divergences between histograms
    "smoothed_proportions",
    "psi",
    "psi_rows",
    "kl",
    "js",
    "wasserstein_1d",
    # rebinning of natural-bin histograms
    "quantile_edges",
    "rebin_lut",
    "rebin",
    # activations
    "pool_channels",
    "finite_samples",
    "project",
    "histogram_by_edges",
    "quantile_edges_float",
]
