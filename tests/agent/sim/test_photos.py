"""The packaged photographs of the synthetic line: they decode to the documented shapes, are the documented
crops, and the scene assets built from them have the documented shapes."""

from __future__ import annotations

from importlib.resources import files

import cv2
import numpy as np
import pytest

from camdrift.agent.sim.photos import ANGLES_DEG, load_photo, match_histograms, scene_canvas, sprites
from camdrift.agent.sim.scenes import SCENES

# (rows, columns) of each file, as its README's recipe makes them.
SIZES = {
    "belt.jpg": (384, 384),
    "rail.jpg": (384, 384),
    "cup.jpg": (199, 256),
    "cat.jpg": (199, 256),
    "helmet.jpg": (168, 224),
    "mat.jpg": (384, 384),
    "dial.jpg": (144, 160),
    "pellet.jpg": (96, 96),
    "bracket.jpg": (164, 200),
    "carton.jpg": (216, 96),
    "card.jpg": (160, 160),
    "plate.jpg": (172, 448),
}


@pytest.mark.parametrize("name", sorted(SIZES))
def test_packaged_photos_decode_to_the_documented_shapes(name: str) -> None:
    colour = load_photo(name)
    gray = load_photo(name, grayscale=True)
    assert colour.shape == (*SIZES[name], 3) and colour.dtype == np.uint8
    assert gray.shape == SIZES[name] and gray.dtype == np.uint8
    colour[:] = 0  # a copy: the cached decode is untouched
    assert load_photo(name).any()


def test_an_unknown_photo_is_refused() -> None:
    with pytest.raises(FileNotFoundError):
        load_photo("boat.jpg")


def test_match_histograms_reproduces_the_reference_distribution() -> None:
    rng = np.random.default_rng(0)
    ref = load_photo("cup.jpg").astype(np.float32)
    src = load_photo("cat.jpg").astype(np.float32)
    out = match_histograms(src, ref, np.ones(ref.shape[:2]))
    for c in range(3):  # equal weights: exactly the reference values, in the source's rank order
        np.testing.assert_allclose(np.sort(out[..., c].ravel()), np.sort(ref[..., c].ravel()), atol=1e-3)
    w = rng.uniform(0.0, 1.0, ref.shape[:2])
    weighted = match_histograms(src, ref, w)
    np.testing.assert_allclose(
        np.average(weighted, axis=(0, 1), weights=w), np.average(ref, (0, 1), w), rtol=0.01
    )


def test_packaged_photos_are_small_documented_crops_of_the_skimage_photos() -> None:
    skimage_data = pytest.importorskip("skimage.data")
    folder = files("camdrift.agent.sim").joinpath("data")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".jpg"))
    assert names == sorted(SIZES)
    assert sum(len(folder.joinpath(n).read_bytes()) for n in names) < 400_000
    readme = folder.joinpath("README.md").read_text()
    assert all(f"| `{n}` |" in readme for n in names)  # each has its row: origin, role, licence
    # Each is its photograph, cropped and resized as the README's recipe says (decoded JPEG within a few DN).
    area = cv2.INTER_AREA

    def close(name: str, original: np.ndarray, box: tuple[slice, slice], size: tuple[int, int]) -> bool:
        expected = cv2.resize(original[box], size, interpolation=area).astype(np.float64)
        return np.abs(load_photo(name, grayscale=original.ndim == 2) - expected).mean() < 4.0

    def bgr(rgb: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)

    assert close("cup.jpg", bgr(skimage_data.coffee()), np.s_[60:390, 65:490], (256, 199))
    assert close("carton.jpg", bgr(skimage_data.rocket()), np.s_[40:400, 260:420], (96, 216))
    assert close("mat.jpg", skimage_data.grass(), np.s_[:, :], (384, 384))
    assert close("pellet.jpg", skimage_data.cell(), np.s_[316:438, 373:495], (96, 96))


def test_scene_assets_have_the_documented_shapes() -> None:
    lamp, background = scene_canvas(60, 80)
    assert lamp.shape == background.shape == (60, 80, 3)
    assert lamp.dtype == background.dtype == np.float32
    assert 0.0 < lamp.min() and lamp.max() <= 1.1  # one lamp: gain below 1.1 everywhere
    assert 0.0 <= background.min() and background.max() <= 255.0
    posed = sprites(120)
    assert sorted(posed) == ["cup", "helmet", "new", "variant"]
    for kind, poses in posed.items():
        assert len(poses) == len(ANGLES_DEG), kind
        for sprite in poses:
            h, w = sprite.keep.shape[:2]
            assert sprite.premul.shape == sprite.keep.shape == (h, w, 3)
            assert sprite.premul.dtype == sprite.keep.dtype == np.float32
            assert 0.0 <= sprite.keep.min() and sprite.keep.max() <= 1.0


@pytest.mark.parametrize("name", list(SCENES))
def test_every_scene_builds_its_assets(name: str) -> None:
    scene = SCENES[name]
    lamp, background = scene_canvas(90, 160, scene)
    channels = () if scene.mono else (3,)
    assert lamp.shape == background.shape == (90, 160, *channels)
    assert 0.0 < lamp.min() and 0.0 <= background.min() and background.max() <= 255.0
    posed = sprites(90, scene)
    assert list(posed) == list(scene.kinds())
    for kind, poses in posed.items():
        product = scene.product(kind)
        for sprite in poses:
            assert sprite.premul.shape == sprite.keep.shape and sprite.keep.shape[2:] == channels
            alpha = 1.0 - sprite.keep  # the product is opaque somewhere
            assert alpha.max() > 0.9, kind
        assert poses[2].keep.shape[0] >= round(product.height * 90)  # sized to the frame


def test_a_silhouette_part_is_drawn_flat_at_its_level() -> None:
    scene = SCENES["parts_mono"]
    sprite = sprites(200, scene)["new"][2]  # the unrotated pose
    opaque = sprite.keep < 0.01
    level = scene.foreign["new"].level
    np.testing.assert_allclose(sprite.premul[opaque], level, rtol=0.02)
