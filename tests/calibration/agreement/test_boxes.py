"""Detection agreement: IoU against a naive loop, greedy matching and tallies on hand-built boxes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from camdrift.calibration.agreement.boxes import empty_tally, greedy_match, iou_matrix, tally_item


def naive_overlap(a0, aw, b0, bw) -> float:
    """[a0, a0 + aw] and [b0, b0 + bw] overlap by this much (each length less the other's offset past its
    start: min(a0 + aw, b0 + bw) - max(a0, b0) rounds above the width for identical boxes at x = 1, w = 1e-12)."""
    d = b0 - a0
    return max(0.0, min(aw - max(d, 0.0), bw - max(-d, 0.0)))


def naive_iou(a, b) -> float:
    ix = naive_overlap(a[0], a[2], b[0], b[2])
    iy = naive_overlap(a[1], a[3], b[1], b[3])
    union = a[2] * a[3] + b[2] * b[3] - ix * iy
    return ix * iy / union if union > 0 else 0.0


coords = st.floats(0, 100, allow_nan=False, width=32)
box_arrays = st.integers(0, 6).flatmap(lambda n: arrays(np.float64, (n, 4), elements=coords))


@settings(max_examples=100, deadline=None)
@given(box_arrays, box_arrays)
def test_iou_matrix_matches_naive(a, b):
    got = iou_matrix(a, b)
    assert got.shape == (len(a), len(b))
    for i in range(len(a)):
        for j in range(len(b)):
            assert got[i, j] == pytest.approx(naive_iou(a[i], b[j]), abs=1e-12)
    assert ((got >= 0) & (got <= 1 + 1e-12)).all()


def test_identical_boxes_score_one_whatever_their_size_or_place():
    """From fuzzing: identical boxes of 1e-12 px at x = 1 scored 1.00018, IoU above 1."""
    for box in (
        [1.0, 0.0, 9.99999996e-13, 1.0],
        [0.1, 0.2, 0.3, 0.7],
        [1e6, 1e6, 1e7, 1e7],
        [3.0, 5.0, 1e-300, 2.0],
    ):
        assert iou_matrix(np.array([box]), np.array([box]))[0, 0] == 1.0


def test_known_ious():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 10, 10], [0, 0, 10, 20], [20, 20, 5, 5], [2, 2, 0, 0]])
    np.testing.assert_allclose(iou_matrix(a, b)[0], [1.0, 50 / 150, 100 / 200, 0.0, 0.0])


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(0, 6), st.integers(0, 6)), elements=st.floats(0, 1)))
def test_greedy_match_is_one_to_one_above_threshold_and_maximal(iou):
    m = greedy_match(iou, 0.5)
    assert len(set(m.rows.tolist())) == len(m.rows) and len(set(m.cols.tolist())) == len(m.cols)
    assert (m.iou >= 0.5).all()
    free_r = np.setdiff1d(np.arange(iou.shape[0]), m.rows)
    free_c = np.setdiff1d(np.arange(iou.shape[1]), m.cols)
    # No two unmatched boxes could still have been matched.
    assert not (iou[np.ix_(free_r, free_c)] >= 0.5).any()


def test_greedy_takes_the_best_pair_first():
    iou = np.array([[0.9, 0.6], [0.7, 0.0]])
    m = greedy_match(iou, 0.5)
    assert m.rows.tolist() == [0] and m.cols.tolist() == [0] and m.iou.tolist() == [0.9]
    m = greedy_match(iou, 0.95)
    assert len(m.rows) == 0


def test_tally_on_hand_built_boxes():
    # a: a scratch and a dent; b: the scratch shifted by half (IoU 1/3), the dent taller (IoU 1/2) but called a
    # scratch, and an extra box far away.
    boxes_a = np.array([[0, 0, 10, 10], [50, 50, 10, 10]])
    boxes_b = np.array([[5, 0, 10, 10], [50, 50, 10, 20], [200, 200, 4, 4]])
    scratch, dent = 0, 1
    t = tally_item(boxes_a, [scratch, dent], boxes_b, [scratch, scratch, dent], 2, threshold=0.3)
    assert (t.n_a, t.n_b, t.matched, t.same_class) == (2, 3, 2, 1)
    assert t.presence == pytest.approx(4 / 5)
    assert t.class_agreement == pytest.approx(0.5)
    assert t.boundary == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert t.score == pytest.approx(2 * (1 / 3) / 5)
    np.testing.assert_array_equal(t.confusion, [[1, 0, 0], [1, 0, 0], [0, 1, 0]])
    # At 0.5 the shifted scratch no longer matches: two lone scratches.
    t = tally_item(boxes_a, [scratch, dent], boxes_b, [scratch, scratch, dent], 2, threshold=0.5)
    assert (t.matched, t.same_class) == (1, 0)
    assert t.boundary == pytest.approx(0.5)


def test_tallies_add_up_and_empty_images_agree():
    k = 2
    nothing = tally_item(np.zeros((0, 4)), [], np.zeros((0, 4)), [], k)
    assert nothing.score == 1.0 and np.isnan(nothing.presence) and nothing.n_items == 1
    same = tally_item(np.array([[1, 1, 4, 4]]), [1], np.array([[1, 1, 4, 4]]), [1], k)
    assert same.score == 1.0 and same.presence == 1.0 and same.boundary == 1.0
    total = empty_tally(k) + nothing + same
    assert total.n_items == 2 and total.matched == 1 and total.same_iou[1] == 1.0


@pytest.mark.parametrize(
    ("a", "match"),
    [
        (np.zeros((2, 3)), r"shape \(n, 4\)"),
        (np.array([[0, 0, -1, 2]]), "negative width"),
        (np.array([[0, np.nan, 1, 2]]), "non-finite"),
    ],
)
def test_bad_boxes_are_named(a, match):
    with pytest.raises(ValueError, match=match):
        iou_matrix(a, np.zeros((1, 4)))


def test_threshold_range():
    with pytest.raises(ValueError, match="threshold"):
        greedy_match(np.ones((1, 1)), 0.0)
