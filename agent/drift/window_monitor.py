"""The window statistics family: the last N frames' features in a sliding window, scored against the baseline.

Once the window is full, every frame scores each statistic of :func:`~camdrift.agent.drift.statistics.
statistic_specs` (PSI per colour group, the shift of each scalar, the grid sharpness, the displacement) and feeds
it to its :class:`~camdrift.agent.drift.decision.Hysteresis`. The monitor also remembers when a statistic first
rose above its warn level, so a decision is explained from the frames since then (:meth:`WindowMonitor.recent`),
not from the whole window.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from camdrift.agent.drift.contract import Section, Statistic, prefixed, scored_statistics
from camdrift.agent.drift.decision import DRIFT, Cause, Hysteresis, Transition, restore_states, stack_states
from camdrift.agent.drift.displacement import CameraPose, camera_pose
from camdrift.agent.drift.explain import explain
from camdrift.agent.drift.features import FrameFeatures, extract
from camdrift.agent.drift.statistics import (
    GROUPS,
    WindowReference,
    WindowStats,
    px_per_cell,
    statistic_specs,
    window_statistics,
)
from camdrift.agent.drift.windows import SlidingWindow
from camdrift.agent.reference.baseline import Baseline
from camdrift.kernels import FrameStats

MIN_SHIFT_FRAMES = 5  # fewer frames' mean thumbnail is dominated by where the products happen to be


class WindowEvidence(NamedTuple):
    """What the window holds, for an evidence record: counts (K, B) int64 histogram counts summed over the
    window; thumbnail (th, tw) float64 mean luma thumbnail (DN8)."""

    counts: np.ndarray
    thumbnail: np.ndarray


def window_reference(baseline: Baseline) -> WindowReference:
    """The baseline's side of every window statistic."""
    b = baseline
    centers = np.stack([0.5 * (e[:-1] + e[1:] - 1).astype(np.float64) for e in b.edges])
    return WindowReference(
        ref_counts=b.ref_counts,
        alpha=b.alpha,
        bin_centers=centers,
        scalar_mean=b.scalar_mean,
        scalar_sd=b.window_sd,
        grid_ref=(b.grid_log_sharpness, b.grid_luma),
        grid_sd=(b.grid_sharpness_sd, b.grid_luma_sd),
        ref_thumbnail=b.thumbnail,
        cell_px=px_per_cell(b.resolution, b.roi, b.thumbnail.shape),
        thumb_weight=b.thumbnail_weight,
    )


class WindowMonitor:
    """Sliding window of the last ``thresholds.window`` frames with one state machine per window statistic.

    ``update(features) -> self``; :attr:`last` holds the statistics once the window is full, :attr:`transitions`
    what the last update changed. persistence / recovery: frames above drift before a statistic is in drift /
    below its exit threshold before it recovers.
    """

    def __init__(self, baseline: Baseline, *, persistence: int = 3, recovery: int = 25) -> None:
        self.baseline = baseline
        th = baseline.thresholds
        template = FrameFeatures(
            counts=np.zeros((len(baseline.edges), baseline.n_bins), np.int64),
            scalars=np.zeros(len(baseline.scalar_names)),
            thumbnail=np.zeros(baseline.thumbnail.shape),
            grid_sharpness=np.zeros(baseline.grid_log_sharpness.shape),
            grid_luma=np.zeros(baseline.grid_luma.shape),
        )
        self.window = SlidingWindow(th.window, template)
        self.ref = window_reference(baseline)
        self.groups = [
            Hysteresis(n, warn=float(w), drift=float(d), persistence=persistence, recovery=recovery)
            for n, w, d in zip(th.names, th.warn, th.drift, strict=True)
        ]
        # the thresholds name the statistics in the order the scores come in
        self._specs = dict(zip(th.names, statistic_specs(baseline.scalar_names), strict=True))
        self.frames = 0
        self.alert_start = -1  # frame count at which a statistic last rose above warn (-1: none above)
        self.last: WindowStats | None = None
        self._pose: tuple[int, CameraPose, float] | None = None  # (frames, pose read then, its weight)
        self.transitions: list[Transition] = []

    def features(self, stats: FrameStats) -> FrameFeatures:
        """One frame's features for this baseline (its bins); ValueError if the kernel parameters differ."""
        b = self.baseline
        f = extract(stats, b.lut, b.n_bins, colour_medians=b.colour_medians)
        if f.thumbnail.shape != b.thumbnail.shape or f.grid_luma.shape != b.grid_luma.shape:
            raise ValueError(
                f"frame thumbnail {f.thumbnail.shape} / grid {f.grid_luma.shape} differ from the baseline's "
                f"{b.thumbnail.shape} / {b.grid_luma.shape}: kernel parameters changed"
            )
        return f

    def update(self, features: FrameFeatures) -> WindowMonitor:
        """Add one frame's features; once the window is full, score and judge every statistic."""
        self.frames += 1
        self.window.update(features)
        self.transitions = []
        if self.window.full:
            self.last = window_statistics(self.window.sums(), self.window.count, self.ref)
            for g, s in zip(self.groups, self.last.scores, strict=True):
                if g.update(float(s)).transition:
                    self.transitions.append(g.transition)
            # the frame at which some statistic first rose above its warn level: the change's onset estimate
            if any(s > g.warn for g, s in zip(self.groups, self.last.scores, strict=True)):
                self.alert_start = self.frames if self.alert_start < 0 else self.alert_start
            else:
                self.alert_start = -1
        return self

    # --- read-only state ----------------------------------------------------------------------------------------

    @property
    def full(self) -> bool:
        return self.window.full

    @property
    def drift_detected(self) -> bool:
        """Some window statistic is in drift (a sudden change)."""
        return any(g.state == DRIFT for g in self.groups)

    def statistics(self) -> tuple[Statistic, ...]:
        scores = None if self.last is None else self.last.scores
        kinds = [self._specs[g.name].kind for g in self.groups]
        return scored_statistics(self.groups, scores, kinds, not self.window.full)

    def score(self, name: str) -> float:
        i = self.baseline.thresholds.names.index(name)
        return float(self.last.scores[i]) if self.last is not None else 0.0

    def scalar_of(self, name: str) -> str | None:
        return self._specs[name].scalar

    def strength(self) -> float:
        """Largest score over its drift threshold (1.0 = at the threshold; 0.0 before the first full window)."""
        if self.last is None:
            return 0.0
        return float(np.max(self.last.scores / self.baseline.thresholds.drift))

    def evidence(self) -> WindowEvidence:
        sums = self.window.sums()
        return WindowEvidence(sums.counts, sums.thumbnail / max(self.window.count, 1))

    def _recent_thumbnail(self) -> tuple[np.ndarray, int]:
        """Mean thumbnail of the frames since a statistic first rose (at least 2; without an alert the whole
        window) and how many frames it averages. Only those: at detection the rest of the window still shows
        the old view, and a mean of old and new views reads a 38 px move as 6-13 px (measured on every scene)."""
        since = self.frames - self.alert_start + 1 if self.alert_start >= 0 else self.window.count
        n = int(min(max(since, 2), self.window.count))
        return self.window.recent_sums(n).thumbnail / max(n, 1), n

    def pose(self) -> CameraPose:
        """How the recent frames' view moved from the reference's (edges, see
        :mod:`~camdrift.agent.drift.displacement`): the figures events report, not the detection score."""
        if self._pose is None or self._pose[0] != self.frames:  # an event reads it twice (numbers, causes)
            thumb, n = self._recent_thumbnail()
            # Fewer than MIN_SHIFT_FRAMES frames' edges are as much where the products are as where the view is:
            # the move is credited in proportion.
            weight = min(1.0, n / MIN_SHIFT_FRAMES)
            self._pose = (self.frames, camera_pose(self.ref.ref_thumbnail, thumb, self.ref.cell_px), weight)
        return self._pose[1]

    def move_credible(self) -> float:
        """0..1: how far a move explains the recent frames' change (:attr:`CameraPose.credible`, weighed by how
        many frames it was read from; 1 where the grid is too coarse to tell)."""
        pose = self.pose()
        return pose.credible * self._pose[2] if pose.resolved else 1.0

    # --- explaining ---------------------------------------------------------------------------------------------

    def numbers(self) -> tuple[tuple[str, float], ...]:
        """(name, value) evidence of the last window: PSI/JS/W1 per group, z and relative change per scalar,
        the displacement (frame pixels)."""
        ws = self.last
        if ws is None:
            return ()
        out: list[tuple[str, float]] = []
        for k, g in enumerate(GROUPS):
            out += [
                (f"psi.{g}", float(ws.psi[k])),
                (f"js.{g}", float(ws.js[k])),
                (f"w1.{g}", float(ws.w1[k])),
            ]
        for i, s in enumerate(self.baseline.scalar_names):
            out += [(f"z.{s}", float(ws.z[i])), (f"rel.{s}", float(ws.rel[i]))]
        pose = self.pose()
        out += [("shift_x_px", pose.dx), ("shift_y_px", pose.dy), ("rotation_deg", pose.rotation_deg)]
        return tuple(out)

    def recent(self, explain_frames: int) -> tuple[WindowStats, np.ndarray]:
        """Statistics of the frames since a statistic first rose above its warn level (at least 2; without an
        alert the last ``explain_frames``), with the drift thresholds that fit that many frames: a decision is
        explained by what changed, not diluted by the older part of the window. Null sds are scaled by
        sqrt(window / n); PSI thresholds by window / n. Needs a full window (:attr:`last`)."""
        th = self.baseline.thresholds
        since = self.frames - self.alert_start + 1 if self.alert_start >= 0 else explain_frames
        n = int(min(max(since, 2), self.window.count))
        drift = np.array(
            [
                d * th.window / n if self._specs[m].kind == "psi" else d
                for m, d in zip(th.names, th.drift, strict=True)
            ]
        )
        inflate = np.sqrt(self.window.size / n)
        recent = window_statistics(
            self.window.recent_sums(n), n, self.ref.with_sd_scaled(inflate), evidence=False
        )
        # The displacement score is the whole window's (a few frames' mean thumbnail is dominated by where the
        # products happen to be); the pixels and the roll reported come from :meth:`pose`, on edges.
        scores = recent.scores.copy()
        d = th.names.index("displacement")
        scores[d] = self.last.scores[d]
        pose = self.pose()
        return recent._replace(
            shift_px=(pose.dx, pose.dy),
            response=self.last.response,
            scores=scores,
            rotation_deg=pose.rotation_deg,
            move_credible=self.move_credible(),
        ), drift

    def causes(self, explain_frames: int) -> tuple[Cause, ...]:
        """Ranked causes of what the recent frames changed (see :meth:`recent`)."""
        b = self.baseline
        recent, drift = self.recent(explain_frames)
        return explain(
            recent,
            names=b.thresholds.names,
            drift=drift,
            scalar_names=b.scalar_names,
            scalar_mean=b.scalar_mean,
        )

    # --- state (see engine_state) -------------------------------------------------------------------------------

    def state_arrays(self) -> dict[str, np.ndarray]:
        return prefixed("window.", self.window.state_arrays()) | {"groups": stack_states(self.groups)}

    def state_header(self) -> dict[str, Any]:
        head = {"frames": self.frames, "alert_start": self.alert_start}
        return head | prefixed("window_", self.window.state_header())

    def restore(self, header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        self.window.restore(Section(header, "window_"), Section(arrays, "window."))
        restore_states(self.groups, arrays["groups"])
        self.frames = int(header["frames"])
        self.alert_start = int(header["alert_start"])
        self.last = None
        self._pose = None
        self.transitions = []
