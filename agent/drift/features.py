"""Per-frame engine record: :class:`FrameFeatures` from a kernel :class:`~camdrift.kernels.FrameStats`.

Scalars (units): brightness = luma mean (DN8); contrast = luma std (DN8); sharpness = ln(1 + Laplacian variance);
noise = Immerkaer sigma (DN8); rg, bg = median R / median G, median B / median G (1.0 for grey frames);
under_exposed, over_exposed = fractions; luma_p10 .. luma_p90 = luma quantiles (DN8, linear inside the 1-DN8
bins), which let the explainer tell a gamma change (midtones move, black and white hold) from a lighting change
(everything scales).
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from camdrift.kernels import FrameStats
from camdrift.kernels.rebin import rebin

SCALARS = (
    "brightness",
    "contrast",
    "sharpness",
    "noise",
    "rg",
    "bg",
    "under_exposed",
    "over_exposed",
    "luma_p10",
    "luma_p25",
    "luma_p50",
    "luma_p75",
    "luma_p90",
)
QUANTILES = (0.10, 0.25, 0.50, 0.75, 0.90)


class FrameFeatures(NamedTuple):
    """counts: (K, B) int64 rebinned histogram per group (blue, green, red, luma); scalars: (S,) float64 in
    :data:`SCALARS` order; thumbnail: (th, tw) float64 luma (DN8); grid_sharpness: (gh, gw) float64
    ln(1 + cell Laplacian variance); grid_luma: (gh, gw) float64 mean luma per cell (DN8, from the thumbnail)."""

    counts: np.ndarray
    scalars: np.ndarray
    thumbnail: np.ndarray
    grid_sharpness: np.ndarray
    grid_luma: np.ndarray


def luma_quantiles(luma_hist: np.ndarray, qs: tuple[float, ...] = QUANTILES) -> np.ndarray:
    """Quantiles (DN8) of a (256,) count histogram, linear inside each [k, k+1) bin."""
    cum = np.cumsum(luma_hist, dtype=np.float64)
    total = cum[-1]
    out = np.empty(len(qs))
    for i, q in enumerate(qs):
        target = q * total
        k = int(np.searchsorted(cum, target, side="left"))
        before = cum[k - 1] if k > 0 else 0.0
        inside = luma_hist[k]
        out[i] = k + ((target - before) / inside if inside > 0 else 0.0)
    return out


def colour_ratios(channel_hist: np.ndarray) -> tuple[float, float]:
    """(median R / median G, median B / median G) of a (3, 256) B, G, R count histogram; (1.0, 1.0) for grey.

    Medians, not means: where the background fills most of the view they read the light on the background, so a
    product mix (red cups one frame, blue cartons the next) barely moves them, while a white-balance change
    moves them as much as the means. Quantiles are linear inside each 1-DN8 bin, so they are never 0.
    """
    if channel_hist.shape[0] != 3:
        return 1.0, 1.0
    b, g, r = (float(luma_quantiles(channel_hist[k], (0.5,))[0]) for k in range(3))
    if g <= 0.0:
        return 0.0, 0.0
    return r / g, b / g


def _groups_hist(stats: FrameStats) -> np.ndarray:
    ch = stats.channel_hist
    if ch.shape[0] == 3:
        return np.concatenate([ch, stats.luma_hist[None, :]], axis=0)
    return np.repeat(stats.luma_hist[None, :], 4, axis=0)  # grey: every group is the luma


def extract(stats: FrameStats, lut: np.ndarray, n_bins: int, *, colour_medians: bool = True) -> FrameFeatures:
    """Turn one frame's stats into the engine record; ``lut``: (K, 256) int64 from the baseline.
    ``colour_medians``: rg, bg from the channel medians (:func:`colour_ratios`), else the kernel's mean ratios
    (what a format-1 baseline was calibrated with)."""
    hist = _groups_hist(stats)
    if lut.shape != (hist.shape[0], 256):
        raise ValueError(f"lut must have shape ({hist.shape[0]}, 256), got {lut.shape}")
    counts = np.stack([rebin(hist[k], lut[k], n_bins) for k in range(hist.shape[0])])
    q = luma_quantiles(stats.luma_hist)
    rg, bg = colour_ratios(stats.channel_hist) if colour_medians else (stats.rg, stats.bg)
    scalars = np.array(
        [
            stats.luma_mean,
            np.sqrt(stats.luma_var),
            np.log1p(stats.sharpness),
            stats.noise_sigma,
            rg,
            bg,
            stats.under_exposed,
            stats.over_exposed,
            *q,
        ],
        dtype=np.float64,
    )
    thumb = stats.thumbnail.astype(np.float64)
    gh, gw = stats.grid_sharpness.shape
    grid_luma = cv2.resize(thumb, (gw, gh), interpolation=cv2.INTER_AREA)
    return FrameFeatures(
        counts=counts.astype(np.int64),
        scalars=scalars,
        thumbnail=thumb,
        grid_sharpness=np.log1p(stats.grid_sharpness),
        grid_luma=grid_luma,
    )
