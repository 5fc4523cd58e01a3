"""camdrift.kernels: numba kernels, pure functions over arrays (no I/O, no state).

Every public function checks its inputs and calls a private ``@njit(cache=True, nogil=True)`` kernel.

The package loads its numba modules on first use of one of their names (``from camdrift.kernels import psi``
imports numba then), so that :mod:`camdrift.kernels.pixel_formats`, which the frame tap needs, can be imported
by an inference app without paying for numba.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

__all__ = [
    "PIXEL_FORMATS",
    "KERNEL_VERSION",
    "FrameStats",
    "KernelParams",
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

# Submodule -> the public names it defines (together, ``__all__``).
_EXPORTS = {
    "pixel_formats": ("PIXEL_FORMATS",),
    "frame_stats": ("KERNEL_VERSION", "FrameStats", "KernelParams", "Roi", "frame_stats", "touch_bytes"),
    "divergence": ("smoothed_proportions", "psi", "psi_rows", "kl", "js", "wasserstein_1d"),
    "rebin": ("quantile_edges", "rebin_lut", "rebin"),
    "activations": (
        "pool_channels",
        "finite_samples",
        "project",
        "histogram_by_edges",
        "quantile_edges_float",
    ),
}
_HOMES = {name: module for module, names in _EXPORTS.items() for name in names}

if TYPE_CHECKING:
    from camdrift.kernels.activations import (
        finite_samples,
        histogram_by_edges,
        pool_channels,
        project,
        quantile_edges_float,
    )
    from camdrift.kernels.divergence import js, kl, psi, psi_rows, smoothed_proportions, wasserstein_1d
    from camdrift.kernels.frame_stats import (
        KERNEL_VERSION,
        FrameStats,
        KernelParams,
        Roi,
        frame_stats,
        touch_bytes,
    )
    from camdrift.kernels.pixel_formats import PIXEL_FORMATS
    from camdrift.kernels.rebin import quantile_edges, rebin, rebin_lut


class _Package(types.ModuleType):
    """The package module: resolves a public name by importing its home on first use.

    ``frame_stats`` and ``rebin`` name both a submodule and the function it exports. Importing a submodule
    binds it as an attribute of its package; the package keeps the function under that name instead, as an
    eager ``from .frame_stats import frame_stats`` in this file would (so ``from camdrift.kernels import
    frame_stats`` gives the function whichever module was imported first).
    """

    def __getattr__(self, name: str) -> object:
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        value = vars(importlib.import_module(f"{self.__name__}.{home}"))[name]
        setattr(self, name, value)
        return value

    def __setattr__(self, name: str, value: object) -> None:
        if isinstance(value, types.ModuleType) and _HOMES.get(name) == name:
            value = vars(value)[name]
        super().__setattr__(name, value)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(_HOMES))


sys.modules[__name__].__class__ = _Package
