"""Synthetic scenarios as a source: deterministic in their seed, over any scene of the corpus."""

from __future__ import annotations

import numpy as np
import pytest

from camdrift.agent.frames import SourceEnded
from camdrift.agent.sources import open_source


def test_synthetic_source_is_deterministic_in_seed():
    def frames(uri):
        src = open_source(uri)
        src.open()
        out = [src.read(0.1) for _ in range(3)]
        with pytest.raises(SourceEnded):
            src.read(0.1)
        return out

    a = frames("synthetic:gain_step?seed=3&frames=3&size=96x64&fps=10")
    b = frames("synthetic:gain_step?seed=3&frames=3&size=96x64&fps=10")
    c = frames("synthetic:gain_step?seed=4&frames=3&size=96x64&fps=10")
    assert [f.stream_time for f in a] == pytest.approx([0.0, 0.1, 0.2])
    assert a[0].image.shape == (64, 96, 3)
    assert all(np.array_equal(x.image, y.image) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0].image, c[0].image)


def _read_all(uri):
    src = open_source(uri)
    src.open()
    frames = []
    try:
        while True:
            frames.append(src.read(0.1))
    except SourceEnded:
        return src, frames


def test_synthetic_source_renders_the_scene_it_names():
    src, mono = _read_all("synthetic:noise?scene=parts_mono&seed=2&frames=2&size=160x90&fps=30")
    assert "parts_mono" in src.describe()
    assert [f.stream_time for f in mono] == pytest.approx([0.0, 1 / 30])
    image = mono[0].image
    assert image.shape == (90, 160, 3) and np.array_equal(image[..., 0], image[..., 2])  # a mono camera
    _, cups = _read_all("synthetic:noise?seed=2&frames=2&size=160x90&fps=30")
    _, named = _read_all("synthetic:noise?scene=cups&seed=2&frames=2&size=160x90&fps=30")
    assert np.array_equal(cups[0].image, named[0].image)  # cups is the default scene
    assert not np.array_equal(cups[0].image, image)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        (
            "synthetic:gain_step?scene=boat",
            "scene must be one of cups, parts_mono, mixed, static, got 'boat'",
        ),
        ("synthetic:white_balance?scene=parts_mono", "mono camera: it has no white balance"),
        ("synthetic:new_variant_matched?scene=mixed", "has no 'variant' product"),
    ],
)
def test_bad_scene_requests_are_refused_in_one_line(uri, message):
    with pytest.raises(ValueError, match=message) as exc:
        open_source(uri)
    assert "\n" not in str(exc.value)
