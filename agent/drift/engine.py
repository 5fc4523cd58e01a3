"""The drift engine: per-frame statistics in, drift decisions with their evidence out.

Per frame (O(bins + thumbnail) work) the features go to three statistic families, each a
:class:`~camdrift.agent.drift.contract.StatisticFamily`: the sliding window's statistics
(:class:`~camdrift.agent.drift.window_monitor.WindowMonitor`, sudden changes), the CUSUMs over closed minute
buckets (:class:`~camdrift.agent.drift.slow.SlowDriftMonitor`, slow drift) and, when the model runs, the
activation window (:class:`~camdrift.agent.drift.activations.ActivationMonitor`) and, when the app hands over
the model's outputs, the output window (:class:`~camdrift.agent.drift.outputs.OutputMonitor`). Their statistics' transitions
become camera-level :class:`Decision` events (:class:`~camdrift.agent.drift.decision.Episodes`) with the numbers,
ranked causes and, for slow drift, a trend forecast. Only stream time is used, so replaying the same frames gives
the same decisions (and the same episode ids; :meth:`DriftEngine.for_source` names the source they come from, so
another source's episodes get other ids). :meth:`DriftEngine.snapshot` is the typed view callers read.

A seeded shift (the light 15 % down from frame 50) and where it is caught:

>>> from camdrift.agent.sim.line import Drift, ProductionLine
>>> from camdrift.calibration.calibrate.build import Budget, build_baseline
>>> from camdrift.kernels import KernelParams
>>> kernel = KernelParams(thumb_size=(16, 16), grid=4, resolution=(160, 120))
>>> ref = ProductionLine(seed=1, width=160, height=120)
>>> baseline = build_baseline([kernel.stats(ref.frame(i)) for i in range(300)], camera_id="cam",
...     source="doctest", kernel=kernel, budget=Budget(window=10, n_replicates=300))
>>> engine, line = DriftEngine(baseline), ProductionLine(seed=2, width=160, height=120)
>>> for i in range(80):
...     frame = line.frame(i, Drift(gain=0.85) if i >= 50 else Drift())
...     for d in engine.update(kernel.stats(frame), i, line.time(i)).decisions:
...         if d.kind == "drift.started":
...             print(d.frame_index, d.group, "->", d.causes[0].text)
52 shift.brightness -> mean luma -15% since baseline, uniform across the frame: lighting
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from camdrift.agent.drift.activations import ActivationMonitor
from camdrift.agent.drift.contract import Statistic, StatisticFamily
from camdrift.agent.drift.decision import Cause, Decision, Episodes, Hysteresis
from camdrift.agent.drift.engine_state import StateIdentity, load_engine_state, save_engine_state
from camdrift.agent.drift.families import Families, Filed
from camdrift.agent.drift.features import FrameFeatures
from camdrift.agent.drift.outputs import OutputMonitor
from camdrift.agent.drift.slow import SlowDriftMonitor
from camdrift.agent.drift.statistics import WindowStats
from camdrift.agent.drift.trend import Trend
from camdrift.agent.drift.window_monitor import WindowEvidence, WindowMonitor
from camdrift.agent.predictions.outputs import ModelOutputs
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


class EngineSnapshot(NamedTuple):
    """What the engine knows now, for messages and evidence: the last frame index / stream time (s), the open
    episode id ("" if none), whether the sliding window is full and has been scored at least once, and every
    statistic (window statistics, CUSUMs, then the activation statistics)."""

    frame_index: int
    stream_time: float
    episode_id: str
    window_full: bool
    scored: bool
    statistics: tuple[Statistic, ...]


def _activation_monitor(baseline: Baseline, persistence: int, recovery: int) -> ActivationMonitor | None:
    """The activation group (if the baseline has one): its own window of activation samples, arriving every
    ``every_n``-th frame; recovery is counted in samples, so it spans the same stream time as the others'."""
    ref = baseline.activations
    if ref is None:
        return None
    return ActivationMonitor(ref, persistence=persistence, recovery=max(1, -(-recovery // ref.every_n)))


class DriftEngine:
    """Streaming drift detector for one camera against its :class:`Baseline`.

    camera_id: defaults to the baseline's; persistence: consecutive frames above the drift threshold before a
    group is in drift; recovery: consecutive frames (buckets for CUSUM groups) below the exit threshold before it
    recovers; minute_buckets / hour_buckets: long-window lengths (default 24 h of minutes, 30 days of hours);
    cusum_min_frames: a closed minute bucket with fewer frames is not fed to the CUSUM; explain_frames: the
    last frames a sudden change is explained from; tolerance: relative band around each reference mean that
    slow-drift forecasts count down to (0.10 = +-10 %); activations: watch the baseline's activation group, if
    it has one (False: the agent runs no model, so the group would only ever warm up). The baseline's
    model-outputs group, if it has one, is always watched (its outputs come with the frames).

    ``update(stats_or_features, frame_index, stream_time) -> self``; :attr:`decisions` holds what that frame
    decided (see the module docstring for an example). ``for_source(source_id) -> self`` names the source.
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
        settings = dict(locals())  # the parameters, for fresh()
        self._settings = {k: v for k, v in settings.items() if k not in ("self", "baseline")}
        self.baseline = baseline
        self.camera_id = baseline.camera_id if camera_id is None else camera_id
        self.persistence = persistence
        self.recovery = recovery
        self.explain_frames = explain_frames
        self.tolerance = tolerance
        self.pixels = WindowMonitor(baseline, persistence=persistence, recovery=recovery)
        self.slow = SlowDriftMonitor(
            baseline,
            recovery=recovery,
            minute_buckets=minute_buckets,
            hour_buckets=hour_buckets,
            min_frames=cusum_min_frames,
        )
        self.activations = _activation_monitor(baseline, persistence, recovery) if activations else None
        act = () if self.activations is None else (Filed(self.activations, "act.", "activations"),)
        ref = baseline.outputs
        self.outputs = None if ref is None else OutputMonitor(ref, persistence=persistence, recovery=recovery)
        out = () if self.outputs is None else (Filed(self.outputs, "out.", "outputs"),)
        self.families = Families((Filed(self.pixels), Filed(self.slow), *act, *out))
        self.episodes = Episodes(self.camera_id, baseline.baseline_id)
        self.frame_index = -1
        self.stream_time = -np.inf
        self._decisions: tuple[Decision, ...] = ()

    # --- streaming API ------------------------------------------------------------------------------------------

    def for_source(self, source_id: str) -> DriftEngine:
        """Names the source the frames come from (its identity; default ""): part of every new episode's id,
        so two recordings with the same timing never share one (:attr:`Episodes.source_id`). Returns self."""
        self.episodes.source_id = source_id
        return self

    @property
    def decisions(self) -> tuple[Decision, ...]:
        """Decisions made by the last :meth:`update`."""
        return self._decisions

    @property
    def drift_detected(self) -> bool:
        """An episode is open."""
        return self.episodes.drift_detected

    @property
    def has_scored(self) -> bool:
        """The sliding window has been scored at least once (since the start or the last restore)."""
        return self.pixels.last is not None

    def update(
        self,
        x: FrameStats | FrameFeatures,
        frame_index: int,
        stream_time: float,
        activations: np.ndarray | None = None,
        outputs: ModelOutputs | None = None,
    ) -> DriftEngine:
        """Add one analysed frame observed at ``stream_time`` (s, non-decreasing), with its (C,) activation
        summary when the model ran on it and the model's outputs when the app handed them over (each ignored
        if the baseline has no such group)."""
        if stream_time < self.stream_time:
            raise ValueError(
                f"stream time {stream_time} s is earlier than the previous frame's {self.stream_time} s"
            )
        f = x if isinstance(x, FrameFeatures) else self.pixels.features(x)
        self.frame_index = int(frame_index)
        self.stream_time = float(stream_time)
        transitions = list(self.pixels.update(f).transitions)
        if activations is not None and self.activations is not None:
            transitions += self.activations.update(activations).transitions
        if outputs is not None and self.outputs is not None:
            transitions += self.outputs.update(outputs).transitions
        transitions += self.slow.update(self.stream_time, f.scalars, self.pixels.drift_detected).transitions
        kinds = self.episodes.kinds(transitions, self.frame_index, self.stream_time)
        self._decisions = tuple(self._decision(kind, group) for kind, group in kinds)
        self.episodes.close_if_ended()
        return self

    @property
    def watches_activations(self) -> bool:
        """The engine runs the baseline's activation group (so summaries are worth taking)."""
        return self.activations is not None

    def reject_activation(self, reason: str) -> None:
        """Count an activation summary that could not be taken (``model_error``, ...); no-op without the group."""
        if self.activations is not None:
            self.activations.reject(reason)

    # --- decisions ----------------------------------------------------------------------------------------------

    def _numbers(self) -> tuple[tuple[str, float], ...]:
        act = () if self.activations is None else self.activations.numbers()
        out = () if self.outputs is None else self.outputs.numbers()
        return (*self.pixels.numbers(), *self.slow.numbers(), *act, *out)

    def _causes(self, kind: str, family: StatisticFamily) -> tuple[Cause, ...]:
        causes: tuple[Cause, ...] = ()
        if self.pixels.last is not None and family is not self.slow:
            causes = self.pixels.causes(self.explain_frames)
        if family is self.activations and kind != "drift.ended":
            # content seen by the model; pixel statistics holding make "new variant" the likely reading
            content = self.activations.cause(self.pixels.strength())
            causes = tuple(sorted((content, *causes), key=lambda c: -c.score))
        if family is self.outputs and kind != "drift.ended":
            # what the model did first, then what the pixels say of why; and what opened the episode, if not it
            began = [g for g in self.episodes.groups if not g.startswith("out.")]
            return (self.outputs.cause(began), *causes)
        if self.slow.drift_detected and (not causes or causes[0].score < 1.0):
            # nothing sudden in the last frames: this is the slow drift the long windows are tracking
            causes = self.slow.causes(self.stream_time)
        return causes

    def _decision(self, kind: str, group: str) -> Decision:
        family = self.families.family_of(group)
        forecast = ""
        if self.slow.drift_detected and kind != "drift.ended":
            forecast = self.slow.forecast(family.scalar_of(group), self.tolerance)
        return Decision(
            kind=kind,
            group=group,
            frame_index=self.frame_index,
            stream_time=self.stream_time,
            episode_id=self.episodes.current,
            score=family.score(group),
            threshold=self.families.hysteresis(group).drift,
            groups=self.episodes.groups,
            numbers=self._numbers(),
            causes=self._causes(kind, family),
            forecast=forecast,
        )

    def trends(self) -> list[Trend]:
        """Trend of every scalar over the minute buckets (last 24 h; flat-then-linear with a fitted change point
        while its CUSUM is away from zero), tolerance = +-``tolerance`` of the reference mean."""
        return self.slow.trends(self.tolerance)

    # --- read-only views ----------------------------------------------------------------------------------------

    def snapshot(self) -> EngineSnapshot:
        return EngineSnapshot(
            frame_index=self.frame_index,
            stream_time=self.stream_time,
            episode_id=self.episodes.current,
            window_full=self.pixels.full,
            scored=self.has_scored,
            statistics=self.families.statistics(),
        )

    def evidence(self) -> WindowEvidence:
        """The sliding window's histogram counts and mean thumbnail, for an evidence record."""
        return self.pixels.evidence()

    @property
    def last(self) -> WindowStats | None:
        """The last full window's statistics (None before the first, or since a restore)."""
        return self.pixels.last

    @property
    def all_groups(self) -> tuple[Hysteresis, ...]:
        """Every statistic's state machine: pixel statistics, CUSUMs, then the activation group's (if any)."""
        return self.families.groups

    @property
    def nbytes(self) -> int:
        """Bytes held by the windows (sliding ring, minute and hour buckets, activation window)."""
        act = 0 if self.activations is None else self.activations.nbytes
        out = 0 if self.outputs is None else self.outputs.nbytes
        return self.pixels.window.nbytes + self.slow.nbytes + act + out

    @property
    def state(self) -> EngineState:
        return EngineState(
            frames=self.pixels.frames,
            frame_index=self.frame_index,
            stream_time=self.stream_time,
            window_count=self.pixels.window.count,
            episode_id=self.episodes.current,
            groups=tuple((g.name, g.state) for g in self.all_groups),
            nbytes=self.nbytes,
        )

    # --- state (see engine_state) -------------------------------------------------------------------------------

    def state_arrays(self) -> dict[str, np.ndarray]:
        return self.families.state_arrays()

    def state_header(self) -> dict[str, Any]:
        stream_time = None if not np.isfinite(self.stream_time) else self.stream_time
        header = {"frame_index": self.frame_index, "stream_time": stream_time}
        return header | self.families.state_header() | self.episodes.state_header()

    def restore(self, header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        self.families.restore(header, arrays)
        self.episodes.restore(header, {})
        self.frame_index = int(header["frame_index"])
        self.stream_time = -np.inf if header["stream_time"] is None else float(header["stream_time"])
        self._decisions = ()

    def fresh(self) -> DriftEngine:
        """A new engine with this one's baseline, settings and source, and empty windows."""
        return DriftEngine(self.baseline, **self._settings).for_source(self.episodes.source_id)

    @property
    def identity(self) -> StateIdentity:
        """What a saved state must match to be restored here."""
        return StateIdentity(
            self.baseline.baseline_id, self.camera_id, tuple(g.name for g in self.all_groups)
        )

    def save_state(self, path: str | Path) -> None:
        """Write the engine's state (windows, CUSUMs, group states, open episode) atomically to ``path``."""
        save_engine_state(path, self.identity, self)

    def load_state(self, path: str | Path) -> DriftEngine:
        """Restore a state saved by :meth:`save_state`; refuses a state of another baseline or camera."""
        load_engine_state(path, self.identity, self)
        return self
