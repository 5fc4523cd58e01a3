"""Agreement over time: per-annotator agreement with the others in windows of items, and a drift flag.

Items are ordered by time (an item's time is its earliest label time; untimed data keeps input order) and cut
into consecutive windows of ``window`` items. In each window, an annotator's agreement is the mean, over the
window's items it labelled alongside at least one other annotator, of the share of the others who gave the
same label. The others' agreement is the mean pairwise agreement among the other annotators on the same items
(available with two or more others): it tells a drifting annotator from a batch of harder items.

:class:`AgreementDrift` flags a window when the annotator's agreement falls significantly below its own
earlier level. Earlier level = the pooled rate of its earlier windows that were not significantly low
(flagged or not: a drift must not pull the reference down with it). "Significantly" = a one-sided two-proportion z-test with items as trials,
z <= -z_threshold, and a drop of at least ``min_drop``; when the others' agreement is known, the annotator
must also sit below it, by ``min_drop`` and by z_threshold standard errors (a batch of hard items lowers
everyone's agreement; only an annotator who parts from the others has drifted). Item-level rates are fractions when there are several others, so the
z-test is an approximation; ``min_drop`` keeps a large window from flagging a trivial drop. With only two
annotators the data cannot say which of them moved: both get flagged.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from camdrift.calibration.agreement.kappa import item_agreement, label_counts


class AgreementDrift:
    """Detects a drop in one annotator's agreement rate, window by window (river-style ``update``).

    z_threshold: one-sided z below which a drop counts (3.0 ~ p 0.0013, few false flags over many windows).
    min_drop: smallest drop in agreement rate (absolute, 0..1) worth flagging.
    min_items: windows with fewer comparable items are recorded but never flagged.

    >>> rng = np.random.default_rng(1)
    >>> d = AgreementDrift()
    >>> flags = [d.update(float((rng.random(50) < (0.9 if w < 4 else 0.5)).sum()), 50).drift_detected
    ...          for w in range(6)]
    >>> flags
    [False, False, False, False, True, True]
    """

    def __init__(self, z_threshold: float = 3.0, min_drop: float = 0.15, min_items: int = 10):
        if not z_threshold > 0:
            raise ValueError(f"z_threshold must be > 0, got {z_threshold}")
        if not 0.0 <= min_drop < 1.0:
            raise ValueError(f"min_drop must be in [0, 1), got {min_drop}")
        if min_items < 1:
            raise ValueError(f"min_items must be >= 1, got {min_items}")
        self.z_threshold = z_threshold
        self.min_drop = min_drop
        self.min_items = min_items
        self._base_agreed = 0.0
        self._base_items = 0
        self._rate = float("nan")
        self._z = float("nan")
        self._baseline = float("nan")
        self._drift = False

    def update(self, agreed: float, items: int, others_rate: float | None = None) -> AgreementDrift:
        """Feed one window: ``agreed`` (sum of per-item agreement, 0..items) over ``items`` compared items."""
        if items < 0 or not 0.0 <= agreed <= items:
            raise ValueError(f"need 0 <= agreed <= items, got agreed={agreed}, items={items}")
        self._rate = agreed / items if items else float("nan")
        self._baseline = self._base_agreed / self._base_items if self._base_items else float("nan")
        self._z = float("nan")
        self._drift = False
        dropped = False
        if items and self._base_items:
            pooled = (agreed + self._base_agreed) / (items + self._base_items)
            se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / items + 1.0 / self._base_items))
            # se 0: the pooled rate is 0 or 1, so both rates are equal
            self._z = (self._rate - self._baseline) / se if se > 0 else 0.0
            dropped = self._z <= -self.z_threshold and self._baseline - self._rate >= self.min_drop
            self._drift = (
                dropped
                and items >= self.min_items
                and (others_rate is None or math.isnan(others_rate) or self._below(others_rate, items))
            )
        if not dropped:  # a low window, flagged or not, must not drag the reference down with it
            self._base_agreed += agreed
            self._base_items += items
        return self

    def _below(self, others_rate: float, items: int) -> bool:
        """Whether the last rate sits significantly (same z, same min_drop) below the others' agreement."""
        gap = others_rate - self._rate
        se = math.sqrt((self._rate * (1.0 - self._rate) + others_rate * (1.0 - others_rate)) / items)
        return gap >= self.min_drop and (se == 0.0 or gap / se >= self.z_threshold)

    @property
    def drift_detected(self) -> bool:
        """Whether the last window was flagged."""
        return self._drift

    @property
    def rate(self) -> float:
        """Agreement rate of the last window (NaN if it had no comparable item)."""
        return self._rate

    @property
    def baseline(self) -> float:
        """Pooled rate of the earlier, not significantly low windows the last window was compared with."""
        return self._baseline

    @property
    def z(self) -> float:
        """z statistic of the last window against the baseline (NaN without one)."""
        return self._z


class Window(NamedTuple):
    """One window of items.

    items: (start, stop) positions in the time-ordered item list; t_start, t_end: POSIX seconds or NaN;
    rate, compared: (A,) agreement with the others and number of compared items per annotator (NaN / 0 when
    the annotator labelled none); others: (A,) the others' agreement among themselves (NaN with < 2 others);
    z, baseline: (A,) test statistic and earlier level; flagged: (A,) bool.
    """

    start: int
    stop: int
    t_start: float
    t_end: float
    rate: np.ndarray
    compared: np.ndarray
    others: np.ndarray
    z: np.ndarray
    baseline: np.ndarray
    flagged: np.ndarray


def time_order(times: np.ndarray) -> np.ndarray:
    """(n_items,) int64 order of items by earliest label time; stable, so untimed data keeps input order.

    times: (n_items, n_annotators) float64 POSIX seconds, NaN = no time. Raises ValueError when only some
    items carry a time (their order against the untimed ones would be made up).
    """
    has = ~np.isnan(times)
    timed = has.any(axis=1)
    if timed.any() and not timed.all():
        raise ValueError(f"{int((~timed).sum())} of {len(timed)} items have no time while others do")
    if not timed.any():
        return np.arange(times.shape[0])
    first = np.where(has, times, np.inf).min(axis=1)
    return np.argsort(first, kind="stable")


def agreement_windows(
    codes: np.ndarray,
    n_categories: int,
    times: np.ndarray,
    window: int = 50,
    z_threshold: float = 3.0,
    min_drop: float = 0.15,
    min_items: int = 10,
) -> list[Window]:
    """Windows of ``window`` time-ordered items with each annotator's agreement and drift flag.

    codes: (n_items, A) category index, -1 missing; times: (n_items, A) POSIX seconds, NaN missing.
    The last window may be shorter; it is merged into the previous one when under half a window.
    """
    if window < 2:
        raise ValueError(f"window must be >= 2 items, got {window}")
    order = time_order(np.asarray(times, dtype=np.float64))
    codes = np.asarray(codes)[order]
    item_time = np.where(np.isnan(times), np.inf, times).min(axis=1)[order]
    n_items, n_ann = codes.shape
    bounds = list(range(0, n_items, window)) + [n_items]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] < window / 2:
        del bounds[-2]
    detectors = [AgreementDrift(z_threshold, min_drop, min_items) for _ in range(n_ann)]
    out = []
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        chunk = codes[start:stop]
        rate = np.full(n_ann, np.nan)
        compared = np.zeros(n_ann, dtype=np.int64)
        others = np.full(n_ann, np.nan)
        z = np.full(n_ann, np.nan)
        base = np.full(n_ann, np.nan)
        flagged = np.zeros(n_ann, dtype=bool)
        for a in range(n_ann):
            rest = np.delete(chunk, a, axis=1)
            mine = chunk[:, a]
            n_other = (rest >= 0).sum(axis=1)
            ok = (mine >= 0) & (n_other > 0)
            share = (rest[ok] == mine[ok, None]).sum(axis=1) / n_other[ok]
            compared[a] = int(ok.sum())
            if n_ann >= 3:
                p_rest = item_agreement(label_counts(rest[ok], n_categories))
                others[a] = float(np.nanmean(p_rest)) if (~np.isnan(p_rest)).any() else np.nan
            agreed = min(
                float(share.sum()), float(compared[a])
            )  # summation rounding must not exceed the count
            det = detectors[a].update(agreed, compared[a], None if np.isnan(others[a]) else others[a])
            rate[a], z[a], base[a], flagged[a] = det.rate, det.z, det.baseline, det.drift_detected
        t = item_time[start:stop]
        t = t[np.isfinite(t)]
        t0, t1 = (float(t.min()), float(t.max())) if t.size else (np.nan, np.nan)
        out.append(Window(start, stop, t0, t1, rate, compared, others, z, base, flagged))
    return out
