"""How much of a rise in sharpness new edges make: the part that neither noise nor light explains.

The Laplacian variance of a frame is the scene's edges plus the sensor noise: the 4-neighbour Laplacian of white
noise of sd sigma has variance 20 sigma^2, and a gain g scales the scene part by g^2. Noise x2.5 or a brighter
lamp raise the sharpness along those lines; a new product with hard edges or fine print raises it beyond them,
which is content, not noise.
"""

from __future__ import annotations

import numpy as np

from camdrift.agent.drift.statistics import window_null_sd

LAPLACIAN_NOISE_GAIN = 20.0  # variance of the 4-neighbour Laplacian of unit white noise: 4 * 1 + 16


def predicted_sharpness(ref_sharpness: float, ref_noise: float, noise: float, gain: float) -> float:
    """The ln(1 + Laplacian variance) a frame of the reference scene has at noise sd ``noise`` (DN8) and light
    ``gain`` (x the reference); ``ref_sharpness``: ln(1 + variance) and ``ref_noise``: sd (DN8) of the reference."""
    lap_ref = float(np.expm1(ref_sharpness))
    scene = max(lap_ref - LAPLACIAN_NOISE_GAIN * ref_noise**2, 0.0)
    return float(np.log1p(scene * gain * gain + LAPLACIAN_NOISE_GAIN * noise**2))


def edges_beyond_noise(
    z: np.ndarray, rel: np.ndarray, scalar_mean: np.ndarray, si: dict[str, int]
) -> tuple[float, float]:
    """(z, relative change) of a window's sharpness beyond :func:`predicted_sharpness` at the window's noise
    and brightness. z, rel: (S,) the window's signed shifts (null sds) and relative changes; scalar_mean: (S,)
    the reference means; si: scalar index by name. (0, 0) where the sharpness did not move."""
    i = si["sharpness"]
    zs, rs = float(z[i]), float(rel[i])
    ref = float(scalar_mean[i])
    if zs == 0.0 or rs == 0.0 or ref <= 0.0:
        return 0.0, 0.0
    sd = float(window_null_sd(rs, zs, ref))  # of ln(1 + variance)
    ref_noise = float(scalar_mean[si["noise"]])
    pred = predicted_sharpness(
        ref, ref_noise, ref_noise * (1.0 + float(rel[si["noise"]])), 1.0 + float(rel[si["brightness"]])
    )
    cur = ref * (1.0 + rs)
    return (cur - pred) / sd, float(np.expm1(cur) / np.expm1(pred) - 1.0)
