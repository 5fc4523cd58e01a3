"""The slow-drift family: per-scalar two-sided CUSUMs over closed minute buckets, with their state machines.

Every closed minute bucket (stream time) with enough frames feeds each scalar's :class:`~camdrift.agent.drift.
statistics.Cusum` its standardized mean (in null sds of a bucket mean, autocorrelation priced in); a CUSUM whose
sum crosses ``cusum_h`` is a slow drift.

The reference mean is itself an estimate, and its error is the same in every bucket: an offset a CUSUM would
add up minute after minute until it alarms on a healthy line (with 100 s of reference at 5 fps a minute bucket is
more precise than the reference mean, and some CUSUM of 13 crossed within a day in every simulated deployment).
So each bucket's allowance is widened by the offset the reference cannot rule out: ``reference_z`` standard
errors of the reference mean, jointly for all scalars at ``REFERENCE_MISS``. A slow drift is claimed only once it
has moved a scalar beyond what the reference itself could have got wrong.

A sudden change is the window statistics' business, so the monitor keeps it out of the long windows: a bucket
that saw a sudden change in drift is not fed, and when a sudden change ends every CUSUM that only echoed it is
restarted (and recovered, if it had gone into drift alongside).
Hourly buckets (30 days) ride along for the long view.
"""

from __future__ import annotations

from collections.abc import Mapping
from statistics import NormalDist
from typing import Any

import numpy as np

from camdrift.agent.drift.contract import Section, Statistic, prefixed
from camdrift.agent.drift.decision import DRIFT, Cause, Hysteresis, Transition, restore_states, stack_states
from camdrift.agent.drift.explain import explain_slow
from camdrift.agent.drift.statistics import SCALAR_SD_FLOOR, Cusum, mean_sd
from camdrift.agent.drift.trend import Trend, fit_trend
from camdrift.agent.drift.windows import TimeBuckets
from camdrift.agent.reference.baseline import Baseline

# The chance that the reference mean of some scalar is off by more than the widened allowance covers.
REFERENCE_MISS = 0.05


class SlowDriftMonitor:
    """CUSUMs on the minute buckets of every scalar of ``baseline``.

    ``update(stream_time, scalars, sudden) -> self`` with one frame's (S,) scalars and whether a sudden-change
    statistic is in drift on it; :attr:`transitions` holds what it changed. recovery: closed buckets below the
    exit threshold before a CUSUM group recovers; minute_buckets / hour_buckets: long-window lengths;
    min_frames: a closed bucket with fewer frames is not fed to the CUSUMs.
    """

    def __init__(
        self,
        baseline: Baseline,
        *,
        recovery: int = 25,
        minute_buckets: int = 1440,
        hour_buckets: int = 720,
        min_frames: int = 1,
    ) -> None:
        self.baseline = baseline
        th = baseline.thresholds
        n_s = len(baseline.scalar_names)
        self.min_frames = min_frames
        self.minutes = TimeBuckets(th.bucket_seconds, minute_buckets, n_s)
        self.hours = TimeBuckets(3600.0, hour_buckets, n_s)
        self.cusums = [Cusum(th.cusum_k, th.cusum_h, cap=2.0 * th.cusum_h) for _ in range(n_s)]
        # standard error of each reference mean (its own frames, autocorrelation priced in), scalar units
        self.reference_se = np.array(
            [
                mean_sd(baseline.scalar_std[i], baseline.scalar_acf[i], baseline.frame_count)
                for i in range(n_s)
            ]
        )
        self.reference_z = NormalDist().inv_cdf(1.0 - REFERENCE_MISS / (2 * n_s))  # two-sided, every scalar
        self.groups = [
            Hysteresis(f"cusum.{s}", warn=th.cusum_h / 2, drift=th.cusum_h, persistence=1, recovery=recovery)
            for s in baseline.scalar_names
        ]
        self._index = {g.name: i for i, g in enumerate(self.groups)}
        self._echo = [False] * n_s  # CUSUM i went into drift while a sudden-change statistic was in drift
        self._was_sudden = False
        self._bucket_tainted = False  # the current minute bucket saw a sudden-change statistic in drift
        self.transitions: list[Transition] = []

    def update(self, stream_time: float, scalars: np.ndarray, sudden: bool) -> SlowDriftMonitor:
        """Add one frame's (S,) scalars observed at ``stream_time`` (s, non-decreasing)."""
        self.transitions = []
        self.hours.update(stream_time, scalars)
        closed = self.minutes.update(stream_time, scalars).closed
        # A minute bucket that saw a sudden change in drift measures that change, not a slow drift: not fed.
        tainted, self._bucket_tainted = (
            self._bucket_tainted,
            self._bucket_tainted if closed is None else False,
        )
        self._bucket_tainted |= sudden
        if closed is not None and closed.count >= self.min_frames and not tainted:
            b = self.baseline
            for i, (c, g) in enumerate(zip(self.cusums, self.groups, strict=True)):
                sd = max(mean_sd(b.scalar_std[i], b.scalar_acf[i], closed.count), SCALAR_SD_FLOOR[i])
                c.update(
                    (closed.mean[i] - b.scalar_mean[i]) / sd, self.reference_z * self.reference_se[i] / sd
                )
                if g.update(max(c.pos, c.neg)).transition:
                    self.transitions.append(g.transition)
                    if g.drift_detected:
                        self._echo[i] = sudden
        if self._was_sudden and not sudden:
            # A sudden change just ended. The minute sums gathered while it lasted measure it, not a slow drift:
            # restart every CUSUM that is not already tracking a slow drift of its own, and recover those that
            # only echoed the sudden change (they would otherwise hold the episode open long after the fix).
            for i, (c, g) in enumerate(zip(self.cusums, self.groups, strict=True)):
                if g.drift_detected and not self._echo[i]:
                    continue
                c.reset()
                if g.drift_detected:
                    self.transitions.append(g.clear())
                self._echo[i] = False
        self._was_sudden = sudden
        return self

    # --- read-only state ----------------------------------------------------------------------------------------

    @property
    def drift_detected(self) -> bool:
        """Some CUSUM is in drift (a slow drift)."""
        return any(g.state == DRIFT for g in self.groups)

    def statistics(self) -> tuple[Statistic, ...]:
        return tuple(
            Statistic(g.name, "cusum", g.state, float(c.magnitude), float(g.drift), False)
            for c, g in zip(self.cusums, self.groups, strict=True)
        )

    def score(self, name: str) -> float:
        return self.cusums[self._index[name]].magnitude

    def scalar_of(self, name: str) -> str | None:
        return self.baseline.scalar_names[self._index[name]]

    def numbers(self) -> tuple[tuple[str, float], ...]:
        """(``cusum.<scalar>``, signed CUSUM value) for every scalar."""
        return tuple((g.name, c.value) for c, g in zip(self.cusums, self.groups, strict=True))

    @property
    def nbytes(self) -> int:
        """Bytes held by the minute and hour buckets."""
        return self.minutes.nbytes + self.hours.nbytes

    # --- explaining ---------------------------------------------------------------------------------------------

    def causes(self, stream_time: float) -> tuple[Cause, ...]:
        """Causes of a slow drift, from the long window: the last hour of minute buckets vs the reference."""
        b = self.baseline
        times, counts, means = self.minutes.series(include_current=True)
        recent = times >= stream_time - 3600.0
        mean = np.average(means[recent], axis=0, weights=counts[recent])
        strength = np.array([max(c.pos, c.neg) / c.h for c in self.cusums]) * np.sign(
            [c.value for c in self.cusums]
        )
        return explain_slow(mean, strength, scalar_names=b.scalar_names, scalar_mean=b.scalar_mean)

    def trends(self, tolerance: float) -> list[Trend]:
        """Trend of every scalar over the minute buckets (flat-then-linear with a fitted change point while its
        CUSUM is away from zero), tolerance = +-``tolerance`` of the reference mean."""
        b = self.baseline
        times, counts, means = self.minutes.series(include_current=True)
        out = []
        for i, s in enumerate(b.scalar_names):
            tol = tolerance * abs(float(b.scalar_mean[i]))
            active = max(self.cusums[i].pos, self.cusums[i].neg) > 0  # a drift under way: find where it began
            t = fit_trend(
                s,
                times,
                means[:, i] if len(times) else means,
                counts,
                hinge=active,
                reference=float(b.scalar_mean[i]),
                lo=float(b.scalar_mean[i] - tol),
                hi=float(b.scalar_mean[i] + tol),
            )
            if t is not None:
                out.append(t)
        return out

    def forecast(self, scalar: str | None, tolerance: float) -> str:
        """Plain-word forecast of ``scalar`` (None or not a scalar: the one whose CUSUM leads), "" if no trend."""
        names = self.baseline.scalar_names
        if scalar not in names:
            scalar = names[int(np.argmax([max(c.pos, c.neg) for c in self.cusums]))]
        trend = next((t for t in self.trends(tolerance) if t.name == scalar), None)
        return trend.text if trend is not None else ""

    # --- state (see engine_state) -------------------------------------------------------------------------------

    def state_arrays(self) -> dict[str, np.ndarray]:
        sums = np.array([c.state_arrays()["sums"] for c in self.cusums], np.float64).reshape(-1, 2)
        return (
            prefixed("minutes.", self.minutes.state_arrays())
            | prefixed("hours.", self.hours.state_arrays())
            | {"cusum": sums, "groups": stack_states(self.groups)}
        )

    def state_header(self) -> dict[str, Any]:
        return (
            prefixed("minutes_", self.minutes.state_header())
            | prefixed("hours_", self.hours.state_header())
            | {
                "cusum_echo": [bool(e) for e in self._echo],
                "was_sudden": bool(self._was_sudden),
                "bucket_tainted": bool(self._bucket_tainted),
            }
        )

    def restore(self, header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        self.minutes.restore(Section(header, "minutes_"), Section(arrays, "minutes."))
        self.hours.restore(Section(header, "hours_"), Section(arrays, "hours."))
        for c, row in zip(self.cusums, arrays["cusum"], strict=True):
            c.restore({}, {"sums": row})
        restore_states(self.groups, arrays["groups"])
        # absent from the first files written: nothing was echoed, tainted or sudden then
        self._echo = [bool(e) for e in header.get("cusum_echo", [False] * len(self.cusums))]
        self._was_sudden = bool(header.get("was_sudden", False))
        self._bucket_tainted = bool(header.get("bucket_tainted", False))
        self.transitions = []
