"""One camera's analysis path: a frame in, the messages it causes out to the sinks.

``Pipeline.analyse(frame)`` runs the kernels on the frame (with the baseline's kernel parameters), feeds
the drift engine, turns its decisions into :class:`~camdrift.agent.events.Event` messages (capturing evidence when
an episode starts, at a bounded rate while it lasts), and publishes the retained per-group :class:`State` whenever a
verdict changes. The daemon, the in-process :class:`~camdrift.agent.inprocess.Agent` and the demo share it.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from camdrift.agent.drift.decision import Decision
from camdrift.agent.drift.decision import GroupState as DecisionGroup
from camdrift.agent.drift.engine import DriftEngine
from camdrift.agent.frames import Frame
from camdrift.agent.model.runner import ModelError
from camdrift.agent.model.sampling import ActivationSampler
from camdrift.agent.output.events import (
    Cause,
    Event,
    GroupMetric,
    GroupState,
    Message,
    Metrics,
    Sequencer,
    State,
)
from camdrift.agent.output.evidence import EvidenceSpool
from camdrift.agent.output.sinks import Sink
from camdrift.agent.reference.baseline import Baseline, BaselineError
from camdrift.kernels import frame_stats

log = logging.getLogger("camdrift.agent")

_SEVERITY = {
    "warning": "warning",
    "drift.started": "critical",
    "drift.updated": "critical",
    "drift.ended": "info",
}
_EVENT_KIND = {"warning": "drift.warning"}


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


@dataclass
class PipelineCounters:
    """Frames analysed, and frames rejected by reason (wrong size or format for the baseline)."""

    analysed: int = 0
    rejected: dict[str, int] = field(default_factory=dict)


def frame_resolution(frame: Frame) -> tuple[int, int]:
    """(width, height) of the image a frame carries (NV12 counts its luma plane)."""
    h, w = frame.image.shape[:2]
    return (w, h * 2 // 3) if frame.pixel_format == "nv12" else (w, h)


class Pipeline:
    """Analyses frames of one camera against ``baseline`` and sends what follows to ``sinks``.

    keep_frames: how many recent analysed frames are kept (references, not copies) as evidence for an episode.
    wall_clock: Unix time for evidence records only; decisions run on the frames' stream time.
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
    ) -> None:
        self.baseline = baseline
        self.sequencer = sequencer if sequencer is not None else Sequencer()
        self.baseline_id = baseline.baseline_id
        self.camera_id = camera_id
        self.sinks = list(sinks)
        self.evidence = evidence
        self.engine = (
            engine
            if engine is not None
            else DriftEngine(baseline, camera_id=camera_id, activations=activations is not None)
        )
        self.activations = activations  # checked against the baseline's model (refuses another model file)
        if activations is not None:
            activations.check(baseline.activations)
        self.counters = PipelineCounters()
        self._recent: deque[np.ndarray] = deque(maxlen=keep_frames)
        self._wall = wall_clock
        self._verdicts: tuple[bool, tuple[tuple[str, str], ...]] | None = None
        self._since: dict[str, float] = {}
        self.last_frame: Frame | None = None

    def carry_over(self, old: Pipeline) -> None:
        """Takes the running counters and verdict history of the pipeline this one replaces (a reload)."""
        self.counters = old.counters
        self._since = old._since
        self._verdicts = old._verdicts
        self.last_frame = old.last_frame
        self._recent = old._recent

    # -- analysis ---------------------------------------------------------------------------------------------

    def check(self, frame: Frame) -> str | None:
        """Why ``frame`` cannot be judged against the baseline, or None."""
        try:
            self.baseline.check_frames(frame.pixel_format, frame_resolution(frame), self.baseline.roi)
        except BaselineError as exc:
            return str(exc)
        return None

    def analyse(self, frame: Frame) -> tuple[Decision, ...]:
        """Kernels + engine for one frame; publishes events and state changes. Raises ValueError for a frame
        the baseline cannot judge (callers count it, see :meth:`reject`).

        The kernels run with the baseline's parameters, stride included: a different stride changes the pixel
        count behind every histogram, and with it the null distribution the thresholds were calibrated on."""
        b = self.baseline
        problem = self.check(frame)
        if problem:
            raise ValueError(problem)
        stats = frame_stats(
            frame.image,
            pixel_format=b.pixel_format,
            roi=b.roi,
            stride=b.stride,
            thumb_size=b.thumb_size,
            grid=b.grid,
            under_threshold=b.under_threshold,
            over_threshold=b.over_threshold,
        )
        act = None
        if self.activations is not None and self.engine.activations is not None:
            try:
                act = self.activations.summary(frame)
            except ModelError as exc:  # counted by reason, never fed to the statistics
                self.engine.activations.reject(str(exc).split(":", 1)[0])
        decisions = self.engine.update(stats, frame.frame_index, frame.stream_time, activations=act).decisions
        self.counters.analysed += 1
        self._recent.append(frame.image)
        self.last_frame = frame
        for d in decisions:
            self.publish(self._event(d, frame))
        self._publish_state_if_changed(frame)
        return decisions

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
            causes = tuple(Cause(c.code, c.text, float(c.score)) for c in d.causes)
            summary = causes[0].text if causes else f"{d.group} {d.score:.3g} > {d.threshold:.3g}"
        if d.forecast:
            summary = f"{summary}; {d.forecast}"
        evidence_id = None
        if d.kind in ("drift.started", "drift.updated") and self.evidence is not None:
            evidence_id = self._capture(d, numbers, causes)
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

    def _capture(self, d: Decision, numbers: dict[str, float], causes: tuple[Cause, ...]) -> str | None:
        spool = self.evidence
        if spool is None or not spool.due(d.episode_id, d.stream_time):
            return None
        eng = self.engine
        window = eng.window.sums()
        try:
            record = spool.capture_episode(
                camera_id=self.camera_id,
                episode_id=d.episode_id,
                frame_index=d.frame_index,
                stream_time=d.stream_time,
                created_at=self._wall(),
                frames=list(self._recent),
                histograms={"window_counts": window.counts, "reference_counts": self.baseline.ref_counts},
                reference_thumbnail=self.baseline.thumbnail,
                window_thumbnail=window.thumbnail / max(eng.window.count, 1),
                decision={
                    "kind": d.kind,
                    "group": d.group,
                    "groups": d.groups,
                    "numbers": numbers,
                    "causes": [c._asdict() for c in causes],
                    "forecast": d.forecast,
                },
            )
        except (OSError, ValueError) as exc:
            log.error("could not save evidence for episode %s: %s", d.episode_id, exc)
            return None
        return record.evidence_id if record else None

    def _scored_groups(self) -> list[tuple[DecisionGroup, float | None, bool, str]]:
        """Every statistic's state machine with its current score (None before its first full window, or not
        finite), whether its window is still filling, and the statistic's kind (psi, shift, grid, displacement,
        cusum, act): what the state and metrics messages both report."""
        eng = self.engine
        scores = None if eng.last is None else eng.last.scores
        out = [
            (g, None if scores is None else _finite(scores[i]), not eng.window.full, g.name.split(".")[0])
            for i, g in enumerate(eng.groups)
        ]
        out += [
            (g, float(max(c.pos, c.neg)), False, "cusum")
            for c, g in zip(eng.cusums, eng.cusum_groups, strict=True)
        ]
        m = eng.activations
        if m is not None:
            out += [
                (g, None if m.last is None else _finite(m.last.scores[i]), not m.full, "act")
                for i, g in enumerate(m.groups)
            ]
        return out

    def group_states(self) -> tuple[GroupState, ...]:
        current = self.engine.episodes.current or None
        return tuple(
            GroupState(
                group=g.name,
                verdict="warming_up" if warming else g.state,
                episode_id=current if g.state == "drift" else None,
                score=score,
                threshold=float(g.drift),
                since=self._since.get(g.name),
            )
            for g, score, warming, _ in self._scored_groups()
        )

    def state(self) -> State:
        f = self.last_frame
        return State(
            camera_id=self.camera_id,
            frame_index=None if f is None else f.frame_index,
            stream_time=None if f is None else f.stream_time,
            groups=self.group_states(),
            baseline_id=self.baseline_id,
        )

    def metrics(self, period_s: float) -> Metrics:
        f = self.last_frame
        groups = [
            GroupMetric(g.name, kind, score, float(g.drift)) for g, score, _, kind in self._scored_groups()
        ]
        return Metrics(
            camera_id=self.camera_id,
            frame_index=None if f is None else f.frame_index,
            stream_time=None if f is None else f.stream_time,
            groups=tuple(groups),
            period_s=period_s,
        )

    def _publish_state_if_changed(self, frame: Frame) -> None:
        eng = self.engine
        key = (not eng.window.full, tuple((g.name, g.state) for g in eng.all_groups))
        if key == self._verdicts:
            return
        before = dict(self._verdicts[1]) if self._verdicts else {}
        for name, verdict in key[1]:
            if before.get(name) != verdict:
                self._since[name] = frame.stream_time
        self._verdicts = key
        self.publish(self.state())
