"""The synthetic production line: determinism, natural variation, and each drift measured on rendered frames."""

from __future__ import annotations

import doctest
import subprocess
import sys

import cv2
import numpy as np
import pytest

import camdrift.agent.sim.line as synthetic_module
from camdrift.agent.sim.line import (
    HEALTHY,
    Drift,
    ProductionLine,
    gamma_lut,
    lamp_decay_gain,
    smudge_mask,
)

W, H = 320, 240


@pytest.fixture(scope="module")
def line() -> ProductionLine:
    return ProductionLine(seed=11)


def luma(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float64)


def rail_noise(line: ProductionLine, drift: Drift, pairs: int = 25) -> float:
    """Temporal noise sigma in DN, from frame pairs over the top rail, where no product ever passes."""
    sigmas = []
    for i in range(0, 2 * pairs, 2):
        d = (line.frame(i, drift).astype(np.float64) - line.frame(i + 1, drift))[: H // 8]
        d -= d.mean(axis=(0, 1))  # the two frames' flicker differs by a uniform gain
        sigmas.append(d.std() / np.sqrt(2))
    return float(np.median(sigmas))


def test_module_doctest() -> None:
    assert doctest.testmod(synthetic_module).failed == 0


def test_same_seed_and_index_give_identical_frames_in_any_order() -> None:
    a, b = ProductionLine(seed=5), ProductionLine(seed=5)
    indices = [0, 17, 25_000]
    first = {i: a.frame(i) for i in indices}
    for i in reversed(indices):
        np.testing.assert_array_equal(b.frame(i), first[i])
    drift = Drift(gain=1.1, defocus_sigma=1.0, smudge_fraction=0.1, foreign_fraction=0.5)
    np.testing.assert_array_equal(a.frame(3, drift), b.frame(3, drift))


def test_different_seeds_or_indices_give_different_frames() -> None:
    a, b = ProductionLine(seed=5), ProductionLine(seed=6)
    assert (a.frame(4) != b.frame(4)).mean() > 0.5  # at least the sensor noise differs
    assert (a.frame(4) != a.frame(5)).mean() > 0.5


@pytest.mark.parametrize("size", [(320, 240), (1280, 720)])
def test_frame_shape_and_dtype(size: tuple[int, int]) -> None:
    line = ProductionLine(seed=1, width=size[0], height=size[1])
    for drift in (HEALTHY, Drift(shift=(-0.06, 0.06), smudge_fraction=0.1, defocus_sigma=1.5, gamma=1.25)):
        frame = line.frame(9, drift)
        assert frame.shape == (size[1], size[0], 3)
        assert frame.dtype == np.uint8 and frame.flags.c_contiguous


def test_stationary_stream_varies_naturally_within_a_band(line: ProductionLine) -> None:
    frames = [line.frame(i) for i in range(200)]
    means = np.array([luma(f).mean() for f in frames])
    assert all((a != b).mean() > 0.5 for a, b in zip(frames, frames[1:], strict=False))
    assert 0.2 < means.std() < 3.0, means.std()  # flicker, products passing: a little, never nothing
    assert np.abs(means / np.median(means) - 1).max() < 0.05
    assert 60 < np.median(means) < 140  # mid-range exposure: gain steps do not saturate
    assert 1.5 < rail_noise(line, HEALTHY) < 3.5  # read noise 2 DN plus shot noise


@pytest.mark.parametrize("gain", [1.15, 0.85])
def test_gain_scales_mean_luma(line: ProductionLine, gain: float) -> None:
    ratios = [
        luma(line.frame(i, Drift(gain=gain))).mean() / luma(line.frame(i)).mean() for i in range(0, 60, 3)
    ]
    assert np.median(ratios) == pytest.approx(gain, abs=0.01)


def test_white_balance_moves_red_up_and_blue_down(line: ProductionLine) -> None:
    base = np.mean([line.frame(i).mean(axis=(0, 1)) for i in range(10)], axis=0)
    shifted = np.mean([line.frame(i, Drift(white_balance=0.08)).mean(axis=(0, 1)) for i in range(10)], axis=0)
    np.testing.assert_allclose(shifted / base, [0.92, 1.0, 1.08], atol=0.01)


def test_gamma_is_the_isp_curve_on_the_quantised_frame(line: ProductionLine) -> None:
    base, bent = line.frame(8), line.frame(8, Drift(gamma=1.25))
    naive = np.clip(np.rint(255.0 * (base / 255.0) ** 1.25), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(bent, naive)
    np.testing.assert_array_equal(gamma_lut(1.0), np.arange(256))
    assert luma(bent).mean() < 0.9 * luma(base).mean()


def test_defocus_kills_fine_detail_but_keeps_the_mean(line: ProductionLine) -> None:
    def sharpness(f: np.ndarray) -> float:
        return float(cv2.Laplacian(luma(f), cv2.CV_64F).var())

    for i in (0, 13):
        base, blurred = line.frame(i), line.frame(i, Drift(defocus_sigma=1.5))
        assert sharpness(blurred) < 0.25 * sharpness(base)
        assert luma(blurred).mean() == pytest.approx(luma(base).mean(), rel=0.005)


@pytest.mark.parametrize("size", [(320, 240), (1280, 720)])
def test_camera_shift_is_a_real_shift_of_the_scene(size: tuple[int, int]) -> None:
    w, h = size
    line = ProductionLine(seed=2, width=w, height=h)
    window = cv2.createHanningWindow((w, h), cv2.CV_64F)
    # Different frames: products moved and the noise is fresh, only the belt and rails stay put.
    (dx, dy), _ = cv2.phaseCorrelate(
        luma(line.frame(0)), luma(line.frame(7, Drift(shift=(0.03, 0.02)))), window
    )
    # The camera moved right and down, so the scene moves left and up in the image.
    assert dx == pytest.approx(-round(0.03 * w), abs=1.0)
    assert dy == pytest.approx(-round(0.02 * h), abs=1.0)
    (dx, dy), _ = cv2.phaseCorrelate(luma(line.frame(0)), luma(line.frame(7)), window)
    assert abs(dx) < 1 and abs(dy) < 1


def test_smudge_covers_the_requested_fraction_at_a_fixed_place(line: ProductionLine) -> None:
    mask = smudge_mask(H, W, 0.10)
    assert (mask >= 0.5).mean() == pytest.approx(0.10, abs=0.005)
    assert mask.min() == 0.0 and mask.max() == 1.0
    changed = []
    for i in (0, 21):
        diff = np.abs(luma(line.frame(i, Drift(smudge_fraction=0.10))) - luma(line.frame(i)))
        changed.append(diff > 8)
        assert 0.08 < changed[-1].mean() < 0.13
    assert (changed[0] == changed[1]).mean() > 0.98  # on the lens: the same place in every frame


def test_noise_factor_multiplies_the_measured_noise(line: ProductionLine) -> None:
    ratio = rail_noise(line, Drift(noise_factor=2.5)) / rail_noise(line, HEALTHY)
    assert ratio == pytest.approx(2.5, abs=0.15)


@pytest.mark.parametrize("foreign", ["helmet", "variant"])
def test_new_product_appears_in_a_third_of_frames(line: ProductionLine, foreign: str) -> None:
    drift = Drift(foreign_fraction=1 / 3, foreign=foreign)
    shown = [(line.frame(i, drift) != line.frame(i)).any() for i in range(600)]
    assert np.mean(shown) == pytest.approx(1 / 3, abs=0.07)


def test_matched_variant_holds_pixel_statistics_while_the_object_differs(line: ProductionLine) -> None:
    usual = [line.frame(i) for i in range(0, 240, 3)]
    variant = [line.frame(i, Drift(foreign_fraction=1.0, foreign="variant")) for i in range(0, 240, 3)]
    masks = [(u != v).any(axis=2) for u, v in zip(usual, variant, strict=True)]
    assert np.mean([m.any() for m in masks]) > 0.7

    def product_stats(frames: list[np.ndarray]) -> tuple[float, float, np.ndarray]:
        y = np.concatenate([luma(f)[m] for f, m in zip(frames, masks, strict=True)])
        bgr = np.concatenate([f[m] for f, m in zip(frames, masks, strict=True)]).astype(np.float64)
        return y.mean(), y.std(), bgr.mean(axis=0)

    (m0, s0, c0), (m1, s1, c1) = product_stats(usual), product_stats(variant)
    assert m1 == pytest.approx(m0, rel=0.03) and s1 == pytest.approx(s0, rel=0.06)
    np.testing.assert_allclose(c1, c0, rtol=0.03)
    frame_means = [luma(f).mean() for f in usual], [luma(f).mean() for f in variant]
    np.testing.assert_allclose(frame_means[1], frame_means[0], rtol=0.01)
    # ...while the object itself is another one: large per-pixel differences where it lies.
    diffs = [
        np.abs(luma(u) - luma(v))[m].mean() for u, v, m in zip(usual, variant, masks, strict=True) if m.any()
    ]
    assert np.median(diffs) > 25


def test_new_product_changes_pixel_statistics(line: ProductionLine) -> None:
    usual = [line.frame(i) for i in range(0, 120, 3)]
    helmet = [line.frame(i, Drift(foreign_fraction=1.0)) for i in range(0, 120, 3)]
    masks = [(u != v).any(axis=2) for u, v in zip(usual, helmet, strict=True)]
    y0 = np.concatenate([luma(f)[m] for f, m in zip(usual, masks, strict=True)])
    y1 = np.concatenate([luma(f)[m] for f, m in zip(helmet, masks, strict=True)])
    assert abs(y1.mean() - y0.mean()) > 10


def test_lamp_decay_gain_is_linear_over_seven_days() -> None:
    week = 7 * 86400.0
    assert lamp_decay_gain(-5.0) == 1.0
    assert lamp_decay_gain(week / 2) == pytest.approx(0.9)
    assert lamp_decay_gain(week) == pytest.approx(0.8)
    assert lamp_decay_gain(3 * week) == pytest.approx(0.8)
    assert lamp_decay_gain(100.0 + week, onset_s=100.0, loss=0.5) == pytest.approx(0.5)


def test_rendering_does_not_need_skimage() -> None:
    code = (
        "import sys; import camdrift.agent.sim.line as s; s.ProductionLine().frame(0); "
        "sys.exit(any(m == 'skimage' or m.startswith('skimage.') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


def test_a_foreign_product_the_scene_has_not_got_is_refused(line: ProductionLine) -> None:
    with pytest.raises(ValueError, match="no foreign product 'boat' \\(known: new, helmet, variant\\)"):
        line.frame(0, Drift(foreign_fraction=0.5, foreign="boat"))
    line.frame(0, Drift(foreign="boat"))  # no product replaced: nothing to refuse


def test_bad_line_arguments_are_refused(line: ProductionLine) -> None:
    with pytest.raises(ValueError, match="frame size"):
        ProductionLine(width=10)
    with pytest.raises(ValueError, match="fps"):
        ProductionLine(fps=0)
    with pytest.raises(ValueError, match="frame index"):
        line.frame(-1)
