"""The scenes of the synthetic corpus: which photographs make the belt, the rails, the products and the fixture.

Each scene is one typed record; ``ProductionLine(..., scene=SCENES[name])`` renders it at any size. The
photographs ship in ``camdrift/agent/sim/data`` (origin, role and licence of each in its README).

- ``cups`` (the default, the line every figure used to come from): gravel belt between brick rails, one coffee
  cup at a time.
- ``parts_mono``: a mono camera (grey frames) over a brick-textured metal belt between grass-fibre mats; round
  dials and pellets pass close together.
- ``mixed``: a high-variance product mix on a green fibre belt: cups, tall printed cartons and dark printed cards of
  different sizes and colours, drawn at random by their mix weights.
- ``static``: a mostly static view: a printed plate fixed above a narrow slow belt fills most of the frame;
  only small pellets move through the bottom of the view.

Units: pixel levels in DN (0..255), sizes as fractions of the frame height, speeds in frame widths per second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class Product(NamedTuple):
    """One product kind: a photograph cut out by ``outline`` and scaled to ``height`` of the frame height.

    ``outline``: "ellipse" (soft ellipse at ``ellipse`` = centre x, centre y, semi-axis x, semi-axis y as
    fractions of the photograph), "rect" (the whole photograph with rounded, softened corners) or "dark" (the
    dark pixels of a silhouette photograph, drawn as a flat part of level ``level`` DN). ``match``: name of a
    product whose colour histograms this one is matched to (a look-alike variant), or "".
    """

    photo: str
    height: float
    outline: str = "ellipse"
    ellipse: tuple[float, float, float, float] = (0.5, 0.52, 0.48, 0.47)
    level: float = 0.0
    match: str = ""


class Surface(NamedTuple):
    """A grey texture photograph mirror-tiled over a region: level + contrast x (texture - its mean), tinted.

    ``tile``: tile side as a fraction of the canvas height. ``tint``: (B, G, R) gains of the grey texture.
    """

    photo: str
    tile: float
    level: float
    contrast: float
    tint: tuple[float, float, float]


@dataclass(frozen=True)
class Scene:
    """A camera view of a line. ``products`` are drawn at random with ``mix`` weights (same order).

    ``foreign``: products the scene does not usually carry, by role: "new" (a different product) and, where the
    scene has one, "variant" (a look-alike with the usual product's colour histograms). ``mono``: a mono camera
    (every frame grey; white balance does not exist). ``belt_band``: (top, bottom) of the belt as fractions of
    the canvas height; ``lane``: (centre, sigma, clip) of a product's vertical centre, fractions of the canvas
    height. ``fixture``: a photograph fixed over ``fixture_box`` (x0, y0, x1, y1 fractions of the canvas), or "".
    ``belt_speed``: frame widths per second. ``spacing``: product pitch in frame widths, on top of the widest
    sprite. ``lamp``: (centre x, centre y, peak, fall-off) of the lamp factor ``peak - falloff * r^2``.
    ``read_noise``: sensor read noise sigma in DN; ``shot_noise``: variance per DN; ``flicker``: +-lamp wobble.
    """

    name: str
    description: str
    belt: Surface
    rail: Surface
    products: dict[str, Product]
    mix: tuple[float, ...]
    foreign: dict[str, Product]
    mono: bool = False
    belt_band: tuple[float, float] = (0.2, 0.8)
    guide_level: float = 38.0
    lane: tuple[float, float, float] = (0.5, 0.05, 0.1)
    fixture: str = ""
    fixture_box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    fixture_tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    belt_speed: float = 0.3
    spacing: float = 1.0
    lamp: tuple[float, float, float, float] = (0.45, 0.4, 1.1, 0.9)
    read_noise: float = 2.0
    shot_noise: float = 0.01
    flicker: float = 0.01

    def __post_init__(self) -> None:
        if len(self.mix) != len(self.products) or not all(w > 0 for w in self.mix):
            raise ValueError(f"scene {self.name!r}: one positive mix weight per product")
        if "new" not in self.foreign:
            raise ValueError(f"scene {self.name!r}: needs a 'new' foreign product")
        for p in (*self.products.values(), *self.foreign.values()):
            if p.outline not in ("ellipse", "rect", "dark"):
                raise ValueError(f"scene {self.name!r}: unknown outline {p.outline!r}")
        if not (self.belt_speed > 0 and self.spacing > 0):
            raise ValueError(f"scene {self.name!r}: belt_speed and spacing must be > 0")

    def __hash__(self) -> int:  # dict fields: hash by name, the scenes are module constants
        return hash(self.name)

    def kinds(self) -> tuple[str, ...]:
        """Every product name the scene can draw: its usual products, then its foreign roles."""
        return (*self.products, *self.foreign)

    def product(self, kind: str) -> Product:
        """The product drawn for ``kind`` (a usual product's name or a foreign role)."""
        return self.products[kind] if kind in self.products else self.foreign[kind]


_CUP = Product("cup.jpg", 0.36)
_HELMET = Product("helmet.jpg", 0.36, ellipse=(0.53, 0.58, 0.45, 0.55))
_DIAL = Product("dial.jpg", 0.3, ellipse=(0.5, 0.52, 0.36, 0.33))
_PELLET = Product("pellet.jpg", 0.16, ellipse=(0.5, 0.5, 0.4, 0.4))
_BRACKET = Product("bracket.jpg", 0.34, outline="dark", level=190.0)
_CARTON = Product("carton.jpg", 0.46, outline="rect")
_CARD = Product("card.jpg", 0.3, outline="rect")
_GRAVEL = Surface("belt.jpg", 0.55, 85.0, 0.55, (1.06, 1.0, 0.92))
_BRICK = Surface("rail.jpg", 0.45, 150.0, 0.6, (0.72, 0.9, 1.12))
_GREY = (1.0, 1.0, 1.0)

SCENES: dict[str, Scene] = {
    s.name: s
    for s in (
        Scene(
            "cups",
            "gravel belt between brick rails, one coffee cup at a time",
            belt=_GRAVEL,
            rail=_BRICK,
            products={"cup": _CUP},
            mix=(1.0,),
            foreign={
                "new": _HELMET,
                "helmet": _HELMET,
                "variant": Product("cat.jpg", 0.36, match="cup"),
            },
        ),
        Scene(
            "parts_mono",
            "mono camera: dials and pellets close together on a brick-textured metal belt",
            belt=Surface("rail.jpg", 0.3, 120.0, 0.45, _GREY),
            rail=Surface("mat.jpg", 0.5, 70.0, 0.7, _GREY),
            products={"dial": _DIAL, "pellet": _PELLET},
            mix=(0.7, 0.3),
            foreign={"new": _BRACKET},
            mono=True,
            belt_band=(0.15, 0.85),
            guide_level=210.0,
            lane=(0.5, 0.08, 0.18),
            belt_speed=0.4,
            spacing=0.35,
            lamp=(0.5, 0.5, 1.05, 0.7),
            read_noise=3.0,
            shot_noise=0.02,
        ),
        Scene(
            "mixed",
            "high-variance mix: cups, tall printed cartons and dark cards at random on a green fibre belt",
            belt=Surface("mat.jpg", 0.4, 75.0, 0.6, (0.8, 1.1, 0.85)),
            rail=Surface("belt.jpg", 0.5, 135.0, 0.5, (0.95, 1.0, 1.05)),
            products={"cup": _CUP, "carton": _CARTON, "card": _CARD},
            mix=(0.4, 0.35, 0.25),
            foreign={"new": _BRACKET},
            belt_band=(0.12, 0.88),
            lane=(0.5, 0.09, 0.16),
            belt_speed=0.35,
            spacing=0.45,
            lamp=(0.55, 0.35, 1.15, 1.0),
            read_noise=2.5,
        ),
        Scene(
            "static",
            "mostly static: a printed plate fixed above a narrow slow belt fills most of the view",
            belt=_GRAVEL,
            rail=Surface("mat.jpg", 0.6, 110.0, 0.4, (0.9, 1.0, 1.1)),
            products={"pellet": _PELLET},
            mix=(1.0,),
            foreign={"new": Product("dial.jpg", 0.16, ellipse=(0.5, 0.52, 0.36, 0.33))},
            belt_band=(0.76, 0.98),
            guide_level=60.0,
            lane=(0.87, 0.01, 0.02),
            fixture="plate.jpg",
            fixture_box=(0.04, 0.04, 0.96, 0.72),
            fixture_tint=(0.92, 1.0, 1.08),
            belt_speed=0.08,
            spacing=0.6,
            lamp=(0.5, 0.4, 1.08, 0.6),
            read_noise=1.8,
            flicker=0.006,
        ),
    )
}
DEFAULT_SCENE = SCENES["cups"]


def scene_named(name: str) -> Scene:
    """The scene called ``name``; ValueError naming the known scenes otherwise."""
    if name not in SCENES:
        raise ValueError(f"unknown scene {name!r}; known: {', '.join(SCENES)}")
    return SCENES[name]
