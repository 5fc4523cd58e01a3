"""Agreement over time: a drifting annotator is flagged on a seeded stream, a steady team is not."""

from __future__ import annotations

import math

import numpy as np
import pytest

from camdrift.calibration.agreement.timeline import AgreementDrift, agreement_windows, time_order

K = 4


def label_stream(
    seed: int, n_items: int, accuracy: list[float], drift_at: int | None = None, drifted: float = 0.5
):
    """(codes, times): each annotator gives the true class with its accuracy, else a random other class.

    From item ``drift_at`` on, the last annotator's accuracy falls to ``drifted``. Items arrive a minute apart.
    """
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, K, size=n_items)
    acc = np.tile(np.asarray(accuracy, dtype=np.float64), (n_items, 1))
    if drift_at is not None:
        acc[drift_at:, -1] = drifted
    right = rng.random(acc.shape) < acc
    wrong = (truth[:, None] + rng.integers(1, K, size=acc.shape)) % K
    codes = np.where(right, truth[:, None], wrong)
    times = 1.7e9 + 60.0 * np.arange(n_items)[:, None] + rng.random(acc.shape)
    return codes, times


def flags_of(windows) -> np.ndarray:
    """(n_windows, n_annotators) bool."""
    return np.array([w.flagged for w in windows])


def test_drifting_annotator_is_flagged_and_only_after_the_drift():
    codes, times = label_stream(seed=7, n_items=600, accuracy=[0.92, 0.92, 0.92], drift_at=300)
    windows = agreement_windows(codes, K, times, window=50)
    assert len(windows) == 12
    flags = flags_of(windows)
    assert not flags[:, :2].any(), "the steady annotators must not be flagged"
    assert not flags[:6, 2].any(), "no flag before the drift"
    assert flags[6:, 2].sum() >= 5, "the drift is caught in most windows after it starts"
    first = int(np.argmax(flags[:, 2]))
    assert first == 6
    w = windows[first]
    assert w.rate[2] < w.baseline[2] - 0.15 and w.others[2] > w.rate[2] + 0.15 and w.z[2] <= -3


@pytest.mark.parametrize("seed", range(4))
def test_steady_team_is_never_flagged(seed):
    codes, times = label_stream(seed=seed, n_items=600, accuracy=[0.9, 0.85, 0.8])
    assert not flags_of(agreement_windows(codes, K, times, window=50)).any()


def test_harder_items_for_everyone_are_not_a_drift():
    # All three annotators get worse at once (a batch of hard items): the others' agreement drops too.
    codes, times = label_stream(seed=2, n_items=400, accuracy=[0.92, 0.92, 0.92])
    hard, _ = label_stream(seed=3, n_items=200, accuracy=[0.5, 0.5, 0.5])
    codes[200:] = hard
    assert not flags_of(agreement_windows(codes, K, times, window=50)).any()


def test_windows_follow_time_not_file_order_and_cover_every_item():
    codes, times = label_stream(seed=7, n_items=600, accuracy=[0.92, 0.92, 0.92], drift_at=300)
    perm = np.random.default_rng(0).permutation(600)
    shuffled = agreement_windows(codes[perm], K, times[perm], window=50)
    ordered = agreement_windows(codes, K, times, window=50)
    np.testing.assert_array_equal(flags_of(shuffled), flags_of(ordered))
    assert [(w.start, w.stop) for w in ordered] == [(s, s + 50) for s in range(0, 600, 50)]
    assert all(w.t_start <= w.t_end for w in ordered)


def test_short_tail_merges_into_the_previous_window():
    codes, times = label_stream(seed=1, n_items=110, accuracy=[0.9, 0.9])
    bounds = [(w.start, w.stop) for w in agreement_windows(codes, K, times, window=50)]
    assert bounds == [(0, 50), (50, 110)]


def test_untimed_items_keep_input_order_and_partial_times_are_refused():
    times = np.full((5, 2), np.nan)
    np.testing.assert_array_equal(time_order(times), np.arange(5))
    times[0, 0] = 3.0
    with pytest.raises(ValueError, match="4 of 5 items have no time"):
        time_order(times)
    times = np.array([[5.0, np.nan], [np.nan, 1.0], [2.0, 9.0]])
    np.testing.assert_array_equal(time_order(times), [1, 2, 0])


def test_detector_contract():
    d = AgreementDrift(z_threshold=2.5, min_drop=0.1, min_items=5)
    assert (d.z_threshold, d.min_drop, d.min_items) == (2.5, 0.1, 5)
    assert d.update(45.0, 50) is d
    assert d.rate == 0.9 and math.isnan(d.baseline) and math.isnan(d.z) and not d.drift_detected
    d.update(20.0, 50)
    assert d.drift_detected and d.baseline == 0.9 and d.z < -2.5
    # A low window does not enter the reference, flagged or not (here the others agree no better).
    d.update(20.0, 50, others_rate=0.4)
    assert not d.drift_detected and d.baseline == 0.9
    d.update(20.0, 50)
    assert d.drift_detected and d.baseline == 0.9
    d.update(44.0, 50)  # back to normal: joins the reference
    assert not d.drift_detected and d.update(45.0, 50).baseline == pytest.approx(89 / 100)
    d.update(0.0, 0)
    assert math.isnan(d.rate) and not d.drift_detected


def test_detector_respects_min_items_and_others():
    d = AgreementDrift(min_items=20).update(95.0, 100)
    assert not d.update(2.0, 10).drift_detected  # too few items to judge
    d = AgreementDrift().update(95.0, 100)
    assert not d.update(30.0, 60, others_rate=0.55).drift_detected  # the others agree no better
    assert d.update(30.0, 60, others_rate=0.9).drift_detected


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"z_threshold": 0}, "z_threshold"), ({"min_drop": 1.0}, "min_drop"), ({"min_items": 0}, "min_items")],
)
def test_detector_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AgreementDrift(**kwargs)


def test_detector_rejects_impossible_counts():
    with pytest.raises(ValueError, match="agreed"):
        AgreementDrift().update(11.0, 10)


def test_docstring_example_runs():
    import doctest

    from camdrift.calibration.agreement import timeline

    assert doctest.testmod(timeline).failed == 0
