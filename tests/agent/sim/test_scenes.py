"""The scenes of the corpus: each renders at the corpus sizes, deterministically, from its own photographs, and
looks like what its name says (a mono camera, a high-variance mix, a mostly static view); the default scene
renders byte-identically to the line every earlier figure came from."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pytest

from camdrift.agent.sim.line import Drift, ProductionLine
from camdrift.agent.sim.photos import load_photo
from camdrift.agent.sim.scenarios import scenario_stream
from camdrift.agent.sim.scenes import DEFAULT_SCENE, SCENES, Product, Scene, Surface, scene_named

# sha256 of frames rendered BEFORE scenes existed (cv2 5.1.0, numpy 2.4.6): the default scene must not move.
# Keys: (width, height), seed, drift, frame index.
_LEGACY_DRIFTS = {
    "healthy": Drift(),
    "wb": Drift(white_balance=0.08, noise_factor=2.5),
    "mix": Drift(shift=(-0.06, 0.06), smudge_fraction=0.1, defocus_sigma=1.5, gamma=1.25),
    "foreign": Drift(foreign_fraction=1 / 3),
    "variant": Drift(foreign_fraction=0.5, foreign="variant"),
}
LEGACY_FRAMES = {
    ((320, 240), 7, "healthy", 0): "0e1122db2ac89664adf3e33d120c7ebc542f38d2b682b2279eb618287cafc836",
    ((320, 240), 0, "wb", 20000): "2272e26c2d20c3401a5cdc65f2a4fc2bc7a9e3837ae2eb4a2a7c3c6e958b245b",
    ((640, 360), 0, "mix", 3): "49c6675241c0deeaabb40ed1a9ee4e3f5c32a28e55f0044287c2f7b9b9f3e433",
    ((1280, 720), 7, "foreign", 17): "be937701674b546f8640d99423779b384fb4d12718c3681eac3ec0385d7620b8",
    ((640, 360), 7, "variant", 17): "b9bc64a09eac4be919ad5bf4bf8900c4c5a1224e9b7f72cf6a15f7ec3d954f8d",
}
LEGACY_STREAMS = {  # 12 frames, seed 3, onset at frame 4, hashing the images and (index, time)
    "camera_shift": "f3bf8f2ebc6ab0e3b12f18abc56a3bc504b4a53b519251d37996341fa3137a7f",
    "new_variant_matched": "3292ad1cba452584748fc82ba6e0cdac764f18093d053d181c53a09c55ca5124",
    "demo": "3dfd6feca4e8cd7bc0ac4124ec544a113008e6ddfc19654ef7a355456461c243",
    "lamp_decay": "ebe6b2c8965d5c0f3c5f3a4e0a40d0e30df3f65e5edbb046931c596a0e47030d",
}
_SAME_LIBRARIES = (cv2.__version__, np.__version__) == ("5.1.0", "2.4.6")
legacy_libraries = pytest.mark.skipif(
    not _SAME_LIBRARIES, reason="legacy hashes were taken with OpenCV 5.1.0 and NumPy 2.4.6"
)
SIZES = [(640, 360), (1280, 720)]


def _noise_free(scene: Scene, size: tuple[int, int] = (320, 180), fps: float = 5.0) -> ProductionLine:
    return ProductionLine(
        seed=2, width=size[0], height=size[1], fps=fps, read_noise=0, shot_noise=0, flicker=0, scene=scene
    )


@legacy_libraries
@pytest.mark.parametrize("key", sorted(LEGACY_FRAMES))
def test_default_scene_renders_the_legacy_frames_byte_for_byte(key: tuple) -> None:
    (width, height), seed, drift, index = key
    for scene in ({}, {"scene": DEFAULT_SCENE}, {"scene": SCENES["cups"]}):
        frame = ProductionLine(seed=seed, width=width, height=height, **scene).frame(
            index, _LEGACY_DRIFTS[drift]
        )
        assert hashlib.sha256(frame.tobytes()).hexdigest() == LEGACY_FRAMES[key]


@legacy_libraries
@pytest.mark.parametrize("name", sorted(LEGACY_STREAMS))
def test_default_scene_renders_the_legacy_streams_byte_for_byte(name: str) -> None:
    digest = hashlib.sha256()
    for f in scenario_stream(name, 12, seed=3, onset_frame=4):
        digest.update(f.image.tobytes())
        digest.update(repr((f.index, f.t)).encode())
    assert digest.hexdigest() == LEGACY_STREAMS[name]


def test_there_are_four_scenes_from_different_photographs() -> None:
    assert {"cups", "parts_mono", "mixed", "static"} <= set(SCENES) and DEFAULT_SCENE is SCENES["cups"]
    products, settings, every = {}, {}, set()
    for name, scene in SCENES.items():
        assert scene.name == name and scene_named(name) is scene
        products[name] = frozenset(scene.product(k).photo for k in scene.products)
        settings[name] = (scene.belt.photo, scene.rail.photo, scene.fixture)
        every |= products[name] | {scene.belt.photo, scene.rail.photo, scene.fixture} - {""}
        every |= {scene.product(k).photo for k in scene.foreign}
    assert len(set(products.values())) == len(SCENES)  # each scene carries its own products
    assert len(set(settings.values())) == len(SCENES)  # on its own belt, rails and fixture
    assert len(every) >= 10 and all(load_photo(p).size > 0 for p in every)


@pytest.mark.parametrize("name", list(SCENES))
@pytest.mark.parametrize("size", SIZES)
def test_every_scene_renders_at_the_corpus_sizes_deterministically(name: str, size: tuple[int, int]) -> None:
    a = ProductionLine(seed=5, width=size[0], height=size[1], fps=30.0, scene=SCENES[name])
    b = ProductionLine(seed=5, width=size[0], height=size[1], fps=30.0, scene=SCENES[name])
    first = {i: a.frame(i) for i in (0, 29, 25_000)}
    for i in (25_000, 0, 29):  # any order, a fresh instance: the same bytes
        np.testing.assert_array_equal(b.frame(i), first[i])
    frame = first[29]
    assert frame.shape == (size[1], size[0], 3) and frame.dtype == np.uint8 and frame.flags.c_contiguous
    assert 40 < frame.mean() < 170  # mid-range exposure: a +15 % gain does not saturate
    other = ProductionLine(seed=6, width=size[0], height=size[1], fps=30.0, scene=SCENES[name])
    assert (other.frame(29) != frame).mean() > 0.5  # another seed: at least the sensor noise differs


def test_scenes_look_different_from_each_other() -> None:
    means = {n: _noise_free(s).frame(3).reshape(-1, 3).mean(axis=0) for n, s in SCENES.items()}
    names = list(means)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert np.abs(means[a] - means[b]).max() > 5.0, (a, b)


@pytest.mark.parametrize(
    "drift", [Drift(), Drift(gain=1.15, gamma=1.25, noise_factor=2.5, smudge_fraction=0.1)]
)
def test_mono_scene_frames_are_grey(drift: Drift) -> None:
    line = ProductionLine(seed=1, width=320, height=180, scene=SCENES["parts_mono"])
    for i in (0, 7, 40):
        frame = line.frame(i, drift)
        assert np.array_equal(frame[..., 0], frame[..., 1]) and np.array_equal(frame[..., 1], frame[..., 2])
        assert frame[..., 0].std() > 10  # grey, not blank
    colour = ProductionLine(seed=1, width=320, height=180, scene=SCENES["mixed"]).frame(0)
    assert np.abs(colour[..., 2].astype(int) - colour[..., 0]).mean() > 5  # the colour scenes are not


def test_mixed_scene_carries_three_products_by_their_weights() -> None:
    scene = SCENES["mixed"]
    line = _noise_free(scene)
    kinds = np.array([line._product(k).kind for k in range(3000)])
    shares = np.bincount(kinds, minlength=len(scene.products)) / kinds.size
    np.testing.assert_allclose(shares, np.array(scene.mix) / sum(scene.mix), atol=0.03)
    heights = {scene.products[k].height for k in scene.products}
    assert len(scene.products) >= 3 and len(heights) == len(scene.products)  # different sizes
    # The mix shows in the pixels: frame-to-frame content varies far more than on the one-product line.
    spread = {
        n: np.std(
            [_noise_free(SCENES[n]).frame(i).reshape(-1, 3).mean(axis=0) for i in range(0, 200, 4)], axis=0
        )
        for n in ("mixed", "cups")
    }
    assert spread["mixed"].max() > 1.5 * spread["cups"].max()


def test_static_scene_barely_moves() -> None:
    moving = {}
    for name in ("static", "cups"):
        line = _noise_free(SCENES[name])
        moving[name] = np.mean(
            [(np.abs(line.frame(i).astype(int) - line.frame(i + 5)) > 8).mean() for i in range(0, 60, 6)]
        )
    assert moving["static"] < 0.08 < moving["cups"]  # one second apart: a few % of the view changes


@pytest.mark.parametrize("name", list(SCENES))
def test_a_faster_source_moves_products_less_per_frame(name: str) -> None:
    slow = _noise_free(SCENES[name], fps=10.0)
    fast = _noise_free(SCENES[name], fps=30.0)
    for i in (3, 40):  # the same stream time renders the same scene, whatever the source rate
        np.testing.assert_array_equal(fast.frame(3 * i), slow.frame(i))
    assert fast.time(30) == pytest.approx(1.0)


def test_bad_scene_definitions_and_names_are_refused() -> None:
    grey = Surface("belt.jpg", 0.5, 100.0, 0.5, (1.0, 1.0, 1.0))
    new = {"new": Product("cup.jpg", 0.3)}
    with pytest.raises(ValueError, match="mix weight"):
        Scene("x", "", grey, grey, {"cup": Product("cup.jpg", 0.3)}, (1.0, 2.0), new)
    with pytest.raises(ValueError, match="'new' foreign"):
        Scene("x", "", grey, grey, {"cup": Product("cup.jpg", 0.3)}, (1.0,), {})
    with pytest.raises(ValueError, match="outline"):
        Scene("x", "", grey, grey, {"cup": Product("cup.jpg", 0.3, outline="star")}, (1.0,), new)
    with pytest.raises(ValueError, match="known: cups, parts_mono"):
        scene_named("boat")
    with pytest.raises(ValueError, match="scene must be a Scene or one of cups"):
        ProductionLine(scene=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown scene 'boat'"):
        ProductionLine(scene="boat")
    assert ProductionLine(scene="static").scene is SCENES["static"]
