"""Calibrating the output group from the reference's own outputs: frames are the unit, a short reference gets
wider thresholds, a reference too short or of mixed kinds is refused naming why, thresholds are finite and
ordered."""

from __future__ import annotations

import numpy as np
import pytest

from camdrift.agent.predictions.outputs import classification, detection
from camdrift.calibration.calibrate.output_reference import MIN_WINDOWS, build_output_reference, mix_window
from camdrift.calibration.calibrate.thresholds import Budget
from tests.agent.drift_fixtures import classifier_outputs

BUDGET = Budget(window=20, fps=5.0, n_replicates=400)


def test_thresholds_are_finite_ordered_and_say_how_they_were_read():
    ref = build_output_reference(classifier_outputs(800, 1), budget=BUDGET)
    assert np.isfinite(ref.drift).all() and (0 < ref.warn).all() and (ref.warn < ref.drift).all()
    assert ref.class_names == ("class_0", "class_1", "class_2") and ref.sample_count == 800
    assert "effective windows" in ref.notes[0] and ref.budget.startswith("one per 30 days")
    assert ref.frame_mean[0] == pytest.approx(np.mean([o.confidence for o in classifier_outputs(800, 1)]))


def test_a_shorter_reference_gets_wider_thresholds_not_narrower():
    long = build_output_reference(classifier_outputs(4000, 1), budget=BUDGET)
    short = build_output_reference(classifier_outputs(MIN_WINDOWS * 20, 1), budget=BUDGET)
    assert short.null_sd[0] > long.null_sd[0] * 0.9
    assert "x1." in short.notes[0]
    widen = [float(n.split("(thresholds x")[1].split(",")[0]) for n in (short.notes[0], long.notes[0])]
    assert widen[0] > widen[1] >= 1.0


def _runs(n: int, run: int, classes: int = 3) -> np.ndarray:
    """(n, classes + 1) predicted-class counts of a belt whose product changes every ``run`` frames."""
    label = (np.arange(n) // run) % classes
    return np.eye(classes + 1, dtype=np.int64)[label]


def test_the_class_mix_is_judged_over_more_frames_when_products_come_in_runs():
    iid = np.eye(4, dtype=np.int64)[np.random.default_rng(3).integers(0, 3, 2000)]
    assert mix_window(iid, 20) == 20  # independent frames: the pixel window's frames suffice
    assert mix_window(_runs(2000, 1000), 20) == 200  # one long run: at most a tenth of the reference
    assert 20 < mix_window(_runs(2000, 4), 20) < 200  # short runs: a few times the window
    one_class = np.eye(4, dtype=np.int64)[np.zeros(2000, int)]
    assert mix_window(one_class, 20) == 20
    ref = build_output_reference(classifier_outputs(800, 1), budget=BUDGET)
    assert ref.class_window == ref.mix_window > 20 and f"over {ref.class_window} frames" in ref.notes[0]


def test_a_reference_below_the_minimum_is_refused_with_what_it_needs():
    with pytest.raises(ValueError, match=f"needs at least {MIN_WINDOWS * 20}"):
        build_output_reference(classifier_outputs(MIN_WINDOWS * 20 - 1, 1), budget=BUDGET)


def test_mixed_kinds_and_too_few_names_are_refused():
    mixed = classifier_outputs(300, 1)
    mixed[5] = detection(np.zeros((1, 4)), [0], [0.9])
    with pytest.raises(ValueError, match="mix kinds"):
        build_output_reference(mixed, budget=BUDGET)
    with pytest.raises(ValueError, match="2 class names for outputs with 3 classes"):
        build_output_reference(classifier_outputs(300, 1), budget=BUDGET, class_names=("a", "b"))


def test_a_model_that_never_hesitates_still_gets_usable_thresholds():
    steady = [classification(label=i % 2, confidence=0.99) for i in range(400)]  # constant confidence
    ref = build_output_reference(steady, budget=BUDGET, class_names=("ok", "ng"))
    assert np.isfinite(ref.drift).all() and (ref.warn < ref.drift).all()
    assert ref.null_sd[0] >= 0.01 and ref.null_sd[1] >= 1 / 20  # a frame's worth, never zero
    assert "constant in the reference" in ref.notes[0]


def test_the_class_mix_threshold_stays_within_reach_of_a_class_the_model_never_predicted():
    ref = build_output_reference(classifier_outputs(800, 1), budget=BUDGET)
    from camdrift.agent.drift.outputs import output_statistics

    counts = np.zeros(ref.n_classes + 1)
    counts[-1] = ref.window  # a whole window of an unseen class
    assert output_statistics(counts, np.zeros(3), np.zeros(3), ref.window, ref).psi > ref.drift[0]
    for c in range(ref.n_classes):  # a whole window of one known class: a run of one product, no alarm
        counts = np.zeros(ref.n_classes + 1)
        counts[c] = ref.window
        assert output_statistics(counts, np.zeros(3), np.zeros(3), ref.window, ref).psi < ref.drift[0]
