"""Render-time drift of the synthetic camera: the ``Drift`` record, its curves, and the true camera motion.

``true_displacement`` and ``content_affine`` say, in pixels, where the rendered content went when the camera
moved: the renderer moves the camera over the scene canvas by exactly this, so a displacement estimate can be
checked against the truth. Units: pixel values in DN (0..255), offsets in px, angles in degrees, time in s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

MAX_SHIFT = 0.06  # fraction of the frame; the rendered canvas has this margin on every side
MAX_ROTATION_DEG = 3.0


@dataclass(frozen=True)
class Drift:
    """Render-time drift parameters; the defaults are the healthy line.

    ``gain``: scene illumination factor (1.15 = 15 % brighter). ``gamma``: ISP exponent,
    ``out = 255 * (in / 255) ** gamma``. ``white_balance``: red x (1 + wb), blue x (1 - wb). ``defocus_sigma``:
    Gaussian lens blur in px. ``shift``: the camera moved by (fraction of width, fraction of height), rightwards
    and downwards for positive values; the image content moves the opposite way. ``rotation_deg``: the camera
    rolled by this many degrees about the frame centre, counter-clockwise as the image is displayed; the content
    turns clockwise. ``smudge_fraction``: fraction of the frame area under a lens smudge. ``noise_factor``:
    sensor noise multiplier. ``foreign_fraction``: fraction of products replaced by the scene's ``foreign``
    product ("new": a product the scene does not usually carry; "variant": a look-alike whose colour histograms
    are matched to the usual product, where the scene has one).
    """

    gain: float = 1.0
    gamma: float = 1.0
    white_balance: float = 0.0
    defocus_sigma: float = 0.0
    shift: tuple[float, float] = (0.0, 0.0)
    smudge_fraction: float = 0.0
    noise_factor: float = 1.0
    foreign_fraction: float = 0.0
    foreign: str = "new"
    rotation_deg: float = 0.0

    def __post_init__(self) -> None:
        checks = {
            "gain": 0.0 < self.gain <= 4.0,
            "gamma": 0.2 <= self.gamma <= 5.0,
            "white_balance": 0.0 <= abs(self.white_balance) < 0.5,
            "defocus_sigma": 0.0 <= self.defocus_sigma <= 20.0,
            "shift": len(self.shift) == 2 and all(abs(s) <= MAX_SHIFT for s in self.shift),
            "smudge_fraction": 0.0 <= self.smudge_fraction <= 0.5,
            "noise_factor": 0.0 <= self.noise_factor <= 20.0,
            "foreign_fraction": 0.0 <= self.foreign_fraction <= 1.0,
            "foreign": isinstance(self.foreign, str) and self.foreign.isidentifier(),
            "rotation_deg": abs(self.rotation_deg) <= MAX_ROTATION_DEG,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"Drift.{name} out of range: {getattr(self, name)!r}")


HEALTHY = Drift()


class Displacement(NamedTuple):
    """How the image content moved: the frame centre's content went ``(dx_px, dy_px)`` (right, down positive)
    and the content turned by ``rotation_deg`` (counter-clockwise as displayed positive, OpenCV's
    ``getRotationMatrix2D`` convention)."""

    dx_px: float
    dy_px: float
    rotation_deg: float


def camera_offset_px(drift: Drift, width: int, height: int) -> tuple[float, float]:
    """The camera's move over the scene in px, as rendered: whole pixels without rotation (an exact crop),
    sub-pixel with rotation (a warp)."""
    if drift.rotation_deg == 0.0:
        return float(round(drift.shift[0] * width)), float(round(drift.shift[1] * height))
    return drift.shift[0] * width, drift.shift[1] * height


def _turn(angle_deg: float) -> np.ndarray:
    """(2, 2) matrix turning image vectors (x right, y down) counter-clockwise as displayed by ``angle_deg``."""
    a = math.radians(angle_deg)
    return np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])


def content_affine(drift: Drift, width: int, height: int) -> np.ndarray:
    """(2, 3) float64 map of a healthy frame's pixel ``(x, y)`` to where it shows in the drifted frame.

    ``p_drifted = c + T(-rotation) (p - c - d)``, with ``c`` the frame centre ((w - 1) / 2, (h - 1) / 2) and
    ``d`` the camera offset in px. Exact for what ``ProductionLine.frame`` renders (up to interpolation).
    """
    c = np.array([(width - 1) / 2, (height - 1) / 2])
    d = np.array(camera_offset_px(drift, width, height))
    turn = _turn(-drift.rotation_deg)
    return np.hstack([turn, (c - turn @ (c + d))[:, None]])


def true_displacement(drift: Drift, width: int, height: int) -> Displacement:
    """The true content displacement of ``drift`` in a ``width`` x ``height`` frame (px and degrees).

    >>> true_displacement(Drift(shift=(0.03, 0.02)), 640, 360)
    Displacement(dx_px=-19.0, dy_px=-7.0, rotation_deg=0.0)
    """
    m = content_affine(drift, width, height)
    c = np.array([(width - 1) / 2, (height - 1) / 2])
    dx, dy = m[:, :2] @ c + m[:, 2] - c
    return Displacement(float(dx), float(dy), 0.0 - drift.rotation_deg)


def camera_warp(drift: Drift, width: int, height: int, margin: tuple[int, int]) -> np.ndarray:
    """(2, 3) float64 inverse map from an output pixel to the scene canvas (``margin`` = (mx, my) px around the
    healthy view), for ``cv2.warpAffine(..., flags=WARP_INVERSE_MAP)``. ValueError if the view leaves the canvas.
    """
    c = np.array([(width - 1) / 2, (height - 1) / 2])
    d = np.array(camera_offset_px(drift, width, height))
    turn = _turn(drift.rotation_deg)
    a = math.radians(abs(drift.rotation_deg))
    half = (
        math.cos(a) * width / 2 + math.sin(a) * height / 2,
        math.sin(a) * width / 2 + math.cos(a) * height / 2,
    )
    if abs(d[0]) + half[0] > width / 2 + margin[0] or abs(d[1]) + half[1] > height / 2 + margin[1]:
        raise ValueError(
            f"camera shift {drift.shift} with rotation {drift.rotation_deg} deg leaves the rendered scene margin"
        )
    return np.hstack([turn, (np.array(margin) + d + c - turn @ c)[:, None]])


def gamma_lut(gamma: float) -> np.ndarray:
    """(256,) uint8 table for ``out = 255 * (in / 255) ** gamma``, rounded."""
    x = np.arange(256, dtype=np.float64) / 255.0
    return np.clip(np.rint(255.0 * x**gamma), 0, 255).astype(np.uint8)


def white_balance_gains(shift: float) -> tuple[float, float, float]:
    """Per-channel (B, G, R) gains of a white-balance shift: red up and blue down by ``shift`` (0.08 = 8 %)."""
    return (1.0 - shift, 1.0, 1.0 + shift)


def lamp_decay_gain(
    t_s: float, onset_s: float = 0.0, loss: float = 0.2, duration_s: float = 7 * 86400.0
) -> float:
    """Illumination factor of a lamp that loses ``loss`` of its light linearly over ``duration_s`` seconds.

    1.0 before ``onset_s``, ``1 - loss`` from ``onset_s + duration_s`` on (the decay then holds).
    """
    progress = min(max((t_s - onset_s) / duration_s, 0.0), 1.0)
    return 1.0 - loss * progress


def smudge_mask(
    height: int, width: int, fraction: float, centre: tuple[float, float] = (0.3, 0.35)
) -> np.ndarray:
    """(height, width) float32 weight in [0, 1] of a soft elliptical lens smudge.

    The region where the weight is >= 0.5 covers ``fraction`` of the frame (if it fits); the weight falls from 1
    to 0 over +-15 % of the ellipse radius. ``centre`` is (x, y) as fractions of the frame.
    """
    b = math.sqrt(fraction * height * width / (1.3 * math.pi))  # semi-axes a = 1.3 b, area pi a b
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    rho = np.sqrt(
        ((xx - centre[0] * width) / (1.3 * b + 1e-9)) ** 2 + ((yy - centre[1] * height) / (b + 1e-9)) ** 2
    )
    s = np.clip((1.15 - rho) / 0.3, 0.0, 1.0)
    return (s * s * (3.0 - 2.0 * s)).astype(np.float32)  # smoothstep: exactly 0 outside, 1 inside
