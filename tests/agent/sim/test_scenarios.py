"""Named drift scenarios: registry, onsets, ground truth and the streams they render."""

from __future__ import annotations

import doctest

import cv2
import numpy as np
import pytest

import camdrift.agent.sim.scenarios as scenarios_module
from camdrift.agent.sim.line import HEALTHY, Drift, ProductionLine, content_affine, gamma_lut, smudge_mask
from camdrift.agent.sim.scenarios import (
    CAUSES,
    CHANGE_LIST,
    SCENARIOS,
    Phase,
    Scenario,
    changes_for,
    scenario_stream,
    why_not,
)
from camdrift.agent.sim.scenes import SCENES

SUDDEN = [name for name, s in SCENARIOS.items() if s.kind == "sudden"]


def test_registry_names_and_cause_codes() -> None:
    required = {
        "stationary", "gain_step", "gamma", "white_balance", "defocus", "camera_shift", "smudge", "noise",
        "new_product", "new_variant_matched", "lamp_decay", "demo",
    }  # fmt: skip
    assert required <= set(SCENARIOS)
    assert set(CAUSES) == {s.expected_cause for s in SCENARIOS.values()} - {None}
    for name, s in SCENARIOS.items():
        assert s.name == name
        assert all(p.cause in CAUSES + (None,) for p in s.phases)


def test_module_doctest() -> None:
    assert doctest.testmod(scenarios_module).failed == 0


@pytest.mark.parametrize("name", SUDDEN)
def test_sudden_scenario_is_healthy_before_onset_and_changed_after(name: str) -> None:
    scenario = SCENARIOS[name]
    line = ProductionLine(seed=4)
    stream = {i: f for i, _, f in scenario_stream(name, 8, seed=4, onset_frame=4)}
    for i in range(4):  # before the onset the stream is the stationary one, bit for bit
        np.testing.assert_array_equal(stream[i], line.frame(i))
        assert scenario.cause_at(i) is None and scenario.drift_at(i) == HEALTHY
    assert scenario.cause_at(scenario.onset_frame) == scenario.expected_cause
    assert scenario.drift_at(scenario.onset_frame + 10**6) != HEALTHY  # the change holds
    if scenario.expected_cause != "content":  # content changes only frames showing a new product: see below
        assert all((stream[i] != line.frame(i)).any() for i in range(4, 8))


@pytest.mark.parametrize("name", ["new_product", "new_variant_matched"])
def test_new_product_scenarios_over_a_longer_stream(name: str) -> None:
    line = ProductionLine(seed=8)
    shown = [(f != line.frame(i)).any() for i, _, f in scenario_stream(name, 450, seed=8, onset_frame=0)]
    assert np.mean(shown) == pytest.approx(1 / 3, abs=0.08)


def test_stream_times_sizes_and_determinism() -> None:
    frames = list(scenario_stream("camera_shift", 3, seed=3, size=(1280, 720), fps=2.0, t0=100.0))
    assert [(i, t) for i, t, _ in frames] == [(0, 100.0), (1, 100.5), (2, 101.0)]
    assert all(f.image.shape == (720, 1280, 3) and f.image.dtype == np.uint8 for f in frames)
    again = list(scenario_stream("camera_shift", 3, seed=3, size=(1280, 720), fps=2.0, t0=100.0))
    assert all(np.array_equal(a.image, b.image) for a, b in zip(frames, again, strict=True))


def test_lamp_decay_reaches_80_percent_after_seven_days_of_stream_time() -> None:
    scenario = SCENARIOS["lamp_decay"]
    week_frames = round(7 * 86400 * scenario.fps)
    assert week_frames == 10_080
    onset = scenario.onset_frame
    assert scenario.drift_at(onset).gain == 1.0
    assert scenario.drift_at(onset + week_frames // 2).gain == pytest.approx(0.9)
    assert scenario.drift_at(onset + week_frames).gain == pytest.approx(0.8)
    assert scenario.drift_at(onset + 3 * week_frames).gain == pytest.approx(0.8)
    # Measured on rendered frames far into the stream (random access, no need to render the week).
    line = ProductionLine(seed=1, fps=scenario.fps)
    i = onset + week_frames
    ratio = (
        cv2.cvtColor(line.frame(i, scenario.drift_at(i)), cv2.COLOR_BGR2GRAY).mean()
        / cv2.cvtColor(line.frame(i), cv2.COLOR_BGR2GRAY).mean()
    )
    assert ratio == pytest.approx(0.8, abs=0.01)


def test_demo_sequence_has_each_cause_then_recovers() -> None:
    demo = SCENARIOS["demo"]
    causes = [demo.cause_at(i) for i in range(0, demo.onset_frame + 3600, 50)]
    seen = [c for k, c in enumerate(causes) if c is not None and (k == 0 or causes[k - 1] != c)]
    assert seen == ["lighting", "camera_moved", "defocus", "content"]
    assert causes[-1] is None and causes[0] is None
    ramp_end = demo.onset_frame + round(120 * demo.fps)
    assert demo.drift_at(ramp_end).gain == pytest.approx(0.8)
    assert demo.drift_at(demo.onset_frame + 950) == HEALTHY  # lamp replaced


def test_bad_scenarios_and_requests_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown scenario 'nope'"):
        scenario_stream("nope", 1)  # refused at the call, not at the first frame
    with pytest.raises(ValueError, match="fps"):
        scenario_stream("stationary", 1, fps=0.0)
    with pytest.raises(ValueError, match="frame size"):
        scenario_stream("stationary", 1, size=(32, 24))
    with pytest.raises(ValueError, match="onset_frame"):
        scenario_stream("defocus", 1, onset_frame=-1)
    with pytest.raises(ValueError, match="cause code"):
        Phase(0, Drift(gain=1.1), "blur")
    with pytest.raises(ValueError, match="strictly increasing"):
        Scenario("x", "sequence", None, (Phase(5), Phase(5)))
    with pytest.raises(ValueError, match="kind"):
        Scenario("x", "sometimes", None)


def test_the_issues_change_list_exists_for_every_scene_where_it_can() -> None:
    assert set(CHANGE_LIST) <= set(SCENARIOS)
    assert SCENARIOS["camera_shift"].phases[0].drift == Drift(shift=(0.03, 0.02))  # kept as it was
    rotated = SCENARIOS["camera_shift_rotated"]
    assert rotated.expected_cause == "camera_moved"
    assert rotated.phases[0].drift == Drift(shift=(0.03, 0.0), rotation_deg=1.0)
    for name, scene in SCENES.items():
        expected = [c for c in CHANGE_LIST if not (scene.mono and c == "white_balance")]
        assert list(changes_for(scene)) == expected == list(changes_for(name)), name
    assert "mono camera" in why_not(SCENARIOS["white_balance"], SCENES["parts_mono"])
    assert "no 'variant' product" in why_not(SCENARIOS["new_variant_matched"], SCENES["mixed"])
    assert why_not(SCENARIOS["new_variant_matched"], SCENES["cups"]) is None


def test_a_change_that_does_not_exist_in_a_scene_is_refused_not_rendered_blank() -> None:
    with pytest.raises(ValueError, match="mono camera: it has no white balance"):
        scenario_stream("white_balance", 1, scene="parts_mono")
    with pytest.raises(ValueError, match="has no 'variant' product"):
        scenario_stream("new_variant_matched", 1, scene="static")
    with pytest.raises(ValueError, match="unknown scene 'boat'"):
        scenario_stream("stationary", 1, scene="boat")
    with pytest.raises(ValueError, match="Drift.white_balance does not exist"):
        ProductionLine(scene=SCENES["parts_mono"]).frame(0, Drift(white_balance=0.08))


def _pair(
    change: str, scene: str, n: int, fps: float = 5.0, size: tuple[int, int] = (256, 144)
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(healthy, changed) float frames of the same seed and index: the same flicker and noise draws."""
    kw = {"seed": 21, "size": size, "fps": fps, "scene": scene}
    healthy = scenario_stream("stationary", n, **kw)
    changed = scenario_stream(change, n, onset_frame=0, **kw)
    return [
        (a.image.astype(np.float64), b.image.astype(np.float64))
        for a, b in zip(healthy, changed, strict=True)
    ]


def _laplacian_energy(img: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(img.astype(np.float32), cv2.COLOR_BGR2GRAY), cv2.CV_32F).var())


def _check_change(change: str, scene: str) -> None:
    """Assert the change renders as the kind of change it names (see each branch)."""
    if change == "new_product":  # content: a different product in some frames, the rest untouched
        pairs = _pair(change, scene, 300, fps=1.0, size=(160, 90))  # 5 minutes of line: dozens of products
        touched = [np.abs(a - b).max(axis=2) > 0 for a, b in pairs]
        shown = np.mean([t.any() for t in touched])
        assert 0.2 < shown < 0.85, shown  # several products may be in view at once
        assert max(t.mean() for t in touched) < 0.3  # local: where the new product is
        return
    pairs = _pair(change, scene, 6)
    healthy = np.stack([a for a, _ in pairs])
    changed = np.stack([b for _, b in pairs])
    if change in ("gain_step", "gain_step_dark"):  # the whole scene brighter or darker by 15 %
        ratio = changed.mean() / healthy.mean()
        assert ratio == pytest.approx(1.15 if change == "gain_step" else 0.85, abs=0.015)
    elif change == "gamma":  # the ISP curve on the quantised frame, exactly
        lut = gamma_lut(1.25)
        np.testing.assert_array_equal(changed, lut[healthy.astype(np.uint8)])
    elif change == "white_balance":  # red up, blue down, green held
        ratio = changed.mean(axis=(0, 1, 2)) / healthy.mean(axis=(0, 1, 2))
        np.testing.assert_allclose(ratio, [0.92, 1.0, 1.08], atol=0.015)
    elif change == "defocus":  # detail lost, light kept
        assert changed.mean() == pytest.approx(healthy.mean(), rel=0.01)
        assert _laplacian_energy(changed[0]) < 0.6 * _laplacian_energy(healthy[0])
    elif change == "camera_shift_rotated":  # the content moved as the truth says (sensor noise aside)
        w, h = 256, 144
        affine = content_affine(SCENARIOS[change].phases[0].drift, w, h)
        predicted = cv2.warpAffine(healthy[0].astype(np.float32), affine, (w, h))
        inner = np.s_[h // 8 : -h // 8, w // 8 : -w // 8]
        moved_err = np.abs(predicted[inner] - changed[0][inner]).mean()
        assert moved_err < 0.5 * np.abs(healthy[0][inner] - changed[0][inner]).mean()
    elif change == "smudge":  # a fixed patch covering 10 % of the view changes, nothing else
        weight = smudge_mask(144, 256, 0.10)
        diff = np.abs(changed - healthy).mean(axis=(0, 3))
        assert (weight >= 0.5).mean() == pytest.approx(0.10, abs=0.01)
        assert diff[weight >= 0.5].mean() > 5.0 and diff[weight == 0].max() == 0.0
    elif change == "noise":  # the same noise draws, 2.5 x larger: the difference is 1.5 x the noise
        line_scene = SCENES[scene]
        expected_var = 1.5**2 * (line_scene.read_noise**2 + line_scene.shot_noise * healthy).mean()
        assert (changed - healthy).std() == pytest.approx(np.sqrt(expected_var), rel=0.15)
    elif change == "lamp_decay":  # 20 % of the light lost over 7 days of stream time; half way: 10 %
        scenario = SCENARIOS[change]
        line = ProductionLine(seed=21, width=256, height=144, fps=scenario.fps, scene=SCENES[scene])
        i = scenario.onset_frame + round(3.5 * 86400 * scenario.fps)
        assert line.frame(i, scenario.drift_at(i)).mean() / line.frame(i).mean() == pytest.approx(
            0.9, abs=0.01
        )
    else:
        raise AssertionError(f"no check for {change!r}")


@pytest.mark.parametrize(
    ("scene", "change"), [(scene, change) for scene in SCENES for change in changes_for(scene)]
)
def test_each_change_renders_a_visible_change_of_its_kind_on_every_scene(scene: str, change: str) -> None:
    _check_change(change, scene)


def test_stream_at_a_30_fps_source_rate_takes_30_frames_per_second() -> None:
    frames = list(scenario_stream("stationary", 31, seed=2, size=(160, 90), fps=30.0, scene="mixed"))
    assert frames[30].t == pytest.approx(1.0) and frames[1].t == pytest.approx(1 / 30)
    assert all(f.image.shape == (90, 160, 3) for f in frames)
