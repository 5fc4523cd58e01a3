"""``camdrift bench --activations`` (bench/activations.py): the model's cost per run and per analysed frame with
the real pretrained model (skipped when its wheel is absent), the section's options, and the figures' text and
JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from camdrift.calibration.bench.activations import (
    EVERY_N,
    RAPID_OUTPUT,
    SECTION,
    ActivationCost,
    default_model,
    measure_activations,
)
from camdrift.calibration.bench.agent import AgentLoad
from tests.agent.model_fixtures import rapid_model_path


def _agent() -> AgentLoad:
    return AgentLoad(
        1920,
        1080,
        30.0,
        5.0,
        20.0,
        0.121,
        600,
        100,
        2.0,
        9.0,
        900.0,
        1500.0,
        0.5,
        1.0,
        0.3,
        180.0,
        120.0,
        0.9,
        "",
        0.3,
        12,
    )


def test_model_cost_with_the_real_model():
    path = rapid_model_path()
    cost = measure_activations(path, RAPID_OUTPUT, width=320, height=240, agent=False)
    assert (cost.model, cost.output, cost.width, cost.height, cost.runs) == (
        path.name,
        RAPID_OUTPUT,
        320,
        240,
        60,
    )
    assert 0 < cost.preprocess_median_ms < cost.model_median_ms <= cost.model_p90_ms
    assert cost.every_n == EVERY_N == 5 and cost.per_analysed_frame_ms == pytest.approx(
        cost.model_median_ms / 5
    )
    assert cost.agent is None and default_model() == path


def test_text_and_json_of_the_figures():
    cost = ActivationCost("m.onnx", "pooled", 1920, 1080, 60, 1.5, 12.0, 14.0, 5, 2.4, _agent())
    text = cost.format()
    assert text.splitlines()[0] == "activations: m.onnx tensor 'pooled', 1920x1080 frames, 60 runs, 1 thread"
    assert "every_n = 5: 2.40 ms per analysed frame on average" in text
    assert (
        "agent with activations on: 12.1% of one core at 5 fps analysis (target < 15%); RSS 180 MiB" in text
    )
    doc = json.loads(json.dumps(cost.as_dict()))
    assert doc["per_analysed_frame_ms"] == 2.4 and doc["agent"]["agent_cpu"] == 0.121
    alone = ActivationCost("m.onnx", "pooled", 1920, 1080, 60, 1.5, 12.0, 14.0, 5, 2.4, None)
    assert alone.as_dict()["agent"] is None and "agent with activations" not in alone.format()


def test_section_options_and_a_model_without_its_tensor():
    p = argparse.ArgumentParser()
    SECTION.add_arguments(p)
    args = p.parse_args(["--bench-model", "other.onnx"])
    assert args.bench_model == Path("other.onnx") and args.bench_output is None
    with pytest.raises(RuntimeError, match="--bench-model needs --bench-output"):
        SECTION.run(args)
    assert (SECTION.name, SECTION.flag) == ("activations", "--activations")
