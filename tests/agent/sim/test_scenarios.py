"""Named drift scenarios: registry, onsets, ground truth and the streams they render."""

from __future__ import annotations

import doctest

import cv2
import numpy as np
import pytest

import camdrift.agent.sim.scenarios as scenarios_module
from camdrift.agent.sim.line import HEALTHY, Drift, ProductionLine
from camdrift.agent.sim.scenarios import CAUSES, SCENARIOS, Phase, Scenario, scenario_stream

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
