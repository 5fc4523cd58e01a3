"""A synthetic production line built from real photographs, for drift scenarios, tests, the demo and bench.

A fixed camera looks down at a conveyor belt (a real gravel photograph) between two rails (a real brick
photograph), lit by a lamp with a fixed fall-off. Products, a coffee cup cut from a real photograph with a soft
elliptical mask and a soft shadow, pass left to right at varying spacing, with jittered lateral position and
a small rotation. A frame is a pure function of ``(seed, frame index)``: a stream can be regenerated and indexed
randomly. The photographs ship in ``camdrift/agent/sim/data`` (see its README for origin and licence).

The physical order decides what each drift acts on::

    scene radiance (belt, rails, products x lamp fall-off)        <- camera shift (crop), new product
    x lamp gain(t) x flicker x white balance                       <- gain, lamp decay, white balance
    -> lens: defocus blur, smudge (blur + veiling haze)            <- defocus, smudge
    -> sensor: Gaussian read noise + shot noise, 8-bit saturation  <- noise factor
    -> ISP: gamma look-up table                                    <- gamma

Units: pixel values in DN (0..255), sizes and offsets in px, stream time in seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist
from typing import NamedTuple

import cv2
import numpy as np

from camdrift.agent.sim.photos import ANGLES_DEG, load_photo, match_histograms, scene_canvas, sprites

__all__ = [
    "FOREIGN_PRODUCTS", "HEALTHY", "MAX_SHIFT", "Drift", "ProductionLine", "gamma_lut", "lamp_decay_gain",
    "load_photo", "match_histograms", "smudge_mask", "white_balance_gains",
]  # fmt: skip

FOREIGN_PRODUCTS = ("helmet", "variant")
MAX_SHIFT = 0.06  # fraction of the frame; the rendered canvas has this margin on every side


@dataclass(frozen=True)
class Drift:
    """Render-time drift parameters; the defaults are the healthy line.

    ``gain``: scene illumination factor (1.15 = 15 % brighter). ``gamma``: ISP exponent,
    ``out = 255 * (in / 255) ** gamma``. ``white_balance``: red x (1 + wb), blue x (1 - wb). ``defocus_sigma``:
    Gaussian lens blur in px. ``shift``: the camera moved by (fraction of width, fraction of height), rightwards
    and downwards for positive values; the image content moves the opposite way. ``smudge_fraction``: fraction of
    the frame area under a lens smudge. ``noise_factor``: sensor noise multiplier. ``foreign_fraction``: fraction
    of products replaced by ``foreign`` ("helmet": a different product; "variant": a different object whose
    colour histograms are matched to the usual product).
    """

    gain: float = 1.0
    gamma: float = 1.0
    white_balance: float = 0.0
    defocus_sigma: float = 0.0
    shift: tuple[float, float] = (0.0, 0.0)
    smudge_fraction: float = 0.0
    noise_factor: float = 1.0
    foreign_fraction: float = 0.0
    foreign: str = "helmet"

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
            "foreign": self.foreign in FOREIGN_PRODUCTS,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"Drift.{name} out of range: {getattr(self, name)!r}")


HEALTHY = Drift()


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


class _Product(NamedTuple):
    entry: float  # entry time offset in spacing periods (-0.3..0.3): the spacing varies
    y_px: int  # top of the sprite in canvas px
    angle: int  # index into ANGLES_DEG
    u: float  # uniform draw deciding whether the product is a foreign one


class ProductionLine:
    """Deterministic renderer of the production-line camera: ``frame(i, drift)`` -> (height, width, 3) BGR8.

    ``seed``: stream seed (>= 0). ``width``, ``height``: output size in px. ``fps``: analysed frames per second
    of stream time (frame ``i`` is taken at ``t = t0 + i / fps`` s). ``belt_speed``: frame widths per second.
    ``read_noise``: Gaussian read noise sigma in DN; ``shot_noise``: shot noise variance per DN of signal.
    ``flicker``: peak per-frame gain wobble of the lamp (0.01 = +-1 %).

    Not thread-safe (it renders into scratch buffers): use one instance per thread.

    >>> line = ProductionLine(seed=7)
    >>> np.array_equal(line.frame(20_000), ProductionLine(seed=7).frame(20_000))
    True
    >>> bright = line.frame(3, Drift(gain=1.15)).mean() / line.frame(3).mean()
    >>> round(float(bright), 2)
    1.15
    """

    def __init__(
        self,
        seed: int = 0,
        width: int = 320,
        height: int = 240,
        fps: float = 5.0,
        t0: float = 0.0,
        belt_speed: float = 0.3,
        read_noise: float = 2.0,
        shot_noise: float = 0.01,
        flicker: float = 0.01,
    ) -> None:
        if not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        if not (64 <= width <= 8192 and 64 <= height <= 8192):
            raise ValueError(f"frame size {width}x{height} px out of range 64..8192")
        for name, value in (("fps", fps), ("belt_speed", belt_speed)):
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        for name, value in (("read_noise", read_noise), ("shot_noise", shot_noise), ("flicker", flicker)):
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0, got {value!r}")
        self.seed, self.width, self.height, self.fps, self.t0 = int(seed), int(width), int(height), fps, t0
        self.belt_speed, self.read_noise, self.shot_noise = belt_speed, read_noise, shot_noise
        self.flicker = flicker
        self._mx, self._my = math.ceil(MAX_SHIFT * width), math.ceil(MAX_SHIFT * height)
        self._lamp, self._background = scene_canvas(height + 2 * self._my, width + 2 * self._mx)
        self._sprites = sprites(height)
        self._sprite_w = max(s.keep.shape[1] for kind in self._sprites.values() for s in kind)
        self._speed_px = belt_speed * width
        self._spacing_px = width + self._sprite_w  # about one product in view at a time
        self._noise_lut = _unit_normal_lut()
        self._scene_buf = np.empty((height, width, 3), np.float32)
        self._buf = np.empty((height, width, 3), np.float32)
        self._sigma = np.empty((height, width * 3), np.float32)
        self._normals = np.empty((height, width * 3), np.float32)
        self._smudges: dict[float, tuple[np.ndarray, tuple[slice, slice]]] = {}

    def time(self, i: int) -> float:
        """Stream time of frame ``i`` in s."""
        return self.t0 + i / self.fps

    def frame(self, i: int, drift: Drift = HEALTHY) -> np.ndarray:
        """Render frame ``i`` (>= 0) under ``drift``: (height, width, 3) uint8 BGR, C-contiguous."""
        if not isinstance(i, int | np.integer) or i < 0:
            raise ValueError(f"frame index must be a non-negative int, got {i!r}")
        rng = np.random.default_rng([self.seed, 0, int(i)])
        h, w = self.height, self.width
        ox = self._mx + round(drift.shift[0] * w)
        oy = self._my + round(drift.shift[1] * h)
        # Scratch buffers: fresh frame-sized arrays would page-fault on every frame and double the cost.
        scene, buf = self._scene_buf, self._buf
        np.copyto(scene, self._background[oy : oy + h, ox : ox + w])
        self._draw_products(scene, ox, oy, self.time(i), drift)
        cv2.multiply(scene, self._lamp[oy : oy + h, ox : ox + w], dst=scene)
        if drift.defocus_sigma > 0:
            cv2.GaussianBlur(scene, (0, 0), drift.defocus_sigma, dst=buf)
            scene, buf = buf, scene
        if drift.smudge_fraction > 0:
            self._smudge(scene, drift.smudge_fraction)
        g = drift.gain * (1.0 + self.flicker * rng.uniform(-1.0, 1.0))
        gains = tuple(g * c for c in white_balance_gains(drift.white_balance)) + (0.0,)
        signal = cv2.multiply(scene, gains, dst=buf).reshape(h, w * 3)  # one channel: cv2 scalars hit all
        # Noise sigma^2 = nf^2 (read^2 + shot * signal); unit normals from a 256-level inverse-CDF table.
        nf2 = drift.noise_factor**2
        sigma = cv2.addWeighted(
            signal, nf2 * self.shot_noise, signal, 0.0, nf2 * self.read_noise**2, dst=self._sigma
        )
        cv2.sqrt(sigma, dst=sigma)
        n = h * w * 3
        uniform = rng.bit_generator.random_raw(-(-n // 8)).view(np.uint8)[:n].reshape(h, w * 3)
        cv2.multiply(sigma, cv2.LUT(uniform, self._noise_lut, dst=self._normals), dst=sigma)
        out = cv2.add(signal, sigma, dtype=cv2.CV_8U).reshape(h, w, 3)
        if drift.gamma != 1.0:
            cv2.LUT(out, _gamma_lut(drift.gamma), dst=out)
        return out

    def _product(self, k: int) -> _Product:
        return _product_params(
            self.seed, k, self.height + 2 * self._my, self._sprites["cup"][0].keep.shape[0]
        )

    def _draw_products(self, scene: np.ndarray, ox: int, oy: int, t: float, drift: Drift) -> None:
        """Composite the products in view at stream time ``t`` into ``scene`` (the canvas crop at ox, oy)."""
        travel = self.width + 2 * self._mx + self._sprite_w
        period_s = self._spacing_px / self._speed_px
        k_lo = math.floor((t - travel / self._speed_px) / period_s) - 1
        for k in range(k_lo, math.floor(t / period_s) + 2):
            p = self._product(k)
            kind = drift.foreign if p.u < drift.foreign_fraction else "cup"
            sprite = self._sprites[kind][p.angle]
            sh, sw = sprite.keep.shape[:2]
            x = round((t - (k + p.entry) * period_s) * self._speed_px) - sw  # canvas px
            x0, y0 = max(x, ox), max(p.y_px, oy)
            x1, y1 = min(x + sw, ox + self.width), min(p.y_px + sh, oy + self.height)
            if x1 <= x0 or y1 <= y0:
                continue
            src = np.s_[y0 - p.y_px : y1 - p.y_px, x0 - x : x1 - x]
            roi = scene[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
            np.multiply(roi, sprite.keep[src], out=roi)
            np.add(roi, sprite.premul[src], out=roi)

    def _smudge(self, scene: np.ndarray, fraction: float) -> None:
        """Grease on the lens at a fixed place: light there is blurred and a veil of scattered light is added."""
        if fraction not in self._smudges:
            mask = smudge_mask(self.height, self.width, fraction)
            ys, xs = np.nonzero(mask)
            box = np.s_[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
            self._smudges[fraction] = (mask[box][..., None], box)
        m, box = self._smudges[fraction]
        roi = scene[box]
        veiled = cv2.GaussianBlur(roi, (0, 0), 0.015 * self.width) * 0.55 + 0.45 * 170.0
        roi += (veiled - roi) * m


@lru_cache(maxsize=4096)
def _product_params(seed: int, k: int, canvas_h: int, sprite_h: int) -> _Product:
    rng = np.random.default_rng([seed, 1, k & 0xFFFFFFFF, k >> 32 & 0xFFFFFFFF])
    centre = canvas_h * (0.5 + float(np.clip(rng.normal(0.0, 0.05), -0.1, 0.1)))  # stays on the belt
    return _Product(
        entry=float(rng.uniform(-0.3, 0.3)),
        y_px=round(centre - sprite_h / 2),
        angle=int(rng.integers(len(ANGLES_DEG))),
        # Golden-ratio sequence from a seeded start: any run of products holds a foreign fraction close to the
        # requested one (i.i.d. draws would swing by +-10 % over a 600-frame test window).
        u=(_seed_phase(seed) + k * 0.6180339887498949) % 1.0,
    )


@lru_cache(maxsize=16)
def _gamma_lut(gamma: float) -> np.ndarray:
    return gamma_lut(gamma)


@lru_cache(maxsize=64)
def _seed_phase(seed: int) -> float:
    return float(np.random.default_rng([seed, 2]).uniform())


@lru_cache(maxsize=1)
def _unit_normal_lut() -> np.ndarray:
    """(1, 256) float32 inverse-CDF table mapping a uniform byte to a unit-variance normal sample."""
    z = np.array([NormalDist().inv_cdf((k + 0.5) / 256) for k in range(256)])
    return (z / z.std()).astype(np.float32).reshape(1, 256)
