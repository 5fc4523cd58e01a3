"""``camdrift calibrate --model``: the options (config preprocessing with the flags on top, errors naming the
option) and the plan that samples the model during a capture and fits on the frames the gates keep."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from camdrift.agent.frames import Frame
from camdrift.agent.sim.line import ProductionLine
from camdrift.calibration.calibrate.activation_options import (
    add_model_arguments,
    plan_from_args,
    summary_lines,
)
from camdrift.calibration.options import UsageError
from tests.agent.drift_fixtures import SIZE, small_baseline
from tests.agent.model_fixtures import tiny_nhwc_model


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("--config")
    add_model_arguments(p)
    return p


def test_model_options_take_the_config_preprocessing_with_flags_on_top(tmp_path) -> None:
    model = tmp_path / "tiny.onnx"
    tiny_nhwc_model(model)
    cfg = tmp_path / "cam.toml"
    cfg.write_text(
        '[source]\nuri = "synthetic:stationary"\n[activations]\noutput = "pooled"\nlayout = "nhwc"\n'
        'input_width = 32\ninput_height = 32\nmean = "0.5, 0.5, 0.5"\nevery_n = 3\n'
    )
    plan = plan_from_args(
        _parser().parse_args(["--config", str(cfg), "--model", str(model), "--model-std", "2,2,2"])
    )
    pre = plan.runner.preprocess
    assert (pre.size, pre.layout, pre.mean, pre.std, plan.every_n) == (
        (32, 32),
        "nhwc",
        (0.5,) * 3,
        (2.0,) * 3,
        3,
    )
    assert plan.runner.output == "pooled"
    assert plan_from_args(_parser().parse_args([])) is None
    for argv, culprit in (
        (["--model", str(model)], "--model-output"),
        (["--model-output", "pooled"], "--model PATH"),
        (["--model", str(tmp_path / "none.onnx"), "--model-output", "x"], "cannot read model"),
        (["--config", str(cfg), "--model", str(model), "--model-mean", "1,2"], "--model-mean"),
    ):
        with pytest.raises(UsageError, match=culprit):
            plan_from_args(_parser().parse_args(argv))


def test_plan_samples_every_n_and_fits_on_the_frames_the_gates_keep(tmp_path) -> None:
    model = tmp_path / "tiny.onnx"
    tiny_nhwc_model(model)
    args = [
        "--model",
        str(model),
        "--model-output",
        "relu",
        "--model-size",
        "32x32",
        "--model-layout",
        "nhwc",
    ]
    plan = plan_from_args(_parser().parse_args([*args, "--model-every-n", "2", "--model-window", "8"]))
    line = ProductionLine(seed=12, width=SIZE[0], height=SIZE[1])
    for i in range(100):
        plan.on_frame(Frame(line.frame(i), i, line.time(i), "bgr8"))
    assert plan.index == list(range(0, 100, 2))
    keep = np.ones(100, bool)
    keep[:20] = False  # the gates dropped the first 20 frames: their 10 summaries must not count
    b = plan.add_group(small_baseline(), keep, n_replicates=200)
    assert b.activations.sample_count == 40 and b.activations.every_n == 2 and b.activations.output == "relu"
    assert summary_lines(b, plan)[0].startswith("  activation group: tiny.onnx tensor 'relu'")
