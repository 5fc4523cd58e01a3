"""Scene assets of the synthetic production line, built once per scene and frame size from packaged photographs.

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

from camdrift.agent.sim.scenes import DEFAULT_SCENE, Product, Scene, Surface

ANGLES_DEG = (-8.0, -4.0, 0.0, 4.0, 8.0)


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
    premul: np.ndarray  # (h, w, 3) float32 colour x alpha; (h, w) for a mono scene
    keep: np.ndarray  # like premul: (1 - alpha) x (1 - shadow), what remains of the belt below


def _tile(texture: np.ndarray, height: int, width: int, tile_px: int) -> np.ndarray:
    """Seamless mirror-tiling of a grey texture scaled to ``tile_px``, cut to (height, width) float32."""
    t = cv2.resize(texture, (tile_px, tile_px), interpolation=cv2.INTER_AREA).astype(np.float32)
    block = np.block([[t, t[:, ::-1]], [t[::-1], t[::-1, ::-1]]])
    reps = (height // block.shape[0] + 1, width // block.shape[1] + 1)
    return np.tile(block, reps)[:height, :width]


def _surface(surface: Surface, canvas_h: int, canvas_w: int) -> np.ndarray:
    """(canvas_h, canvas_w) float32 grey texture: level + contrast x (tiled photo - its mean)."""
    tex = _tile(_load_photo(surface.photo, True), canvas_h, canvas_w, max(16, round(surface.tile * canvas_h)))
    return surface.level + surface.contrast * (tex - tex.mean())


@lru_cache(maxsize=8)
def scene_canvas(canvas_h: int, canvas_w: int, scene: Scene = DEFAULT_SCENE) -> tuple[np.ndarray, np.ndarray]:
    """Lamp fall-off and the unlit static background of ``scene``, both (canvas_h, canvas_w, 3) float32.

    Mono scenes: both (canvas_h, canvas_w) float32.
    """
    belt = _surface(scene.belt, canvas_h, canvas_w)
    rail = _surface(scene.rail, canvas_h, canvas_w)
    top, bottom = scene.belt_band
    rows = np.arange(canvas_h, dtype=np.float32)[:, None] / canvas_h
    on_belt = (rows > top) & (rows < bottom)
    guide = (np.abs(rows - top) < 0.025) | (np.abs(rows - bottom) < 0.025)  # metal belt guides
    # The belt tint multiplies in float32 and the rail tint in float64, as the cups scene was first written:
    # the default scene keeps rendering byte-identically.
    bgr = np.where(
        on_belt[..., None],
        belt[..., None] * np.float32(scene.belt.tint),
        rail[..., None] * list(scene.rail.tint),
    )
    bgr = np.where(guide[..., None], scene.guide_level, bgr).astype(np.float32)
    if scene.fixture:
        _paste_fixture(bgr, scene)
    yy, xx = np.mgrid[0:canvas_h, 0:canvas_w].astype(np.float32)
    cx, cy, peak, falloff = scene.lamp
    r2 = ((xx - cx * canvas_w) / canvas_w) ** 2 + ((yy - cy * canvas_h) / canvas_h) ** 2
    lamp = (peak - falloff * r2).astype(np.float32)  # one lamp above the line
    if scene.mono:
        return lamp, np.ascontiguousarray(bgr[..., 1])
    return np.repeat(lamp[..., None], 3, axis=2), bgr


def _paste_fixture(bgr: np.ndarray, scene: Scene) -> None:
    """Paint the scene's fixed part (a grey photograph, tinted) over its box of the canvas, in place."""
    h, w = bgr.shape[:2]
    x0, y0, x1, y1 = scene.fixture_box
    box = np.s_[round(y0 * h) : round(y1 * h), round(x0 * w) : round(x1 * w)]
    bh, bw = bgr[box].shape[:2]
    photo = cv2.resize(_load_photo(scene.fixture, True), (bw, bh), interpolation=cv2.INTER_AREA)
    bgr[box] = (0.15 * 255 + 0.75 * photo.astype(np.float32))[..., None] * np.float32(scene.fixture_tint)


def _alpha(product: Product, grey: np.ndarray) -> np.ndarray:
    """(h, w) float32 soft alpha of a product photograph by its outline."""
    h, w = grey.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if product.outline == "dark":  # a silhouette: dark pixels are the part
        return np.clip((160.0 - grey.astype(np.float32)) / 60.0, 0.0, 1.0)
    if product.outline == "rect":  # rounded corners, edges softened over 6 % of the shorter side
        r = 0.12 * min(h, w)
        dx = np.maximum(np.abs(xx - (w - 1) / 2) - ((w - 1) / 2 - r), 0.0)
        dy = np.maximum(np.abs(yy - (h - 1) / 2) - ((h - 1) / 2 - r), 0.0)
        return np.clip((r - np.sqrt(dx * dx + dy * dy)) / (0.06 * min(h, w)), 0.0, 1.0).astype(np.float32)
    cx, cy, ax, ay = product.ellipse
    rho = np.sqrt(((xx - cx * w) / (ax * w)) ** 2 + ((yy - cy * h) / (ay * h)) ** 2)
    return np.clip((1.0 - rho) / 0.06, 0.0, 1.0).astype(np.float32)  # edge softened over 6 % of the radius


def _cutout(product: Product, height_px: int) -> tuple[np.ndarray, np.ndarray]:
    """A product photograph scaled to ``height_px`` rows: (h, w, 3) float32 colour and (h, w) float32 alpha."""
    img = _load_photo(product.photo, False)
    scale = height_px / img.shape[0]
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    img = cv2.resize(img, (max(1, round(img.shape[1] * scale)), height_px), interpolation=interp)
    alpha = _alpha(product, cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
    if product.outline == "dark":  # a flat part of one level: the photograph gives its outline only
        return np.full(img.shape, product.level, np.float32), alpha
    return img.astype(np.float32), alpha


def _pose(colour: np.ndarray, alpha: np.ndarray, angle_deg: float, height_px: int) -> Sprite:
    """Rotate a cut-out by ``angle_deg`` and add its soft shadow, on a padded tile (colour 3 or 1 channel)."""
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
    if colour.ndim == 2:
        return Sprite(np.ascontiguousarray(colour * alpha), np.ascontiguousarray(keep))
    # keep as wide as the colour: OpenCV then composites 20x faster than NumPy broadcasting a (h, w, 1) array.
    premul = np.ascontiguousarray(colour * alpha[..., None])
    return Sprite(premul, np.ascontiguousarray(np.repeat(keep[..., None], 3, axis=2)))


@lru_cache(maxsize=16)
def sprites(frame_h: int, scene: Scene = DEFAULT_SCENE) -> dict[str, tuple[Sprite, ...]]:
    """Posed sprites of every product kind of ``scene`` (usual and foreign) at every angle, frame ``frame_h`` high."""
    cut: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
    for kind in scene.kinds():
        product = scene.product(kind)
        height_px = max(8, round(product.height * frame_h))
        colour, alpha = _cutout(product, height_px)
        if product.match:  # a look-alike: the usual product's outline and colour histograms
            ref, ref_alpha, _ = cut[product.match]
            colour, alpha = match_histograms(cv2.resize(colour, ref.shape[1::-1]), ref, ref_alpha), ref_alpha
        cut[kind] = (colour, alpha, height_px)
    posed = {}
    for kind, (colour, alpha, height_px) in cut.items():
        if scene.mono:
            colour = cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY)
        posed[kind] = tuple(_pose(colour, alpha, ang, height_px) for ang in ANGLES_DEG)
    return posed
