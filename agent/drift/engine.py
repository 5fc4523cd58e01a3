"""The drift engine: per-frame statistics in, drift decisions with their evidence out.

Per frame (O(bins + thumbnail) work): the features enter the sliding window and the stream-time buckets; once
the window is full every statistic is scored against the baseline and fed to its :class:`GroupState`; every
closed minute bucket feeds a two-sided CUSUM per scalar (slow drift). Group transitions become camera-level
:class:`Decision` events with the numbers, ranked causes and, for slow drift, a trend forecast. Only stream time
is used, so replaying the same frames gives the same decisions (and the same episode ids).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from camdrift.agent.drift.activations import ActivationMonitor
from camdrift.agent.drift.decision import Decision, Episodes, GroupState
from camdrift.agent.drift.engine_state import load_engine_state, save_engine_state
from camdrift.agent.drift.explain import explain, explain_slow
from camdrift.agent.drift.features import FrameFeatures, extract
from camdrift.agent.drift.statistics import (
    SCALAR_SD_FLOOR,
    Cusum,
    WindowStats,
    mean_sd,
    px_per_cell,
    window_statistics,
)
from camdrift.agent.drift.trend import Trend, fit_trend
from camdrift.agent.drift.windows import SlidingWindow, TimeBuckets
from camdrift.agent.reference.baseline import Baseline
from camdrift.kernels import FrameStats


class EngineState(NamedTuple):
    """Read-only snapshot: frames seen, last frame index / stream time (s), window fill, the open episode id
    ("" if none), each group's state (name, ok|warning|drift), and the bytes the windows hold."""

    frames: int
    frame_index: int
    stream_time: float
    window_count: int
    episode_id: str
    groups: tuple[tuple[str, str], ...]
    nbytes: int


class DriftEngine:
    """Streaming drift detector for one camera against its :class:`Baseline`.

    camera_id: defaults to the baseline's; persistence: consecutive frames above the drift threshold before a
    group is in drift; recovery: consecutive frames (buckets for CUSUM groups) below the exit threshold before it
    recovers; minute_buckets / hour_buckets: long-window lengths (default 24 h of minutes, 30 days of hours);
    cusum_min_frames: a closed minute bucket with fewer frames is not fed to the CUSUM; explain_frames: the
    last frames a sudden change is explained from; tolerance: relative band around each reference mean that
    slow-drift forecasts count down to (0.10 = +-10 %); activations: watch the baseline's activation group, if
    it has one (False: the agent runs no model, so the group would only ever warm up).

    ``update(stats_or_features, frame_index, stream_time) -> self``; :attr:`decisions` holds what that frame
    decided. A seeded shift (the light 15 % down from frame 50) and where it is caught:

    >>> from camdrift.agent.sim.line import Drift, ProductionLine
    >>> from camdrift.calibration.calibrate.build import build_baseline
    >>> from camdrift.kernels import frame_stats
    >>> kernel = {"thumb_size": (16, 16), "grid": 4}
    >>> ref = ProductionLine(seed=1, width=160, height=120)
    >>> baseline = build_baseline([frame_stats(ref.frame(i), **kernel) for i in range(300)], camera_id="cam",
    ...     source="doctest", resolution=(160, 120), window=10, n_replicates=300, **kernel)
    >>> engine, line = DriftEngine(baseline), ProductionLine(seed=2, width=160, height=120)
    >>> for i in range(80):
    ...     frame = line.frame(i, Drift(gain=0.85) if i >= 50 else Drift())
    ...     for d in engine.update(frame_stats(frame, **kernel), i, line.time(i)).decisions:
    ...         if d.kind == "drift.started":
    ...             print(d.frame_index, d.group, "->", d.causes[0].text)
    52 shift.brightness -> mean luma -15% since baseline, uniform across the frame: lighting
    """

    def __init__(
        self,
        baseline: Baseline,
        *,
        camera_id: str | None = None,
        persistence: int = 3,
        recovery: int = 25,
        minute_buckets: int = 1440,
        hour_buckets: int = 720,
        cusum_min_frames: int = 1,
        explain_frames: int = 5,
        tolerance: float = 0.10,
        activations: bool = True,
    ) -> None:
        self.baseline = baseline
        self.camera_id = baseline.camera_id if camera_id is None else camera_id
        self.persistence = persistence
        self.recovery = recovery
        self.cusum_min_frames = cusum_min_frames
        self.explain_frames = explain_frames
        self.tolerance = tolerance
        th = baseline.thresholds
        self._names = th.names
        self._n_bins = baseline.n_bins
        template = FrameFeatures(
            counts=np.zeros((len(baseline.edges), self._n_bins), np.int64),
            scalars=np.zeros(len(baseline.scalar_names)),
            thumbnail=np.zeros(baseline.thumbnail.shape),
            grid_sharpness=np.zeros(baseline.grid_log_sharpness.shape),
            grid_luma=np.zeros(baseline.grid_luma.shape),
        )
        self.window = SlidingWindow(th.window, template)
        n_s = len(baseline.scalar_names)
        self.minutes = TimeBuckets(th.bucket_seconds, minute_buckets, n_s)
        self.hours = TimeBuckets(3600.0, hour_buckets, n_s)
        self.groups = [
            GroupState(n, warn=float(w), drift=float(d), persistence=persistence, recovery=recovery)
            for n, w, d in zip(th.names, th.warn, th.drift, strict=True)
        ]
        self.cusums = [Cusum(th.cusum_k, th.cusum_h, cap=2.0 * th.cusum_h) for _ in range(n_s)]
        self._echo = [False] * n_s  # CUSUM i went into drift while a sudden-change statistic was in drift
        self._was_sudden = False
        self._bucket_tainted = False  # the current minute bucket saw a sudden-change statistic in drift
        self.cusum_groups = [
            GroupState(f"cusum.{s}", warn=th.cusum_h / 2, drift=th.cusum_h, persistence=1, recovery=recovery)
            for s in baseline.scalar_names
        ]
        self.episodes = Episodes(self.camera_id, baseline.baseline_id)
        # the activation group (optional): its own window of activation samples, arriving every n-th frame
        self.activations = (
            None
            if baseline.activations is None or not activations
            else ActivationMonitor(
                baseline.activations,
                persistence=persistence,
                # recovery is counted in samples, one per every_n frames: the same stream time as the others'
                recovery=max(1, -(-recovery // baseline.activations.every_n)),
            )
        )
        centers = []
        for e in baseline.edges:
            centers.append(0.5 * (e[:-1] + e[1:] - 1).astype(np.float64))
        self._centers = np.stack(centers)
        self._cell_px = px_per_cell(baseline.resolution, baseline.roi, baseline.thumbnail.shape)
        self.frames = 0
        self.alert_start = -1  # frame count at which a statistic last rose above warn (-1: none above)
        self.frame_index = -1
        self.stream_time = -np.inf
        self.last: WindowStats | None = None
        self._decisions: tuple[Decision, ...] = ()

    # --- streaming API ------------------------------------------------------------------------------------------

    @property
    def decisions(self) -> tuple[Decision, ...]:
        """Decisions made by the last :meth:`update`."""
        return self._decisions

    @property
    def drift_detected(self) -> bool:
        return bool(self.episodes.current)

    def features(self, stats: FrameStats) -> FrameFeatures:
        f = extract(stats, self.baseline.lut, self._n_bins)
        if (
            f.thumbnail.shape != self.baseline.thumbnail.shape
            or f.grid_luma.shape != self.baseline.grid_luma.shape
        ):
            raise ValueError(
                f"frame thumbnail {f.thumbnail.shape} / grid {f.grid_luma.shape} differ from the baseline's "
                f"{self.baseline.thumbnail.shape} / {self.baseline.grid_luma.shape}: kernel parameters changed"
            )
        return f

    def update(
        self,
        x: FrameStats | FrameFeatures,
        frame_index: int,
        stream_time: float,
        activations: np.ndarray | None = None,
    ) -> DriftEngine:
        """Add one analysed frame observed at ``stream_time`` (s, non-decreasing), with its (C,) activation
        summary when the model ran on it (ignored if the baseline has no activation group)."""
        if stream_time < self.stream_time:
            raise ValueError(
                f"stream time {stream_time} s is earlier than the previous frame's {self.stream_time} s"
            )
        f = x if isinstance(x, FrameFeatures) else self.features(x)
        self.frames += 1
        self.frame_index = int(frame_index)
        self.stream_time = float(stream_time)
        self.window.update(f)
        self.hours.update(stream_time, f.scalars)
        closed = self.minutes.update(stream_time, f.scalars)
        transitions = []
        if self.window.full:
            b = self.baseline
            self.last = window_statistics(
                sums=self.window.sums(),
                n=self.window.count,
                ref_counts=b.ref_counts,
                alpha=b.alpha,
                bin_centers=self._centers,
                scalar_mean=b.scalar_mean,
                scalar_sd=b.window_sd,
                grid_ref=(b.grid_log_sharpness, b.grid_luma),
                grid_sd=(b.grid_sharpness_sd, b.grid_luma_sd),
                ref_thumbnail=b.thumbnail,
                cell_px=self._cell_px,
                thumb_weight=b.thumbnail_weight,
            )
            for g, s in zip(self.groups, self.last.scores, strict=True):
                if g.update(float(s)).transition:
                    transitions.append(g.transition)
            # the frame at which some statistic first rose above its warn level: the change's onset estimate
            if any(s > g.warn for g, s in zip(self.groups, self.last.scores, strict=True)):
                self.alert_start = self.frames if self.alert_start < 0 else self.alert_start
            else:
                self.alert_start = -1
        if activations is not None and self.activations is not None:
            transitions += self.activations.update(activations).transitions
        sudden = any(g.drift_detected for g in self.groups)
        # A minute bucket that saw a sudden change in drift measures that change, not a slow drift: not fed.
        tainted, self._bucket_tainted = (
            self._bucket_tainted,
            self._bucket_tainted if closed is None else False,
        )
        self._bucket_tainted |= sudden
        if closed is not None and closed.count >= self.cusum_min_frames and not tainted:
            b = self.baseline
            for i, (c, g) in enumerate(zip(self.cusums, self.cusum_groups, strict=True)):
                sd = max(mean_sd(b.scalar_std[i], b.scalar_acf[i], closed.count), SCALAR_SD_FLOOR[i])
                c.update((closed.mean[i] - b.scalar_mean[i]) / sd)
                if g.update(max(c.pos, c.neg)).transition:
                    transitions.append(g.transition)
                    if g.drift_detected:
                        self._echo[i] = sudden
        if self._was_sudden and not sudden:
            # A sudden change just ended. The minute sums gathered while it lasted measure it, not a slow drift:
            # restart every CUSUM that is not already tracking a slow drift of its own, and recover those that
            # only echoed the sudden change (they would otherwise hold the episode open long after the fix).
            for i, (c, g) in enumerate(zip(self.cusums, self.cusum_groups, strict=True)):
                if g.drift_detected and not self._echo[i]:
                    continue
                c.reset()
                if g.drift_detected:
                    transitions.append(g.clear())
                self._echo[i] = False
        self._was_sudden = sudden
        kinds = self.episodes.kinds(transitions, self.frame_index, self.stream_time)
        self._decisions = tuple(self._decision(kind, group) for kind, group in kinds)
        self.episodes.close_if_ended()
        return self

    # --- evidence -----------------------------------------------------------------------------------------------

    def _score(self, group: str) -> tuple[float, float]:
        if group.startswith("cusum."):
            i = self.baseline.scalar_names.index(group[6:])
            c = self.cusums[i]
            return max(c.pos, c.neg), c.h
        if group.startswith("act."):
            m = self.activations
            i = m.ref.names.index(group)
            return (float(m.last.scores[i]) if m.last is not None else 0.0), float(m.ref.drift[i])
        i = self._names.index(group)
        score = float(self.last.scores[i]) if self.last is not None else 0.0
        return score, float(self.baseline.thresholds.drift[i])

    def _numbers(self) -> tuple[tuple[str, float], ...]:
        out: list[tuple[str, float]] = []
        ws = self.last
        if ws is not None:
            for k, g in enumerate(("blue", "green", "red", "luma")):
                out += [
                    (f"psi.{g}", float(ws.psi[k])),
                    (f"js.{g}", float(ws.js[k])),
                    (f"w1.{g}", float(ws.w1[k])),
                ]
            for i, s in enumerate(self.baseline.scalar_names):
                out += [(f"z.{s}", float(ws.z[i])), (f"rel.{s}", float(ws.rel[i]))]
            out += [("shift_x_px", ws.shift_px[0]), ("shift_y_px", ws.shift_px[1])]
        for s, c in zip(self.baseline.scalar_names, self.cusums, strict=True):
            out.append((f"cusum.{s}", c.value))
        if self.activations is not None:
            out += self.activations.numbers()
        return tuple(out)

    def _recent_stats(self) -> tuple[WindowStats, np.ndarray]:
        """Statistics of the frames since a statistic first rose above its warn level (at least 2; without an
        alert the last ``explain_frames``): a decision is explained by what changed, not diluted by the older part
        of the window. Null sds are scaled by sqrt(window / n); PSI thresholds by window / n."""
        b = self.baseline
        since = self.frames - self.alert_start + 1 if self.alert_start >= 0 else self.explain_frames
        n = int(min(max(since, 2), self.window.count))
        th = b.thresholds
        drift = np.array(
            [
                d * th.window / n if m.startswith("psi.") else d
                for m, d in zip(th.names, th.drift, strict=True)
            ]
        )
        inflate = np.sqrt(self.window.size / n)
        recent = window_statistics(
            sums=self.window.recent_sums(n),
            n=n,
            ref_counts=b.ref_counts,
            alpha=b.alpha,
            bin_centers=self._centers,
            scalar_mean=b.scalar_mean,
            scalar_sd=b.window_sd * inflate,
            grid_ref=(b.grid_log_sharpness, b.grid_luma),
            grid_sd=(b.grid_sharpness_sd * inflate, b.grid_luma_sd * inflate),
            ref_thumbnail=b.thumbnail,
            cell_px=self._cell_px,
            thumb_weight=b.thumbnail_weight,
            evidence=False,
        )
        # Displacement is read from the whole window: a few frames' mean thumbnail is dominated by where the
        # products happen to be.
        scores = recent.scores.copy()
        d = self._names.index("displacement")
        scores[d] = self.last.scores[d]
        return recent._replace(shift_px=self.last.shift_px, response=self.last.response, scores=scores), drift

    def _slow_causes(self) -> tuple:
        """Causes of a slow drift, from the long window: the last hour of minute buckets vs the reference."""
        b = self.baseline
        times, counts, means = self.minutes.series(include_current=True)
        recent = times >= self.stream_time - 3600.0
        mean = np.average(means[recent], axis=0, weights=counts[recent])
        strength = np.array([max(c.pos, c.neg) / c.h for c in self.cusums]) * np.sign(
            [c.value for c in self.cusums]
        )
        return explain_slow(mean, strength, scalar_names=b.scalar_names, scalar_mean=b.scalar_mean)

    def trends(self) -> list[Trend]:
        """Trend of every scalar over the minute buckets (last 24 h; flat-then-linear with a fitted change point
        while its CUSUM is away from zero), tolerance = +-``tolerance`` of the reference mean."""
        b = self.baseline
        times, counts, means = self.minutes.series(include_current=True)
        out = []
        for i, s in enumerate(b.scalar_names):
            tol = self.tolerance * abs(float(b.scalar_mean[i]))
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

    def _decision(self, kind: str, group: str) -> Decision:
        b = self.baseline
        score, threshold = self._score(group)
        causes: tuple = ()
        slow = any(g.drift_detected for g in self.cusum_groups)
        if self.last is not None and not group.startswith("cusum."):
            recent, drift = self._recent_stats()
            causes = explain(
                recent,
                names=self._names,
                drift=drift,
                scalar_names=b.scalar_names,
                scalar_mean=b.scalar_mean,
            )
        if group.startswith("act.") and kind != "drift.ended":
            # content seen by the model; pixel statistics holding make "new variant" the likely reading
            held = 0.0
            if self.last is not None:
                held = float(np.max(self.last.scores / b.thresholds.drift))
            causes = tuple(sorted((self.activations.cause(held), *causes), key=lambda c: -c.score))
        if slow and (not causes or causes[0].score < 1.0):
            # nothing sudden in the last frames: this is the slow drift the long windows are tracking
            causes = self._slow_causes()
        forecast = ""
        if slow and kind != "drift.ended":
            name = group[6:] if group.startswith("cusum.") else group.removeprefix("shift.")
            if name not in b.scalar_names:
                name = b.scalar_names[int(np.argmax([max(c.pos, c.neg) for c in self.cusums]))]
            trend = next((t for t in self.trends() if t.name == name), None)
            forecast = trend.text if trend is not None else ""
        return Decision(
            kind=kind,
            group=group,
            frame_index=self.frame_index,
            stream_time=self.stream_time,
            episode_id=self.episodes.current,
            score=score,
            threshold=threshold,
            groups=self.episodes.groups,
            numbers=self._numbers(),
            causes=causes,
            forecast=forecast,
        )

    # --- state --------------------------------------------------------------------------------------------------

    @property
    def all_groups(self) -> tuple:
        """Every group state: pixel statistics, CUSUMs, then the activation group's (if any)."""
        act = () if self.activations is None else tuple(self.activations.groups)
        return (*self.groups, *self.cusum_groups, *act)

    @property
    def nbytes(self) -> int:
        """Bytes held by the windows (sliding ring, minute and hour buckets, activation window)."""
        act = (
            0 if self.activations is None else sum(a.nbytes for a in self.activations.state_arrays().values())
        )
        return self.window.nbytes + self.minutes.nbytes + self.hours.nbytes + act

    @property
    def state(self) -> EngineState:
        return EngineState(
            frames=self.frames,
            frame_index=self.frame_index,
            stream_time=self.stream_time,
            window_count=self.window.count,
            episode_id=self.episodes.current,
            groups=tuple((g.name, g.state) for g in self.all_groups),
            nbytes=self.nbytes,
        )

    def save_state(self, path: str | Path) -> None:
        """Write the engine's state (windows, CUSUMs, group states, open episode) atomically to ``path``."""
        save_engine_state(self, path)

    def load_state(self, path: str | Path) -> DriftEngine:
        """Restore a state saved by :meth:`save_state`; refuses a state of another baseline or camera."""
        load_engine_state(self, path)
        return self
