"""Sharpness beyond noise and light: measured on a real photograph through the kernel, added sensor noise and a
brighter light raise the Laplacian variance as predicted, while new hard edges raise it beyond the prediction."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from camdrift.agent.drift.features import SCALARS
from camdrift.agent.drift.texture import edges_beyond_noise, predicted_sharpness
from camdrift.kernels import frame_stats

SI = {s: i for i, s in enumerate(SCALARS)}


def _belt() -> np.ndarray:
    """A real gravel photograph at 320x240, softened as a belt out of the depth of field, with sensor noise."""
    grey = cv2.resize(skdata.gravel(), (320, 240)).astype(np.float64)
    return cv2.GaussianBlur(grey, (0, 0), 1.2) * 0.6 + 40


def _measure(frame: np.ndarray, seed: int, noise_sd: float) -> tuple[float, float, float]:
    """(ln(1 + Laplacian variance), noise sd, mean luma) of ``frame`` with white noise of ``noise_sd`` DN8."""
    noisy = frame + np.random.default_rng(seed).normal(0.0, noise_sd, frame.shape)
    s = frame_stats(np.clip(noisy, 0, 255).round().astype(np.uint8), pixel_format="gray8")
    return float(np.log1p(s.sharpness)), s.noise_sigma, s.luma_mean


def test_noise_and_light_raise_the_sharpness_as_predicted() -> None:
    belt = _belt()
    ref_sharp, ref_noise, ref_luma = _measure(belt, 1, 2.0)
    for gain, noise_sd in ((1.0, 5.0), (1.15, 2.0), (1.15, 5.0)):
        sharp, noise, luma = _measure(belt * gain, 2, noise_sd)
        pred = predicted_sharpness(ref_sharp, ref_noise, noise, luma / ref_luma)
        assert sharp > ref_sharp + 0.05  # the change is real ...
        assert abs(np.expm1(sharp) / np.expm1(pred) - 1.0) < 0.05  # ... and explained within 5 %


def _window(ref: tuple[float, float, float], cur: tuple[float, float, float], sd: float):
    """z, rel and the reference means of a window whose sharpness null sd is ``sd`` (ln units)."""
    mean = np.ones(len(SCALARS))
    mean[[SI["sharpness"], SI["noise"], SI["brightness"]]] = ref
    rel = np.zeros(len(SCALARS))
    for name, r, c in zip(("sharpness", "noise", "brightness"), ref, cur, strict=True):
        rel[SI[name]] = c / r - 1.0
    z = rel * mean / 0.01
    z[SI["sharpness"]] = (cur[0] - ref[0]) / sd
    return z, rel, mean


def test_new_edges_are_what_noise_does_not_explain() -> None:
    belt = _belt()
    ref = _measure(belt, 1, 2.0)
    noisy = _measure(belt, 3, 5.0)
    printed = belt.copy()
    printed[60:180:6, 100:220] = 220.0  # a product with fine printed lines over a sixth of the view
    edged = _measure(printed, 3, 2.0)
    z_noise, rel_noise = edges_beyond_noise(*_window(ref, noisy, 0.01), SI)
    z_edges, rel_edges = edges_beyond_noise(*_window(ref, edged, 0.01), SI)
    assert abs(rel_noise) < 0.05 and rel_edges > 0.5
    assert z_edges > 10 * abs(z_noise)
    z_total = (edged[0] - ref[0]) / 0.01
    assert 0 < z_edges <= z_total


def test_a_sharpness_that_did_not_move_has_no_excess() -> None:
    mean = np.ones(len(SCALARS))
    assert edges_beyond_noise(np.zeros(len(SCALARS)), np.zeros(len(SCALARS)), mean, SI) == (0.0, 0.0)


def test_noise_alone_cannot_explain_less_than_nothing() -> None:
    """A reference whose noise term exceeds its whole Laplacian variance (noise estimate inflated by texture)
    keeps a scene part of zero, not a negative one."""
    assert predicted_sharpness(np.log1p(10.0), 5.0, 5.0, 1.0) == pytest.approx(np.log1p(500.0))
