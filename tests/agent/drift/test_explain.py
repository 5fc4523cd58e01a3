"""Cause ranking: each signature in the statistics puts its cause first, with the numbers in the words."""

from __future__ import annotations

import numpy as np
import pytest

from camdrift.agent.drift.decision import Cause
from camdrift.agent.drift.explain import explain, explain_slow, likely_cause
from camdrift.agent.drift.features import SCALARS
from camdrift.agent.drift.statistics import WindowStats
from tests.agent.drift_fixtures import small_baseline

SI = {s: i for i, s in enumerate(SCALARS)}
QS = ["luma_p10", "luma_p25", "luma_p50", "luma_p75", "luma_p90"]


def _ws(
    rel: dict[str, float] | None = None, *, psi: float = 0.0, shift=(0.0, 0.0), grid_s=None, grid_l=None
) -> WindowStats:
    """Window statistics for relative scalar changes ``rel``; z = rel / 0.002 (a window-mean sd of 0.2 %)."""
    b = small_baseline()
    r = np.zeros(len(SCALARS))
    for k, v in (rel or {}).items():
        r[SI[k]] = v
    z = r / 0.002
    gs = np.zeros(b.grid_luma.shape) if grid_s is None else grid_s
    gl = np.zeros(b.grid_luma.shape) if grid_l is None else grid_l
    d = float(np.hypot(*shift))
    p = np.full(4, psi)
    scores = np.concatenate([p, np.abs(z), [np.abs(gs).max(), d]])
    return WindowStats(p, p, p, z, r, gs, gl, shift, 0.5, scores, scores**2)


def _rank(ws: WindowStats) -> tuple:
    b = small_baseline()
    return explain(
        ws,
        names=b.thresholds.names,
        drift=b.thresholds.drift,
        scalar_names=SCALARS,
        scalar_mean=b.scalar_mean,
    )


def _tones(factor) -> dict[str, float]:
    ref = small_baseline().scalar_mean
    return {q: factor(ref[SI[q]]) / ref[SI[q]] - 1.0 for q in QS}


def test_lighting() -> None:
    rel = {"brightness": 0.15, **_tones(lambda v: 1.15 * v)}
    causes = _rank(_ws(rel, psi=1.0, grid_l=np.full((4, 4), 30.0)))
    assert causes[0].code == "lighting"
    assert causes[0].text == "mean luma +15% since baseline, uniform across the frame: lighting"


def test_gamma() -> None:
    rel = {"brightness": -0.2, **_tones(lambda v: 255 * (v / 255) ** 1.25)}
    causes = _rank(_ws(rel, psi=1.0, grid_l=np.full((4, 4), -30.0)))
    assert causes[0].code == "gamma"
    assert "x1.25" in causes[0].text


def test_gamma_on_a_warm_scene_moves_the_colour_ratios_as_the_curve_predicts_and_is_still_gamma() -> None:
    ref = small_baseline().scalar_mean
    rel = {"brightness": -0.2, **_tones(lambda v: 255 * (v / 255) ** 1.25)}
    # the ratios a 1.25 curve gives on a scene whose R/G and B/G sit away from 1 (warm light)
    ratios = {"rg": 1.12, "bg": 0.85}
    rel |= {c: float(np.expm1(0.25 * np.log(v))) for c, v in ratios.items()}
    b = small_baseline()
    mean = ref.copy()
    mean[SI["rg"]], mean[SI["bg"]] = ratios["rg"], ratios["bg"]
    causes = explain(
        _ws(rel, psi=1.0, grid_l=np.full((4, 4), -30.0)),
        names=b.thresholds.names,
        drift=b.thresholds.drift,
        scalar_names=SCALARS,
        scalar_mean=mean,
    )
    assert causes[0].code == "gamma", causes[:3]
    assert next(c for c in causes if c.code == "white_balance").score < 0.1 * causes[0].score


def test_white_balance() -> None:
    causes = _rank(_ws({"rg": 0.09, "bg": -0.07, "brightness": 0.01}, psi=0.5))
    assert causes[0].code == "white_balance"
    assert causes[0].text == "R/G +9%, B/G -7%: warmer light / white balance"


def test_defocus_is_uniform_smudge_is_local() -> None:
    defocus = _rank(_ws({"sharpness": -0.1}, grid_s=np.full((4, 4), -40.0)))
    assert defocus[0].code == "defocus"
    gs = np.zeros((4, 4))
    gs[0, :3] = -60.0
    smudge = _rank(_ws({"sharpness": -0.01}, grid_s=gs))
    assert smudge[0].code == "smudge"
    assert "in 3 of 16 cells" in smudge[0].text


def test_noise() -> None:
    causes = _rank(_ws({"noise": 0.5, "sharpness": 0.01}))
    assert causes[0].code == "noise"


def test_camera_moved() -> None:
    causes = _rank(_ws(shift=(14.2, 3.1)))
    assert causes[0].code == "camera_moved"
    assert causes[0].text == "image shifted 14 px right, 3 px down: camera moved"


def _sharpness_rel(lap_ratio: float) -> float:
    """The relative change of ln(1 + Laplacian variance) that multiplies the reference's variance by ``lap_ratio``."""
    ref = small_baseline().scalar_mean[SI["sharpness"]]
    return float(np.log1p(np.expm1(ref) * lap_ratio) / ref - 1.0)


def test_new_edges_beyond_noise_are_content_and_noise_that_explains_them_is_noise() -> None:
    """A product with hard edges raises the sharpness (and a little the noise estimate); noise x1.5 raises both
    in the ratio the Laplacian of white noise predicts (parts_mono's new product read as noise before)."""
    b = small_baseline()
    edges = _rank(_ws({"sharpness": _sharpness_rel(1.12), "noise": 0.006}))  # noise z 3, as measured
    assert edges[0].code == "content"
    assert "beyond what noise and light explain (new edges)" in edges[0].text
    ref_lap, ref_noise = np.expm1(b.scalar_mean[SI["sharpness"]]), b.scalar_mean[SI["noise"]]
    noisy_lap = ref_lap + 20.0 * ref_noise**2 * (1.5**2 - 1.0)
    noisy = _rank(_ws({"sharpness": _sharpness_rel(noisy_lap / ref_lap), "noise": 0.5}))
    assert noisy[0].code == "noise"
    assert next(c for c in noisy if c.code == "content").score < 0.1 * noisy[0].score


def test_content_when_low_level_statistics_hold() -> None:
    causes = _rank(_ws({"under_exposed": 0.05}, psi=0.5))
    assert causes[0].code == "content"
    assert "content changed" in causes[0].text


def test_slow_lighting_with_the_sharpness_it_implies() -> None:
    b = small_baseline()
    mean = b.scalar_mean.copy()
    for q in [*QS, "brightness"]:
        mean[SI[q]] *= 0.99
    strength = np.zeros(len(SCALARS))
    strength[SI["brightness"]] = -1.2
    strength[SI["sharpness"]] = -1.1  # the Laplacian variance falls with the square of the light
    mean[SI["sharpness"]] = np.log1p(np.expm1(b.scalar_mean[SI["sharpness"]]) * 0.99**2)
    causes = explain_slow(mean, strength, scalar_names=SCALARS, scalar_mean=b.scalar_mean)
    assert causes[0].code == "lighting"
    assert causes[0].text == "mean luma -1.0% since baseline, slowly: lighting"
    assert dict((c.code, c.score) for c in causes)["defocus"] == pytest.approx(0.0, abs=1e-9)


def test_a_cause_the_evidence_does_not_separate_from_the_leader_is_named_beside_it() -> None:
    defocus = Cause("defocus", "sharpness -40%: defocus or dirty lens", 3.0)
    moved = Cause("camera_moved", "image shifted 19 px left: camera moved", 2.4)
    noise = Cause("noise", "noise +5%: sensor noise", 0.3)
    text = likely_cause((defocus, moved, noise))
    assert text.startswith(defocus.text) and moved.text in text and "3 vs 2.4" in text
    # a runner-up well behind is not named: the leader is what the evidence says
    assert likely_cause((defocus, noise)) == defocus.text
    assert likely_cause(()) == ""
