"""calibrate's output options and plan: the group fitted on the kept frames' outputs, nothing added when no
frame carried outputs."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from camdrift.calibration.calibrate.output_options import OutputPlan, add_output_arguments, summary_lines
from tests.agent.drift_fixtures import classifier_outputs, small_baseline


def test_without_outputs_the_baseline_is_unchanged():
    base = small_baseline()
    assert OutputPlan().add_group(base, [None] * 50, None, n_replicates=100, budget_days=30) is base
    assert OutputPlan().add_group(base, (), None, n_replicates=100, budget_days=30) is base


def test_the_group_is_fitted_on_the_kept_frames_only():
    outputs = classifier_outputs(600, 2)
    plan = OutputPlan(("ok", "scratch", "dent"), 0.6)
    keep = np.ones(600, bool)
    keep[:100] = False
    b = plan.add_group(small_baseline(), outputs, keep, n_replicates=200, budget_days=30)
    assert b.outputs.sample_count == 500 and b.outputs.uncertain_below == 0.6
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


def test_outputs_are_checked_against_the_class_names_as_they_arrive():
    from camdrift.agent.predictions.outputs import classification, detection

    plan = OutputPlan(("ok", "scratch", "dent"))
    plan.check(classification([0.2, 0.7, 0.1]))
    plan.check(classification(label=2, confidence=0.9))
    plan.check(detection([[0, 0, 5, 5]], [2], [0.8]))
    OutputPlan().check(classification([0.25] * 4))  # no names: any count
    for wrong, culprit in [
        (classification([0.5, 0.5]), "names 3 classes, the app's outputs hold 2 probabilities"),
        (classification(label=3, confidence=0.9), "use class index 3"),
        (detection([[0, 0, 5, 5], [1, 1, 2, 2]], [0, 7], [0.8, 0.9]), "use class index 7"),
    ]:
        with pytest.raises(ValueError, match=culprit):
            plan.check(wrong)
