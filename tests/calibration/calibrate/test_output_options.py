"""calibrate's output options and plan: outputs collected frame by frame, the group fitted on the kept frames,
nothing added when no frame carried outputs."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from camdrift.agent.frames import Frame
from camdrift.calibration.calibrate.output_options import (
    OutputPlan,
    add_output_arguments,
    chain,
    summary_lines,
)
from tests.agent.drift_fixtures import classifier_outputs, small_baseline


def _frames(outputs):
    image = np.zeros((4, 4, 3), np.uint8)
    return [Frame(image, i, i / 5, "bgr8", outputs=o) for i, o in enumerate(outputs)]


def test_without_outputs_the_baseline_is_unchanged():
    plan = OutputPlan()
    for f in _frames([None] * 50):
        plan.on_frame(f)
    base = small_baseline()
    assert plan.carried == 0 and plan.add_group(base, None, n_replicates=100, budget_days=30) is base


def test_the_group_is_fitted_on_the_kept_frames_only():
    outputs = classifier_outputs(600, 2)
    plan = OutputPlan(("ok", "scratch", "dent"), 0.6)
    calls = []
    hook = chain(plan.on_frame, None, calls.append)
    for f in _frames(outputs):
        hook(f)
    keep = np.ones(600, bool)
    keep[:100] = False
    b = plan.add_group(small_baseline(), keep, n_replicates=200, budget_days=30)
    assert len(calls) == 600 and b.outputs.sample_count == 500 and b.outputs.uncertain_below == 0.6
    lines = summary_lines(b)
    assert lines[0].startswith("  output group: classification, 500 frames with outputs; classes ok ")
    assert "out.confidence" in lines[1]


def test_class_names_must_be_distinct():
    p = argparse.ArgumentParser()
    add_output_arguments(p)
    assert p.parse_args(["--class-names", "ok, ng"]).class_names == ("ok", "ng")
    with pytest.raises(SystemExit):
        p.parse_args(["--class-names", "ok,ok"])
    with pytest.raises(SystemExit):
        p.parse_args(["--uncertain-below", "0"])
