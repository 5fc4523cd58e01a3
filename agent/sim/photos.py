"""Scene assets of the synthetic production line, built once per frame size from the packaged photographs.

The photographs ship in ``camdrift/agent/sim/data`` (origin and licence in its README) and are decoded with OpenCV, so
rendering never needs scikit-image. Everything here is cached and treated as read-only by the renderer.
Units: pixel values in DN (0..255), sizes in px.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from typing import NamedTuple

import cv2
import numpy as np

ANGLES_DEG = (-8.0, -4.0, 0.0, 4.0, 8.0)
# Soft elliptical cut-out of each photograph: centre and semi-axes as fractions of the stored image.
_ELLIPSES = {
    "cup.jpg": (0.5, 0.52, 0.48, 0.47),
    "cat.jpg": (0.5, 0.52, 0.48, 0.47),  # the same outline as the cup, so only the content differs
    "helmet.jpg": (0.53, 0.58, 0.45, 0.55),
}


def load_photo(name: str, grayscale: bool = False) -> np.ndarray:
    """Decode a photograph shipped in ``camdrift/agent/sim/data``: (H, W, 3) BGR8, or (H, W) uint8 if grayscale."""
    return _load_photo(name, grayscale).copy()


@lru_cache(maxsize=16)
def _load_photo(name: str, grayscale: bool) -> np.ndarray:
    raw = files("camdrift.agent.sim").joinpath("data", name).read_bytes()
    img = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_GRAYSCALE if grayscale else cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"cannot decode packaged photo {name!r}")
    return img


def match_histograms(source: np.ndarray, reference: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Map each channel of ``source`` so its ``weight``-weighted histogram equals that of ``reference``.

    source, reference: (H, W, C) of the same shape; weight: (H, W) >= 0. Returns (H, W, C) float32.
    """
    w = weight.ravel().astype(np.float64)
    out = np.empty(source.shape, np.float32)
    for c in range(source.shape[2]):
        s, r = source[..., c].ravel(), reference[..., c].ravel()
        s_order, r_order = np.argsort(s, kind="stable"), np.argsort(r, kind="stable")
        s_cdf, r_cdf = np.cumsum(w[s_order]), np.cumsum(w[r_order])
        s_q = (s_cdf - 0.5 * w[s_order]) / s_cdf[-1]
        r_q = (r_cdf - 0.5 * w[r_order]) / r_cdf[-1]
        mapped = np.empty(s.size, np.float32)
        mapped[s_order] = np.interp(s_q, r_q, r[r_order].astype(np.float64))
        out[..., c] = mapped.reshape(source.shape[:2])
    return out


class Sprite(NamedTuple):
    premul: np.ndarray  # (h, w, 3) float32, colour x alpha
    keep: np.ndarray  # (h, w, 1) float32, (1 - alpha) x (1 - shadow): what remains of the belt below


def _tile(texture: np.ndarray, height: int, width: int, tile_px: int) -> np.ndarray:
    """Seamless mirror-tiling of a grey texture scaled to ``tile_px``, cut to (height, width) float32."""
    t = cv2.resize(texture, (tile_px, tile_px), interpolation=cv2.INTER_AREA).astype(np.float32)
    block = np.block([[t, t[:, ::-1]], [t[::-1], t[::-1, ::-1]]])
    reps = (height // block.shape[0] + 1, width // block.shape[1] + 1)
    return np.tile(block, reps)[:height, :width]


@lru_cache(maxsize=4)
def scene_canvas(canvas_h: int, canvas_w: int) -> tuple[np.ndarray, np.ndarray]:
    """Lamp fall-off and the unlit static background, both (canvas_h, canvas_w, 3) float32."""
    belt = _tile(_load_photo("belt.jpg", True), canvas_h, canvas_w, max(16, round(0.55 * canvas_h)))
    rail = _tile(_load_photo("rail.jpg", True), canvas_h, canvas_w, max(16, round(0.45 * canvas_h)))
    belt = 85.0 + 0.55 * (belt - belt.mean())  # dark rubber-like belt, grey (B, G, R) tint below
    rail = 150.0 + 0.6 * (rail - rail.mean())
    rows = np.arange(canvas_h, dtype=np.float32)[:, None] / canvas_h
    on_belt = (rows > 0.2) & (rows < 0.8)
    guide = (np.abs(rows - 0.2) < 0.025) | (np.abs(rows - 0.8) < 0.025)  # dark metal belt guides
    bgr = np.where(
        on_belt[..., None],
        belt[..., None] * np.float32([1.06, 1.0, 0.92]),
        rail[..., None] * [0.72, 0.9, 1.12],
    )
    bgr = np.where(guide[..., None], 38.0, bgr).astype(np.float32)
    yy, xx = np.mgrid[0:canvas_h, 0:canvas_w].astype(np.float32)
    r2 = ((xx - 0.45 * canvas_w) / canvas_w) ** 2 + ((yy - 0.4 * canvas_h) / canvas_h) ** 2
    lamp = (1.1 - 0.9 * r2).astype(np.float32)  # one lamp above, slightly left of and above the centre
    return np.repeat(lamp[..., None], 3, axis=2), bgr


def _cutout(name: str, height_px: int) -> tuple[np.ndarray, np.ndarray]:
    """A photograph scaled to ``height_px`` rows: (h, w, 3) float32 colour and (h, w) float32 soft alpha."""
    img = _load_photo(name, False)
    scale = height_px / img.shape[0]
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    img = cv2.resize(img, (max(1, round(img.shape[1] * scale)), height_px), interpolation=interp)
    h, w = img.shape[:2]
    cx, cy, ax, ay = _ELLIPSES[name]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rho = np.sqrt(((xx - cx * w) / (ax * w)) ** 2 + ((yy - cy * h) / (ay * h)) ** 2)
    alpha = np.clip((1.0 - rho) / 0.06, 0.0, 1.0)  # edge softened over 6 % of the radius
    return img.astype(np.float32), alpha.astype(np.float32)


def _pose(colour: np.ndarray, alpha: np.ndarray, angle_deg: float, height_px: int) -> Sprite:
    """Rotate a cut-out by ``angle_deg`` and add its soft shadow, on a padded tile."""
    pad = round(0.12 * height_px)
    colour = cv2.copyMakeBorder(colour, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    alpha = cv2.copyMakeBorder(alpha, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    h, w = alpha.shape
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    colour = cv2.warpAffine(colour, rot, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(alpha, rot, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    off = 0.04 * height_px  # light from the upper left throws the shadow down and right
    shadow = cv2.warpAffine(alpha, np.float32([[1, 0, off], [0, 1, off]]), (w, h), borderValue=0)
    shadow = cv2.GaussianBlur(shadow, (0, 0), 0.03 * height_px)
    keep = (1.0 - alpha) * (1.0 - 0.45 * shadow)
    return Sprite(np.ascontiguousarray(colour * alpha[..., None]), np.ascontiguousarray(keep[..., None]))


@lru_cache(maxsize=4)
def sprites(frame_h: int) -> dict[str, tuple[Sprite, ...]]:
    """Posed sprites of every product kind at every angle for a frame ``frame_h`` px high."""
    height_px = max(8, round(0.36 * frame_h))
    cup, cup_alpha = _cutout("cup.jpg", height_px)
    cat, cat_alpha = _cutout("cat.jpg", height_px)
    cat = match_histograms(cv2.resize(cat, cup.shape[1::-1]), cup, cup_alpha)
    helmet, helmet_alpha = _cutout("helmet.jpg", height_px)
    kinds = {"cup": (cup, cup_alpha), "variant": (cat, cup_alpha), "helmet": (helmet, helmet_alpha)}
    return {k: tuple(_pose(c, a, ang, height_px) for ang in ANGLES_DEG) for k, (c, a) in kinds.items()}
