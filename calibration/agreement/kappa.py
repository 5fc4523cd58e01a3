"""Nominal agreement statistics over a label table, numpy only.

The table is ``codes: (n_items, n_annotators) int``: the category index ``0..K-1`` each annotator gave each
item, ``-1`` where the annotator gave no label. Every statistic documents which items it uses:

- pairwise ones (percent agreement, Cohen) use the items both annotators labelled;
- Fleiss' kappa needs the same number of ratings per item, so it uses the items every annotator labelled;
- Krippendorff's alpha and the specific agreement use every item with two or more labels (an item labelled by
  one annotator cannot be compared with anything and carries no information on agreement).

Undefined values are NaN with a ``reason``, never a made-up number. The main case is a single category in use:
expected agreement is 1, so ``(p_o - p_e) / (1 - p_e)`` is 0/0 even though observed agreement is perfect.
scikit-learn's ``cohen_kappa_score`` and statsmodels' ``fleiss_kappa`` return NaN there and the
``krippendorff`` package refuses the input; camdrift follows them with NaN (and the reason), and reports the
percent agreement (1.0) beside it, which is the honest summary of such data.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

SINGLE_CATEGORY = (
    "only one category in use: expected agreement is 1, so chance-corrected agreement is undefined"
)


class Agreement(NamedTuple):
    """A chance-corrected agreement: ``value = (observed - expected) / (1 - expected)``.

    observed, expected: agreement proportions in [0, 1]; n_items: items used;
    reason: why value is NaN, else "".
    """

    value: float
    observed: float
    expected: float
    n_items: int
    reason: str = ""


class Fleiss(NamedTuple):
    """Fleiss (1971) kappa over items that all ``n_raters`` labelled.

    kappa, p_bar (mean observed agreement P-bar), p_e_bar (expected agreement, sum of p_j^2);
    p_j: (K,) share of all assignments per category;
    kappa_j: (K,) per-category kappa, NaN where p_j is 0 or 1.
    """

    kappa: float
    p_bar: float
    p_e_bar: float
    p_j: np.ndarray
    kappa_j: np.ndarray
    n_items: int
    n_raters: int
    reason: str = ""


def _check_codes(codes: np.ndarray, n_categories: int) -> np.ndarray:
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError(f"codes must be 2-D (n_items, n_annotators), got shape {codes.shape}")
    if not np.issubdtype(codes.dtype, np.integer):
        raise TypeError(f"codes must be integers (category index, -1 = missing), got {codes.dtype}")
    if n_categories < 1:
        raise ValueError(f"n_categories must be >= 1, got {n_categories}")
    if codes.size and (codes.min() < -1 or codes.max() >= n_categories):
        raise ValueError(f"codes must lie in -1..{n_categories - 1}, got {codes.min()}..{codes.max()}")
    return codes.astype(np.int64, copy=False)


def label_counts(codes: np.ndarray, n_categories: int) -> np.ndarray:
    """(n_items, K) int64: how many annotators put each item in each category (missing labels not counted)."""
    codes = _check_codes(codes, n_categories)
    n_items = codes.shape[0]
    rows = np.broadcast_to(np.arange(n_items)[:, None], codes.shape)
    present = codes >= 0
    flat = rows[present] * n_categories + codes[present]
    return np.bincount(flat, minlength=n_items * n_categories).reshape(n_items, n_categories)


def item_agreement(counts: np.ndarray) -> np.ndarray:
    """(n_items,) float64 share of agreeing ordered pairs of labels per item (Fleiss' P_i), NaN if < 2 labels.

    counts: (n_items, K) label counts. P_i = sum_j n_ij (n_ij - 1) / (m_i (m_i - 1)), m_i = sum_j n_ij.
    """
    counts = np.asarray(counts, dtype=np.int64)
    m = counts.sum(axis=1)
    pairs = m * (m - 1)
    agree = (counts * (counts - 1)).sum(axis=1)
    out = np.full(counts.shape[0], np.nan)
    ok = pairs > 0
    out[ok] = agree[ok] / pairs[ok]
    return out


def percent_agreement(codes: np.ndarray, n_categories: int) -> tuple[float, int]:
    """(mean P_i over items with >= 2 labels, number of such items); NaN if there is none.

    With two annotators this is the share of commonly labelled items on which they agree.
    """
    p = item_agreement(label_counts(codes, n_categories))
    ok = ~np.isnan(p)
    return (float(p[ok].mean()) if ok.any() else float("nan")), int(ok.sum())


def confusion_table(a: np.ndarray, b: np.ndarray, n_categories: int) -> np.ndarray:
    """(K, K) int64 counts of items labelled ``i`` by annotator a (row) and ``j`` by b (column).

    a, b: (n_items,) category codes, -1 = missing; items missing for either annotator are skipped.
    """
    codes = _check_codes(np.stack([np.asarray(a), np.asarray(b)], axis=1), n_categories)
    both = (codes >= 0).all(axis=1)
    flat = codes[both, 0] * n_categories + codes[both, 1]
    return np.bincount(flat, minlength=n_categories * n_categories).reshape(n_categories, n_categories)


def cohen_from_table(table: np.ndarray) -> Agreement:
    """Cohen's (1960) kappa of a (K, K) confusion table of counts between two annotators."""
    table = np.asarray(table)
    if table.ndim != 2 or table.shape[0] != table.shape[1]:
        raise ValueError(f"table must be square (K, K), got shape {table.shape}")
    n = int(table.sum())
    if n == 0:
        return Agreement(float("nan"), float("nan"), float("nan"), 0, "no item labelled by both annotators")
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    p_o = float(np.trace(table)) / n
    chance = float((rows.astype(np.float64) * cols).sum())
    p_e = chance / (float(n) * n)
    if chance == float(n) * n:  # exact: both marginals sit on one category
        return Agreement(float("nan"), p_o, 1.0, n, SINGLE_CATEGORY)
    return Agreement((p_o - p_e) / (1.0 - p_e), p_o, p_e, n)


def cohen_kappa(a: np.ndarray, b: np.ndarray, n_categories: int) -> Agreement:
    """Cohen's kappa between two annotators' codes (n_items,), over the items both labelled."""
    return cohen_from_table(confusion_table(a, b, n_categories))


def fleiss_kappa(counts: np.ndarray) -> Fleiss:
    """Fleiss' kappa of a (n_items, K) count table whose rows all sum to the same number of raters n >= 2.

    P_i = sum_j n_ij (n_ij - 1) / (n (n - 1)); P-bar = mean P_i; p_j = sum_i n_ij / (N n); P_e = sum_j p_j^2;
    kappa = (P-bar - P_e) / (1 - P_e); kappa_j = 1 - sum_i n_ij (n - n_ij) / (N n (n - 1) p_j (1 - p_j)).
    """
    counts = np.asarray(counts)
    if counts.ndim != 2:
        raise ValueError(f"counts must be 2-D (n_items, n_categories), got shape {counts.shape}")
    if not np.issubdtype(counts.dtype, np.integer) or (counts.size and counts.min() < 0):
        raise ValueError("counts must be non-negative integers")
    counts = counts.astype(np.int64)
    k = counts.shape[1]
    nan_k = np.full(k, np.nan)
    if counts.shape[0] == 0:
        return Fleiss(float("nan"), float("nan"), float("nan"), nan_k, nan_k, 0, 0, "no item labelled by all")
    per_item = counts.sum(axis=1)
    n = int(per_item[0])
    if (per_item != n).any():
        raise ValueError(
            f"every item needs the same number of ratings; got {per_item.min()}..{per_item.max()}"
        )
    if n < 2:
        raise ValueError(f"Fleiss' kappa needs >= 2 ratings per item, got {n}")
    n_items = counts.shape[0]
    p_bar = float(item_agreement(counts).mean())
    totals = counts.sum(axis=0)
    p_j = totals / float(n_items * n)
    p_e = float((p_j * p_j).sum())
    disagree = (counts * (n - counts)).sum(axis=0).astype(np.float64)
    spread = n_items * n * (n - 1) * p_j * (1.0 - p_j)
    kappa_j = np.full(k, np.nan)
    used = (totals > 0) & (totals < n_items * n)  # p_j strictly between 0 and 1
    kappa_j[used] = 1.0 - disagree[used] / spread[used]
    if (totals == n_items * n).any():
        return Fleiss(float("nan"), p_bar, 1.0, p_j, kappa_j, n_items, n, SINGLE_CATEGORY)
    return Fleiss((p_bar - p_e) / (1.0 - p_e), p_bar, p_e, p_j, kappa_j, n_items, n)


def krippendorff_alpha(codes: np.ndarray, n_categories: int) -> Agreement:
    """Krippendorff's alpha, nominal metric, over items with >= 2 labels (missing labels allowed).

    Coincidences o_ck = sum_u n_uc n_uk / (m_u - 1) (c != k; n_uc (n_uc - 1) / (m_u - 1) on the diagonal);
    n_c = sum_k o_ck, n = sum_c n_c; alpha = 1 - (n - 1) (n - sum_c o_cc) / (n^2 - sum_c n_c^2).
    ``observed`` is sum_c o_cc / n and ``expected`` is sum_c n_c (n_c - 1) / (n (n - 1)), so alpha has the
    kappa form (observed - expected) / (1 - expected). ``n_items`` counts the pairable items.
    """
    counts = label_counts(codes, n_categories)
    m = counts.sum(axis=1)
    counts = counts[m >= 2]
    m = m[m >= 2]
    if counts.shape[0] == 0:
        return Agreement(
            float("nan"), float("nan"), float("nan"), 0, "no item labelled by two or more annotators"
        )
    w = 1.0 / (m - 1.0)
    coinc = (counts * w[:, None]).T @ counts.astype(np.float64)
    coinc[np.diag_indices_from(coinc)] -= (counts * w[:, None]).sum(axis=0)
    n_c = coinc.sum(axis=1)
    n = float(m.sum())  # == n_c.sum(), exact in integers
    observed = float(np.trace(coinc)) / n
    spread = n * n - float((n_c * n_c).sum())
    expected = float((n_c * (n_c - 1.0)).sum()) / (n * (n - 1.0))
    if (counts.sum(axis=0) == n).any():
        return Agreement(float("nan"), observed, 1.0, counts.shape[0], SINGLE_CATEGORY)
    alpha = 1.0 - (n - 1.0) * (n - float(np.trace(coinc))) / spread
    return Agreement(alpha, observed, expected, counts.shape[0])


def specific_agreement(codes: np.ndarray, n_categories: int) -> np.ndarray:
    """(K,) float64 specific agreement per category, NaN for a category nobody used on a pairable item.

    Given that one annotator chose category j on an item, the chance that another annotator of the same item
    chose j too: sum_i n_ij (n_ij - 1) / sum_i n_ij (m_i - 1), over items with m_i >= 2 labels. With two
    annotators it is the positive specific agreement 2 a / (2 a + b + c) of the one-vs-rest table.
    """
    counts = label_counts(codes, n_categories)
    m = counts.sum(axis=1)
    counts, m = counts[m >= 2], m[m >= 2]
    agree = (counts * (counts - 1)).sum(axis=0).astype(np.float64)
    chances = (counts * (m - 1)[:, None]).sum(axis=0).astype(np.float64)
    out = np.full(n_categories, np.nan)
    ok = chances > 0
    out[ok] = agree[ok] / chances[ok]
    return out
