"""The tone fit: gain and gamma told apart on the luma quantiles, its standard errors, and the colour ratios
a tone curve explains."""

from __future__ import annotations

import numpy as np
import pytest

from camdrift.agent.drift.features import SCALARS
from camdrift.agent.drift.statistics import WindowStats
from camdrift.agent.drift.tone import colour_beyond_tone, tone_fit, tone_fit_se

SI = {s: i for i, s in enumerate(SCALARS)}


def test_tone_fit_separates_gain_from_gamma() -> None:
    ref = np.array([30.0, 60.0, 100.0, 150.0, 200.0])
    a, b = tone_fit(ref, ref * 1.15)
    assert a == pytest.approx(np.log(1.15)) and b == pytest.approx(0.0, abs=1e-12)
    a, b = tone_fit(ref, 255 * (ref / 255) ** 1.25)
    assert a == pytest.approx(0.0, abs=1e-12) and b == pytest.approx(0.25)


def test_tone_fit_standard_errors_grow_with_the_quantiles_noise() -> None:
    ref = np.array([30.0, 60.0, 100.0, 150.0, 200.0])
    rel = np.full(5, 0.02)
    quiet = tone_fit_se(ref, rel, rel / 0.001)
    noisy = tone_fit_se(ref, rel, rel / 0.01)
    assert noisy[0] == pytest.approx(10 * quiet[0]) and noisy[1] == pytest.approx(10 * quiet[1])
    assert tone_fit_se(ref, rel, np.zeros(5)) == (np.inf, np.inf)  # no measured scale: no claim


def _ws(rel: dict[str, float], sd: float = 0.002) -> WindowStats:
    r = np.zeros(len(SCALARS))
    for k, v in rel.items():
        r[SI[k]] = v
    z = r / sd
    zero = np.zeros(4)
    return WindowStats(zero, zero, zero, z, r, np.zeros((2, 2)), np.zeros((2, 2)), (0.0, 0.0), 0.0, z, z)


def test_the_ratios_a_tone_curve_predicts_are_not_a_colour_cast() -> None:
    mean = np.ones(len(SCALARS))
    mean[SI["rg"]], mean[SI["bg"]] = 1.12, 0.85
    curve = {c: float(np.expm1(0.25 * np.log(mean[SI[c]]))) for c in ("rg", "bg")}  # +2.9 %, -4.0 %
    rg, bg = colour_beyond_tone(_ws(curve), SI, mean, 0.25)
    assert rg == pytest.approx(0.0, abs=1e-9) and bg == pytest.approx(0.0, abs=1e-9)
    # white balance on top of the curve is left over in full, in the same null sds
    cast = {"rg": (1 + curve["rg"]) * 1.08 - 1, "bg": (1 + curve["bg"]) * 0.92 - 1}
    rg, bg = colour_beyond_tone(_ws(cast), SI, mean, 0.25)
    assert rg == pytest.approx((cast["rg"] - curve["rg"]) / 0.002)
    assert bg == pytest.approx((cast["bg"] - curve["bg"]) / 0.002)
    # no tone curve: the ratios' own shifts
    assert colour_beyond_tone(_ws(cast), SI, mean, 0.0) == pytest.approx(
        (cast["rg"] / 0.002, cast["bg"] / 0.002)
    )
