"""One camera's analysis path: a frame in, the messages it causes out to the sinks.

``Pipeline.analyse(frame)`` runs the kernels on the frame (with the baseline's kernel parameters), feeds
the drift engine, turns its decisions into :class:`~camdrift.agent.output.events.Event` messages (capturing evidence when
an episode starts, at a bounded rate while it lasts), and publishes the retained per-group :class:`State` whenever a
verdict changes. The daemon, the in-process :class:`~camdrift.agent.runtime.inprocess.Agent` and the demo share it.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from camdrift.agent.drift.decision import Cause, Decision
from camdrift.agent.drift.engine import DriftEngine, EngineSnapshot
from camdrift.agent.drift.explain import likely_cause
from camdrift.agent.frames import Frame
from camdrift.agent.model.runner import ModelError
from camdrift.agent.model.sampling import ActivationSampler
from camdrift.agent.output.events import (
    EpisodeState,
    Event,
    GroupMetric,
    GroupState,
    Message,
    Metrics,
    Sequencer,
    State,
)
from camdrift.agent.output.evidence import CaptureContext, EvidenceSpool
from camdrift.agent.output.sinks import Sink
from camdrift.agent.reference.baseline import Baseline, BaselineError
from camdrift.agent.runtime.capture import RecentFrame, capture_context, capture_episode
from camdrift.agent.runtime.episode_headline import EpisodeHeadline

log = logging.getLogger("camdrift.agent")

_SEVERITY = {
    "warning": "warning",
    "drift.started": "critical",
    "drift.updated": "critical",
    "drift.ended": "info",
}
_EVENT_KIND = {"warning": "drift.warning"}


def _summary(d: Decision, causes: tuple[Cause, ...]) -> str:
    """The plain-word cause of a decision; for the model's outputs, what the model did first, then what the
    images show when they show something above its threshold (a reason, not a rival cause)."""
    if not causes:
        return f"{d.group} {d.score:.3g} > {d.threshold:.3g}"
    if causes[0].code == "model_outputs":
        seen = [c for c in causes[1:] if c.score >= 1.0]
        return causes[0].text + (f"; in the images: {likely_cause(tuple(seen))}" if seen else "")
    return likely_cause(causes)


@dataclass
class PipelineCounters:
    """Frames analysed, frames rejected by reason (wrong size or format for the baseline), flags dropped."""

    analysed: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    flags_dropped: int = 0  # flagged frames the app raised while evidence is off


class Pipeline:
    """Analyses frames of one camera against ``baseline`` and sends what follows to ``sinks``.

    keep_frames: how many recent analysed frames are kept (references, not copies) as evidence for an episode.
    wall_clock: Unix time for evidence records only; decisions run on the frames' stream time.
    source_id: the source's identity (:func:`~camdrift.agent.runtime.continuity.source_identity`), part of
    every episode id the engine it builds gives (an ``engine`` handed in keeps its own).
    """

    def __init__(
        self,
        baseline: Baseline,
        *,
        camera_id: str,
        sinks: Sequence[Sink],
        evidence: EvidenceSpool | None = None,
        keep_frames: int = 3,
        wall_clock: Callable[[], float] = time.time,
        engine: DriftEngine | None = None,
        sequencer: Sequencer | None = None,
        activations: ActivationSampler | None = None,
        source_id: str = "",
    ) -> None:
        self.baseline = baseline
        self.sequencer = sequencer if sequencer is not None else Sequencer()
        self.baseline_id = baseline.baseline_id
        self.camera_id = camera_id
        self.sinks = list(sinks)
        self.evidence = evidence
        if engine is None:
            engine = DriftEngine(baseline, camera_id=camera_id, activations=activations is not None)
            engine.for_source(source_id)
        self.engine = engine
        self.activations = activations  # checked against the baseline's model (refuses another model file)
        if activations is not None:
            activations.check(baseline.activations)
        self.counters = PipelineCounters()
        self._recent: deque[RecentFrame] = deque(maxlen=keep_frames)
        self._wall = wall_clock
        self._verdicts: tuple[bool, tuple[tuple[str, str], ...], EpisodeState | None] | None = None
        self._since: dict[str, float] = {}
        self.headline = EpisodeHeadline()
        self.last_frame: Frame | None = None

    def carry_over(self, old: Pipeline, *, keep_windows: bool = False) -> None:
        """Takes the running counters and verdict history of the pipeline this one replaces (a reload); with
        ``keep_windows`` also its engine (windows, CUSUMs, open episode: a reload with the same baseline)."""
        self.counters = old.counters
        self._since = old._since
        self._verdicts = old._verdicts
        self.headline = old.headline
        self.last_frame = old.last_frame
        self._recent = old._recent
        if keep_windows:
            self.engine = old.engine

    # -- the engine's state -----------------------------------------------------------------------------------

    @property
    def stream_time(self) -> float:
        """Stream time (s) of the last frame the engine took (-inf before the first)."""
        return self.engine.stream_time

    @property
    def drift_detected(self) -> bool:
        """A drift episode is open."""
        return self.engine.drift_detected

    @property
    def has_scored(self) -> bool:
        """The engine has scored at least one full window (so metrics carry values)."""
        return self.engine.has_scored

    def save_state(self, path: str) -> None:
        """Writes the engine's state atomically to ``path`` (OSError if it cannot)."""
        self.engine.save_state(path)

    def load_state(self, path: str) -> None:
        """Restores an engine state saved by :meth:`save_state`. On failure (EngineStateError, a ValueError
        naming the reason, or OSError) the engine keeps its fresh windows: the state goes into a new engine,
        which replaces the current one only once it has loaded."""
        self.engine = self.engine.fresh().load_state(path)

    # -- analysis ---------------------------------------------------------------------------------------------

    def check(self, frame: Frame) -> str | None:
        """Why ``frame`` cannot be judged against the baseline, or None."""
        try:
            self.baseline.check_frames(frame.pixel_format, frame.resolution, self.baseline.roi)
        except BaselineError as exc:
            return str(exc)
        return None

    def analyse(self, frame: Frame) -> tuple[Decision, ...]:
        """Kernels + engine for one frame; publishes events and state changes. Raises ValueError for a frame
        the baseline cannot judge (callers count it, see :meth:`reject`).

        The kernels run with the baseline's parameters, stride included: a different stride changes the pixel
        count behind every histogram, and with it the null distribution the thresholds were calibrated on."""
        problem = self.check(frame)
        if problem:
            raise ValueError(problem)
        stats = self.baseline.kernel.stats(frame.image)
        act = None
        if self.activations is not None and self.engine.watches_activations:
            try:
                act = self.activations.summary(frame)
            except ModelError as exc:  # counted by reason, never fed to the statistics
                self.engine.reject_activation(str(exc).split(":", 1)[0])
        decisions = self.engine.update(
            stats, frame.frame_index, frame.stream_time, activations=act, outputs=frame.outputs
        ).decisions
        self.counters.analysed += 1
        self._recent.append(RecentFrame(frame.image, frame.outputs))
        self.last_frame = frame
        for d in decisions:
            event = self._event(d, frame)
            self.headline.update(d, event)
            self.publish(event)
        self._publish_state_if_changed(frame)
        return decisions

    def capture_context(self) -> CaptureContext:
        """What a capture taken now carries: the baseline, the open episode and its cause, what drifts."""
        return capture_context(self.engine, self.headline.cause())

    def reject(self, reason: str) -> None:
        """Counts a frame that could not be analysed; logs each distinct reason once."""
        n = self.counters.rejected.get(reason, 0)
        self.counters.rejected[reason] = n + 1
        if n == 0:
            log.warning("skipping frames: %s (counted; logged once per reason)", reason)

    # -- messages ---------------------------------------------------------------------------------------------

    def publish(self, message: Message) -> None:
        envelope = self.sequencer.next(message)  # one envelope: the same event_id and seq in every sink
        for sink in self.sinks:
            try:
                sink.send(message, envelope)
            except Exception as exc:  # one broken sink must not stop the others or the analysis
                log.error("sink %s failed: %s", type(sink).__name__, exc)

    def _event(self, d: Decision, frame: Frame) -> Event:
        numbers = {"score": d.score, "threshold": d.threshold}
        numbers.update((k, v) for k, v in d.numbers if np.isfinite(v))
        if d.kind == "drift.ended":  # the recovery: nothing left to explain
            causes: tuple[Cause, ...] = ()
            summary = f"recovered: every statistic back below its exit threshold (last: {d.group})"
        else:
            causes = tuple(c._replace(score=float(c.score)) for c in d.causes)
            summary = _summary(d, causes)
        if d.forecast:
            summary = f"{summary}; {d.forecast}"
        model = self.engine.outputs
        if model is not None and d.kind != "drift.ended" and not d.group.startswith("out."):
            summary = f"{summary}; model over the same frames: {model.change()}"  # harmless or harmful?
        evidence_id = None
        if d.kind in ("drift.started", "drift.updated") and self.evidence is not None:
            evidence_id = capture_episode(
                self.evidence, self.engine, self.camera_id, d, (numbers, causes), self._recent, self._wall()
            )
        return Event(
            kind=_EVENT_KIND.get(d.kind, d.kind),
            camera_id=self.camera_id,
            frame_index=d.frame_index,
            stream_time=d.stream_time,
            episode_id=d.episode_id or None,
            group=d.group,
            severity=_SEVERITY.get(d.kind, "info"),
            summary=summary,
            causes=causes,
            numbers=numbers,
            evidence_id=evidence_id,
        )

    def group_states(self, snapshot: EngineSnapshot | None = None) -> tuple[GroupState, ...]:
        """Every statistic's verdict (``warming_up`` while its window fills), score and drift threshold."""
        snap = self.engine.snapshot() if snapshot is None else snapshot
        current = snap.episode_id or None
        return tuple(
            GroupState(
                group=s.name,
                verdict="warming_up" if s.warming_up else s.verdict,
                episode_id=current if s.verdict == "drift" else None,
                score=s.score,
                threshold=s.threshold,
                since=self._since.get(s.name),
            )
            for s in snap.statistics
        )

    def state(self, snapshot: EngineSnapshot | None = None) -> State:
        f, snap = self.last_frame, snapshot or self.engine.snapshot()
        return State(
            camera_id=self.camera_id,
            frame_index=None if f is None else f.frame_index,
            stream_time=None if f is None else f.stream_time,
            groups=self.group_states(snap),
            baseline_id=self.baseline_id,
            episode=self.headline.state(snap),
        )

    def metrics(self, period_s: float) -> Metrics:
        f = self.last_frame
        groups = tuple(
            GroupMetric(s.name, s.kind, s.score, s.threshold) for s in self.engine.snapshot().statistics
        )
        return Metrics(
            camera_id=self.camera_id,
            frame_index=None if f is None else f.frame_index,
            stream_time=None if f is None else f.stream_time,
            groups=groups,
            period_s=period_s,
        )

    def _publish_state_if_changed(self, frame: Frame) -> None:
        snap = self.engine.snapshot()
        key = (
            not snap.window_full,
            tuple((s.name, s.verdict) for s in snap.statistics),
            self.headline.state(snap),
        )
        if key == self._verdicts:
            return
        before = dict(self._verdicts[1]) if self._verdicts else {}
        for name, verdict in key[1]:
            if before.get(name) != verdict:
                self._since[name] = frame.stream_time
        self._verdicts = key
        self.publish(self.state(snap))
