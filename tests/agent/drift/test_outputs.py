"""The model-outputs group: a healthy model stays quiet, a model losing confidence is caught and told in plain
words, and outputs that do not fit the reference are counted, never scored."""

from __future__ import annotations

import numpy as np
import pytest

from camdrift.agent.drift.outputs import OutputMonitor, output_sample, output_statistics
from camdrift.agent.predictions.outputs import classification, detection
from camdrift.calibration.calibrate.output_reference import build_output_reference
from camdrift.calibration.calibrate.thresholds import Budget
from tests.agent.drift_fixtures import FPS, classifier_outputs, output_reference


def _drift_frames(monitor: OutputMonitor, outputs) -> list[int]:
    starts = []
    for i, o in enumerate(outputs):
        if any(t.kind == "drift" for t in monitor.update(o).transitions):
            starts.append(i)
    return starts


@pytest.mark.parametrize("seed", [101, 202, 303])
def test_a_healthy_model_on_unseen_streams_never_drifts(seed):
    monitor = OutputMonitor(output_reference(window=20))
    assert _drift_frames(monitor, classifier_outputs(3000, seed)) == []


def test_a_model_losing_confidence_is_caught_and_said_in_words():
    monitor = OutputMonitor(output_reference(window=20))
    starts = _drift_frames(
        monitor, classifier_outputs(200, 7) + classifier_outputs(300, 8, confidence_drop=2.5)
    )
    assert starts and 200 <= starts[0] < 260
    assert {g.name for g in monitor.groups if g.state == "drift"} & {"out.confidence", "out.uncertain"}
    text = monitor.cause().text
    assert text.startswith("model outputs changed: share of uncertain predictions ")
    ref_share = monitor.ref.frame_mean[1]
    assert f"{100 * ref_share:.0f} % -> " in text and "mean confidence" in text
    numbers = dict(monitor.numbers())
    assert numbers["out.confidence"] < numbers["out.confidence_ref"] - 0.1


def test_a_new_class_moves_the_class_mix():
    ref = output_reference(window=20)
    monitor = OutputMonitor(ref)
    strange = [classification([0.05, 0.05, 0.05, 0.85])] * 60  # a fourth class the model never predicted
    assert monitor.update(classification([0.9, 0.05, 0.05])).rejected == {}
    for o in strange:
        monitor.update(o)
    assert monitor.rejected["wrong_classes"] == 60  # a 4-class output does not fit a 3-class reference
    label_only = [classification(label=5, confidence=0.9)] * 2 * ref.class_window  # the class index alone
    starts = _drift_frames(monitor, label_only)
    assert starts and monitor.last.share[-1] == 1.0  # all in "other"
    assert starts[0] <= ref.class_window  # caught by the time the class-mix window turned over once


def test_the_class_mix_is_scored_only_once_its_longer_window_is_full():
    ref = output_reference(window=20)
    monitor = OutputMonitor(ref)
    strange = [classification(label=5, confidence=0.9)] * ref.class_window  # every frame a new class
    for o in strange[:20]:
        monitor.update(o)
    assert monitor.last.psi > ref.drift[0] and monitor.score("out.class_mix") == 0.0  # told, not tested
    assert "over the last 20 frames" in monitor.change()
    starts = _drift_frames(monitor, strange[20:] + strange[:5])
    assert starts and 20 + starts[0] >= ref.class_window - 1  # the first scored window, then persistence


def test_outputs_of_another_kind_are_counted_and_skipped():
    monitor = OutputMonitor(output_reference())
    monitor.update(detection(np.zeros((1, 4)), [0], [0.5]))
    assert monitor.rejected == {"wrong_kind": 1} and monitor.filled == 0


def test_window_statistics_equal_a_recomputation_from_the_frames():
    ref = output_reference(window=20)
    assert ref.class_window > ref.window  # the fixture's classes come in runs
    outputs = classifier_outputs(ref.class_window + 7, 5)
    monitor = OutputMonitor(ref)
    for o in outputs:
        monitor.update(o)
    samples = [output_sample(o, ref) for o in outputs]
    mix = samples[-ref.class_window :]  # the class mix over its window, the means over the last 20 frames
    values = np.stack([s.values for s in samples[-20:]])
    again = output_statistics(
        np.sum([s.classes for s in mix], axis=0), values.sum(axis=0), np.full(3, 20.0), 20, ref
    )
    np.testing.assert_allclose(monitor.last.scores, again.scores, rtol=1e-12)
    assert monitor.last.means[0] == pytest.approx(np.mean([o.confidence for o in outputs[-20:]]))


def _detector(n: int, seed: int, boxes_per_frame: float) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        k = rng.poisson(boxes_per_frame)
        out.append(detection(rng.uniform(0, 100, (k, 4)), rng.integers(0, 2, k), rng.uniform(0.55, 0.99, k)))
    return out


def test_a_detector_that_stops_finding_defects_is_caught():
    ref = build_output_reference(
        _detector(600, 1, 2.0),
        budget=Budget(window=20, fps=FPS, n_replicates=400),
        class_names=("dent", "hole"),
    )
    assert ref.kind == "detection" and ref.names[-1] == "out.detections"
    monitor = OutputMonitor(ref)
    assert _drift_frames(monitor, _detector(1500, 2, 2.0)) == []
    assert _drift_frames(monitor, _detector(200, 3, 0.3))
    assert "detections per frame" in monitor.change()
    # frames without boxes have no confidence: the window widens that statistic rather than read 0
    empty = output_sample(detection(np.zeros((0, 4)), [], []), ref)
    assert np.isnan(empty.values[0]) and empty.values[2] == 0.0
