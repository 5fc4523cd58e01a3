"""A synthetic production line built from real photographs, for drift scenarios, tests, the demo and bench.

A fixed camera looks down at a conveyor belt between two rails, lit by a lamp with a fixed fall-off; products
cut from real photographs with a soft mask and a soft shadow pass left to right at varying spacing, with
jittered lateral position and a small rotation. Which photographs make the belt, the rails, the products and a
fixed fixture, and whether the camera is mono, is the ``Scene`` (``camdrift.agent.sim.scenes``; the default
"cups" is a gravel belt between brick rails carrying coffee cups). A frame is a pure function of
``(seed, frame index)``: a stream can be regenerated and indexed randomly.

The physical order decides what each drift acts on::

    scene radiance (belt, rails, products x lamp fall-off)        <- new product
    camera pose over the scene (crop, or warp when rotated)       <- camera shift and rotation
    x lamp gain(t) x flicker x white balance                       <- gain, lamp decay, white balance
    -> lens: defocus blur, smudge (blur + veiling haze)            <- defocus, smudge
    -> sensor: Gaussian read noise + shot noise, 8-bit saturation  <- noise factor
    -> ISP: gamma look-up table                                    <- gamma

Units: pixel values in DN (0..255), sizes and offsets in px, stream time in seconds.
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist
from typing import NamedTuple

import cv2
import numpy as np

from camdrift.agent.sim.drift import (
    HEALTHY,
    MAX_SHIFT,
    Displacement,
    Drift,
    camera_warp,
    content_affine,
    gamma_lut,
    lamp_decay_gain,
    smudge_mask,
    true_displacement,
    white_balance_gains,
)
from camdrift.agent.sim.photos import ANGLES_DEG, load_photo, match_histograms, scene_canvas, sprites
from camdrift.agent.sim.scenes import DEFAULT_SCENE, SCENES, Scene, scene_named

# How a rolled camera's view is resampled from the canvas. A sensor samples the optical image without blurring
# it; bilinear resampling at sub-pixel offsets does blur, and took 38-54 % of the Laplacian variance of a
# 1 degree roll on the four scenes (a camera bump read as defocus). Lanczos keeps 90-92 % of it (measured).
RESAMPLE = cv2.INTER_LANCZOS4

__all__ = [
    "HEALTHY", "MAX_SHIFT", "SCENES", "Displacement", "Drift", "ProductionLine", "Scene", "content_affine",
    "gamma_lut", "lamp_decay_gain", "load_photo", "match_histograms", "smudge_mask", "true_displacement",
    "white_balance_gains",
]  # fmt: skip


class _Product(NamedTuple):
    entry: float  # entry time offset in spacing periods (-0.3..0.3): the spacing varies
    y_px: int  # top of the sprite in canvas px
    angle: int  # index into ANGLES_DEG
    u: float  # uniform draw deciding whether the product is a foreign one
    kind: int  # index into the scene's usual products, drawn by their mix weights


class ProductionLine:
    """Deterministic renderer of a production-line camera: ``frame(i, drift)`` -> (height, width, 3) BGR8.

    ``seed``: stream seed (>= 0). ``width``, ``height``: output size in px. ``fps``: source frames per second
    of stream time (frame ``i`` is taken at ``t = t0 + i / fps`` s; products move ``belt_speed / fps`` frame
    widths per frame). ``scene``: what the camera sees, a Scene or its name (default the "cups" line). ``belt_speed``: frame widths
    per second; ``read_noise``: Gaussian read noise sigma in DN; ``shot_noise``: shot noise variance per DN of
    signal; ``flicker``: peak per-frame gain wobble of the lamp (0.01 = +-1 %); None takes the scene's value.
    A mono scene renders grey frames (B == G == R).

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
        belt_speed: float | None = None,
        read_noise: float | None = None,
        shot_noise: float | None = None,
        flicker: float | None = None,
        scene: Scene | str = DEFAULT_SCENE,
    ) -> None:
        if not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        if not (64 <= width <= 8192 and 64 <= height <= 8192):
            raise ValueError(f"frame size {width}x{height} px out of range 64..8192")
        scene = scene_named(scene) if isinstance(scene, str) else scene
        if not isinstance(scene, Scene):
            raise ValueError(f"scene must be a Scene or one of {', '.join(SCENES)}, got {scene!r}")
        belt_speed = scene.belt_speed if belt_speed is None else belt_speed
        for name, value in (("fps", fps), ("belt_speed", belt_speed)):
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        noise = [scene.read_noise, scene.shot_noise, scene.flicker]
        for k, (name, value) in enumerate(
            (("read_noise", read_noise), ("shot_noise", shot_noise), ("flicker", flicker))
        ):
            if value is not None and not value >= 0:
                raise ValueError(f"{name} must be >= 0, got {value!r}")
            noise[k] = noise[k] if value is None else value
        self.seed, self.width, self.height, self.fps, self.t0 = int(seed), int(width), int(height), fps, t0
        self.scene, self.belt_speed = scene, belt_speed
        self.read_noise, self.shot_noise, self.flicker = noise
        self._mx, self._my = math.ceil(MAX_SHIFT * width), math.ceil(MAX_SHIFT * height)
        self._lamp, self._background = scene_canvas(height + 2 * self._my, width + 2 * self._mx, scene)
        self._sprites = sprites(height, scene)
        self._sprite_w = max(s.keep.shape[1] for kind in self._sprites.values() for s in kind)
        self._sprite_h = tuple(self._sprites[k][0].keep.shape[0] for k in scene.products)
        self._mix = tuple(np.cumsum(scene.mix) / sum(scene.mix))
        self._speed_px = belt_speed * width
        self._spacing_px = (
            scene.spacing * width + self._sprite_w
        )  # a gap of `spacing` widths between products
        self._noise_lut = _unit_normal_lut()
        shape = (height, width) if scene.mono else (height, width, 3)
        self._channels = 1 if scene.mono else 3
        self._scene_buf = np.empty(shape, np.float32)
        self._buf = np.empty(shape, np.float32)
        self._sigma = np.empty((height, width * self._channels), np.float32)
        self._normals = np.empty((height, width * self._channels), np.float32)
        self._canvas_buf: np.ndarray | None = None  # allocated on the first rotated frame
        self._smudges: dict[float, tuple[np.ndarray, tuple[slice, slice]]] = {}

    def time(self, i: int) -> float:
        """Stream time of frame ``i`` in s."""
        return self.t0 + i / self.fps

    def displacement(self, drift: Drift) -> Displacement:
        """The true content displacement (px, degrees) ``drift`` renders in this line's frames."""
        return true_displacement(drift, self.width, self.height)

    def frame(self, i: int, drift: Drift = HEALTHY) -> np.ndarray:
        """Render frame ``i`` (>= 0) under ``drift``: (height, width, 3) uint8 BGR, C-contiguous.

        ValueError if ``drift`` does not exist in this scene (white balance on a mono camera, a foreign product
        the scene has not got) or moves the camera beyond the rendered margin.
        """
        if not isinstance(i, int | np.integer) or i < 0:
            raise ValueError(f"frame index must be a non-negative int, got {i!r}")
        self._check(drift)
        rng = np.random.default_rng([self.seed, 0, int(i)])
        h, w, c = self.height, self.width, self._channels
        scene, buf = self._lit_view(self.time(i), drift), self._buf
        if drift.defocus_sigma > 0:
            cv2.GaussianBlur(scene, (0, 0), drift.defocus_sigma, dst=buf)
            scene, buf = buf, scene
        if drift.smudge_fraction > 0:
            self._smudge(scene, drift.smudge_fraction)
        g = drift.gain * (1.0 + self.flicker * rng.uniform(-1.0, 1.0))
        gains = tuple(g * k for k in white_balance_gains(drift.white_balance)) + (0.0,)
        signal = cv2.multiply(scene, gains, dst=buf).reshape(h, w * c)  # one channel: cv2 scalars hit all
        # Noise sigma^2 = nf^2 (read^2 + shot * signal); unit normals from a 256-level inverse-CDF table.
        nf2 = drift.noise_factor**2
        sigma = cv2.addWeighted(
            signal, nf2 * self.shot_noise, signal, 0.0, nf2 * self.read_noise**2, dst=self._sigma
        )
        cv2.sqrt(sigma, dst=sigma)
        n = h * w * c
        uniform = rng.bit_generator.random_raw(-(-n // 8)).view(np.uint8)[:n].reshape(h, w * c)
        cv2.multiply(sigma, cv2.LUT(uniform, self._noise_lut, dst=self._normals), dst=sigma)
        out = cv2.add(signal, sigma, dtype=cv2.CV_8U)
        if drift.gamma != 1.0:
            cv2.LUT(out, _gamma_lut(drift.gamma), dst=out)
        if self.scene.mono:
            return cv2.cvtColor(out, cv2.COLOR_GRAY2BGR)
        return out.reshape(h, w, 3)

    def _check(self, drift: Drift) -> None:
        if self.scene.mono and drift.white_balance != 0.0:
            raise ValueError(
                f"scene {self.scene.name!r} is a mono camera: Drift.white_balance does not exist"
            )
        if drift.foreign_fraction > 0 and drift.foreign not in self.scene.foreign:
            raise ValueError(
                f"scene {self.scene.name!r} has no foreign product {drift.foreign!r} "
                f"(known: {', '.join(self.scene.foreign)})"
            )

    def _lit_view(self, t: float, drift: Drift) -> np.ndarray:
        """The lit scene as the camera sees it at stream time ``t`` (into the scratch buffer, float32 DN)."""
        h, w = self.height, self.width
        scene = self._scene_buf
        if drift.rotation_deg == 0.0:  # a whole-pixel crop of the canvas: exact, and cheap
            ox = self._mx + round(drift.shift[0] * w)
            oy = self._my + round(drift.shift[1] * h)
            # Scratch buffers: fresh frame-sized arrays would page-fault on every frame and double the cost.
            np.copyto(scene, self._background[oy : oy + h, ox : ox + w])
            self._draw_products(scene, ox, oy, t, drift)
            cv2.multiply(scene, self._lamp[oy : oy + h, ox : ox + w], dst=scene)
            return scene
        warp = camera_warp(drift, w, h, (self._mx, self._my))  # validates the pose before any work
        if self._canvas_buf is None:
            self._canvas_buf = np.empty_like(self._background)
        canvas = self._canvas_buf
        np.copyto(canvas, self._background)
        self._draw_products(canvas, 0, 0, t, drift)
        cv2.multiply(canvas, self._lamp, dst=canvas)
        flags = RESAMPLE | cv2.WARP_INVERSE_MAP
        cv2.warpAffine(canvas, warp, (w, h), dst=scene, flags=flags, borderMode=cv2.BORDER_REPLICATE)
        return scene

    def _product(self, k: int) -> _Product:
        canvas_h = self.height + 2 * self._my
        return _product_params(self.seed, k, canvas_h, self._sprite_h, self.scene.lane, self._mix)

    def _draw_products(self, view: np.ndarray, ox: int, oy: int, t: float, drift: Drift) -> None:
        """Composite the products in view at stream time ``t`` into ``view`` (the canvas region at ox, oy)."""
        vh, vw = view.shape[:2]
        travel = self.width + 2 * self._mx + self._sprite_w
        period_s = self._spacing_px / self._speed_px
        k_lo = math.floor((t - travel / self._speed_px) / period_s) - 1
        usual = tuple(self.scene.products)
        for k in range(k_lo, math.floor(t / period_s) + 2):
            p = self._product(k)
            kind = drift.foreign if p.u < drift.foreign_fraction else usual[p.kind]
            sprite = self._sprites[kind][p.angle]
            sh, sw = sprite.keep.shape[:2]
            x = round((t - (k + p.entry) * period_s) * self._speed_px) - sw  # canvas px
            x0, y0 = max(x, ox), max(p.y_px, oy)
            x1, y1 = min(x + sw, ox + vw), min(p.y_px + sh, oy + vh)
            if x1 <= x0 or y1 <= y0:
                continue
            src = np.s_[y0 - p.y_px : y1 - p.y_px, x0 - x : x1 - x]
            roi = view[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
            cv2.multiply(roi, sprite.keep[src], dst=roi)  # in place: same shape and type, never reallocated
            cv2.add(roi, sprite.premul[src], dst=roi)

    def _smudge(self, scene: np.ndarray, fraction: float) -> None:
        """Grease on the lens at a fixed place: light there is blurred and a veil of scattered light is added."""
        if fraction not in self._smudges:
            mask = smudge_mask(self.height, self.width, fraction)
            ys, xs = np.nonzero(mask)
            box = np.s_[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
            self._smudges[fraction] = (mask[box] if self.scene.mono else mask[box][..., None], box)
        m, box = self._smudges[fraction]
        roi = scene[box]
        veiled = cv2.GaussianBlur(roi, (0, 0), 0.015 * self.width) * 0.55 + 0.45 * 170.0
        roi += (veiled - roi) * m


@lru_cache(maxsize=4096)
def _product_params(
    seed: int,
    k: int,
    canvas_h: int,
    sprite_h: tuple[int, ...],
    lane: tuple[float, float, float],
    mix: tuple[float, ...],
) -> _Product:
    rng = np.random.default_rng([seed, 1, k & 0xFFFFFFFF, k >> 32 & 0xFFFFFFFF])
    centre_frac, sigma, clip = lane
    centre = canvas_h * (
        centre_frac + float(np.clip(rng.normal(0.0, sigma), -clip, clip))
    )  # stays on the belt
    kind = 0
    if len(mix) > 1:  # its own stream, so a one-product scene draws exactly what the cups line always drew
        pick = np.random.default_rng([seed, 3, k & 0xFFFFFFFF, k >> 32 & 0xFFFFFFFF]).uniform()
        kind = min(int(np.searchsorted(mix, pick, side="right")), len(mix) - 1)
    return _Product(
        entry=float(rng.uniform(-0.3, 0.3)),
        y_px=round(centre - sprite_h[kind] / 2),
        angle=int(rng.integers(len(ANGLES_DEG))),
        # Golden-ratio sequence from a seeded start: any run of products holds a foreign fraction close to the
        # requested one (i.i.d. draws would swing by +-10 % over a 600-frame test window).
        u=(_seed_phase(seed) + k * 0.6180339887498949) % 1.0,
        kind=kind,
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
