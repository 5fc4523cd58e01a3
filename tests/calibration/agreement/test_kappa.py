"""Agreement statistics against published worked examples and independent implementations (test-only oracles)."""

from __future__ import annotations

import warnings

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from camdrift.calibration.agreement.kappa import (
    SINGLE_CATEGORY,
    cohen_kappa,
    confusion_table,
    fleiss_kappa,
    item_agreement,
    krippendorff_alpha,
    label_counts,
    percent_agreement,
    specific_agreement,
)

# Fleiss (1971) worked example as quoted on Wikipedia's "Fleiss' kappa" page: 10 subjects, 5 categories,
# 14 ratings per subject (the rows sum to 14).
FLEISS_TABLE = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)


def codes_from_counts(counts: np.ndarray) -> np.ndarray:
    """(n_items, n_raters) codes whose label counts are ``counts`` (rater order is arbitrary)."""
    return np.array([np.repeat(np.arange(counts.shape[1]), row) for row in counts])


def test_fleiss_worked_example():
    f = fleiss_kappa(FLEISS_TABLE)
    assert f.n_items == 10 and f.n_raters == 14
    assert round(f.p_bar, 3) == 0.378
    assert round(f.p_e_bar, 3) == 0.213
    assert round(f.kappa, 3) == 0.210
    # Published column shares p_j and row agreements P_i (to 3 decimals).
    np.testing.assert_allclose(f.p_j, [0.143, 0.200, 0.279, 0.150, 0.229], atol=5e-4)
    np.testing.assert_allclose(item_agreement(FLEISS_TABLE)[:3], [1.000, 0.253, 0.308], atol=5e-4)
    assert f.kappa == pytest.approx(sm_fleiss_kappa(FLEISS_TABLE, method="fleiss"), rel=1e-12)


def test_fleiss_per_category_kappa_matches_definition():
    f = fleiss_kappa(FLEISS_TABLE)
    n, n_items = 14, 10
    for j in range(5):
        col = FLEISS_TABLE[:, j]
        p = col.sum() / (n_items * n)
        # kappa_j = (P_j - p_j) / (1 - p_j), with P_j the chance that a second rating of an item rated j is j.
        p_agree = (col * (col - 1)).sum() / (col.sum() * (n - 1))
        assert f.kappa_j[j] == pytest.approx((p_agree - p) / (1 - p), rel=1e-12)


def test_fleiss_example_through_codes():
    codes = codes_from_counts(FLEISS_TABLE)
    np.testing.assert_array_equal(label_counts(codes, 5), FLEISS_TABLE)
    assert percent_agreement(codes, 5)[0] == pytest.approx(fleiss_kappa(FLEISS_TABLE).p_bar)


@st.composite
def label_tables(draw, missing: bool, min_raters: int = 2):
    """(codes, K): n_items x n_raters category indices in 0..K-1, with -1 for missing labels if asked."""
    k = draw(st.integers(1, 5))
    n_items = draw(st.integers(1, 40))
    n_raters = draw(st.integers(min_raters, 6))
    low = -1 if missing else 0
    codes = draw(arrays(np.int64, (n_items, n_raters), elements=st.integers(low, k - 1)))
    return codes, k


def same_or_both_nan(ours: float, theirs: float) -> bool:
    if np.isnan(theirs):
        return bool(np.isnan(ours))
    return ours == pytest.approx(theirs, rel=1e-9, abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(label_tables(missing=True))
def test_cohen_matches_sklearn(table):
    codes, k = table
    a, b = codes[:, 0], codes[:, 1]
    both = (a >= 0) & (b >= 0)
    ours = cohen_kappa(a, b, k)
    assert ours.n_items == both.sum()
    if not both.any():
        assert np.isnan(ours.value) and ours.reason
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns on the 0/0 of a single class, and returns NaN
        theirs = cohen_kappa_score(a[both], b[both])
    assert same_or_both_nan(ours.value, theirs)
    assert ours.observed == pytest.approx(np.mean(a[both] == b[both]))
    if np.isnan(ours.value):
        assert ours.reason == SINGLE_CATEGORY


@settings(max_examples=150, deadline=None)
@given(label_tables(missing=False))
def test_fleiss_matches_statsmodels(table):
    codes, k = table
    ours = fleiss_kappa(label_counts(codes, k))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = sm_fleiss_kappa(aggregate_raters(codes)[0], method="fleiss")
    assert same_or_both_nan(ours.kappa, theirs)
    if len(np.unique(codes)) == 1:
        assert np.isnan(ours.kappa) and ours.reason == SINGLE_CATEGORY and ours.p_bar == 1.0


@settings(max_examples=150, deadline=None)
@given(label_tables(missing=True))
def test_krippendorff_matches_package_with_missing_labels(table):
    codes, k = table
    ours = krippendorff_alpha(codes, k)
    counts = label_counts(codes, k)
    pairable = counts.sum(axis=1) >= 2
    assert ours.n_items == pairable.sum()
    if (counts[pairable].sum(axis=0) > 0).sum() < 2:
        # Fewer than two categories among comparable labels: undefined; the package refuses or returns NaN.
        assert np.isnan(ours.value) and ours.reason
        return
    data = np.where(codes >= 0, codes, np.nan).T  # the package wants (raters, units), NaN = missing
    theirs = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert ours.value == pytest.approx(theirs, rel=1e-9, abs=1e-12)
    assert ours.value == pytest.approx(
        (ours.observed - ours.expected) / (1 - ours.expected), rel=1e-9, abs=1e-12
    )


@settings(max_examples=100, deadline=None)
@given(label_tables(missing=True))
def test_specific_agreement_and_confusion_against_naive_pairs(table):
    codes, k = table
    # Naive: walk every ordered pair of labels on every item.
    agree, chances = np.zeros(k), np.zeros(k)
    for row in codes:
        given_ = [c for c in row if c >= 0]
        for x in range(len(given_)):
            for y in range(len(given_)):
                if x != y:
                    chances[given_[x]] += 1
                    agree[given_[x]] += given_[x] == given_[y]
    expected = np.where(chances > 0, agree / np.where(chances > 0, chances, 1), np.nan)
    np.testing.assert_allclose(specific_agreement(codes, k), expected, rtol=1e-12)
    conf = confusion_table(codes[:, 0], codes[:, 1], k)
    naive = np.zeros((k, k), dtype=np.int64)
    for a, b in zip(codes[:, 0], codes[:, 1], strict=True):
        if a >= 0 and b >= 0:
            naive[a, b] += 1
    np.testing.assert_array_equal(conf, naive)


def test_perfect_agreement():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 4, size=60)
    codes = np.repeat(truth[:, None], 5, axis=1)
    assert percent_agreement(codes, 4) == (1.0, 60)
    assert cohen_kappa(codes[:, 0], codes[:, 3], 4).value == 1.0
    assert fleiss_kappa(label_counts(codes, 4)).kappa == pytest.approx(1.0)
    assert krippendorff_alpha(codes, 4).value == pytest.approx(1.0)
    np.testing.assert_allclose(specific_agreement(codes, 4), 1.0)


def test_chance_level_agreement_on_a_large_random_table():
    rng = np.random.default_rng(11)
    codes = rng.integers(0, 3, size=(3000, 4))
    assert abs(cohen_kappa(codes[:, 0], codes[:, 1], 3).value) < 0.05
    assert abs(fleiss_kappa(label_counts(codes, 3)).kappa) < 0.03
    assert abs(krippendorff_alpha(codes, 3).value) < 0.03
    assert percent_agreement(codes, 3)[0] == pytest.approx(1 / 3, abs=0.02)


def test_single_class_is_undefined_not_perfect_or_zero():
    codes = np.zeros((12, 3), dtype=np.int64)
    for result in (cohen_kappa(codes[:, 0], codes[:, 1], 1), krippendorff_alpha(codes, 1)):
        assert np.isnan(result.value) and result.reason == SINGLE_CATEGORY
        assert result.observed == 1.0 and result.expected == 1.0
    f = fleiss_kappa(label_counts(codes, 1))
    assert np.isnan(f.kappa) and f.p_bar == 1.0 and f.reason == SINGLE_CATEGORY
    assert np.isnan(f.kappa_j).all()
    assert percent_agreement(codes, 1)[0] == 1.0


def test_items_labelled_by_one_annotator_are_left_out():
    codes = np.array([[0, 0, -1], [1, 1, 1], [2, -1, -1], [-1, -1, 0]])
    assert percent_agreement(codes, 3) == (1.0, 2)
    alpha = krippendorff_alpha(codes, 3)
    assert alpha.n_items == 2
    # Dropping the unpairable rows changes nothing.
    assert alpha.value == krippendorff_alpha(codes[:2], 3).value
    assert np.isnan(item_agreement(label_counts(codes, 3))[2:]).all()


def test_no_common_items():
    codes = np.array([[0, -1], [-1, 1]])
    c = cohen_kappa(codes[:, 0], codes[:, 1], 2)
    assert np.isnan(c.value) and c.n_items == 0 and "no item" in c.reason
    k = krippendorff_alpha(codes, 2)
    assert np.isnan(k.value) and k.n_items == 0


@pytest.mark.parametrize(
    ("codes", "k", "error", "match"),
    [
        (np.zeros(3, dtype=np.int64), 2, ValueError, "2-D"),
        (np.zeros((3, 2)), 2, TypeError, "integers"),
        (np.array([[0, 2]]), 2, ValueError, "-1..1"),
        (np.array([[0, -2]]), 2, ValueError, "-1..1"),
    ],
)
def test_bad_codes_are_named(codes, k, error, match):
    with pytest.raises(error, match=match):
        krippendorff_alpha(codes, k)


def test_fleiss_needs_equal_ratings_per_item():
    with pytest.raises(ValueError, match="same number of ratings"):
        fleiss_kappa(np.array([[2, 0], [1, 2]]))
    with pytest.raises(ValueError, match=">= 2 ratings"):
        fleiss_kappa(np.array([[1, 0], [0, 1]]))
