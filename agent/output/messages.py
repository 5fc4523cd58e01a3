"""The messages camdrift publishes: :class:`Event`, :class:`Status`, :class:`State` and :class:`Metrics`.

Each is a frozen dataclass that checks its fields when built (a message that exists is valid against
``agent/schema/messages.schema.json``) and gives its own part of the payload (``_body``); the envelope and the
JSON itself are :mod:`camdrift.agent.output.events`' job. Times: ``stream_time`` in seconds of stream time,
``started_at`` and envelope times in Unix seconds (published as ISO-8601 UTC, :func:`iso_utc`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, ClassVar, NamedTuple

from camdrift.agent.drift.decision import Cause
from camdrift.agent.mqtt.topics import validate_camera_id

EVENT_KINDS: frozenset[str] = frozenset(
    {
        "drift.warning",
        "drift.started",
        "drift.updated",
        "drift.ended",
        "source.lost",
        "source.restored",
        "source.ended",
        "baseline.loaded",
        "baseline.rejected",
        "agent.started",
        "agent.stopping",
    }
)
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")
VERDICTS: tuple[str, ...] = ("ok", "warning", "drift", "warming_up", "unknown")


def _finite(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def _opt_finite(name: str, value: float | None) -> float | None:
    return None if value is None else _finite(name, value)


def _frame(frame_index: int | None, stream_time: float | None) -> None:
    if frame_index is not None and (not isinstance(frame_index, int) or frame_index < 0):
        raise ValueError(f"frame_index must be a non-negative int or None, got {frame_index!r}")
    if stream_time is not None:
        _finite("stream_time", stream_time)


@dataclass(frozen=True)
class Event:
    """An episode lifecycle event, published on ``<prefix>/<camera>/events`` (QoS 1, not retained).

    ``stream_time`` is seconds of stream time of the triggering frame; ``numbers`` holds a few named floats
    (e.g. ``psi``, ``threshold``); ``episode_id`` is the same for every event of one episode.
    """

    SCHEMA: ClassVar[str] = "camdrift.event/1"
    TOPIC_KIND: ClassVar[str] = "events"

    kind: str
    camera_id: str
    frame_index: int | None
    stream_time: float | None
    episode_id: str | None = None
    group: str | None = None
    severity: str = "info"
    summary: str = ""
    causes: tuple[Cause, ...] = ()
    numbers: Mapping[str, float] = field(default_factory=dict)
    evidence_id: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}; expected one of {sorted(EVENT_KINDS)}")
        validate_camera_id(self.camera_id)
        _frame(self.frame_index, self.stream_time)
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        causes = tuple(Cause(str(c), str(t), _finite(f"score of cause {c!r}", s)) for c, t, s in self.causes)
        for c in causes:
            if c.score < 0:
                raise ValueError(f"score of cause {c.code!r} must be >= 0, got {c.score}")
        object.__setattr__(self, "causes", causes)
        numbers = {str(k): _finite(f"numbers[{k!r}]", v) for k, v in dict(self.numbers).items()}
        object.__setattr__(self, "numbers", MappingProxyType(numbers))

    def _body(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "episode_id": self.episode_id,
            "group": self.group,
            "severity": self.severity,
            "summary": self.summary,
            "causes": [{"code": c.code, "text": c.text, "score": c.score} for c in self.causes],
            "numbers": dict(self.numbers),
            "evidence_id": self.evidence_id,
        }


@dataclass(frozen=True)
class Status:
    """Agent health, published retained on ``<prefix>/<camera>/status``.

    ``started_at`` is a Unix time in seconds (published as ISO-8601 UTC); ``baseline_age_s`` is seconds since
    the baseline was built; ``cpu_budget_use`` is the fraction of the configured CPU budget in use (1.0 =
    all of it); ``outbox_dropped`` counts messages the full outbox had to drop, per kind, since its creation.
    """

    SCHEMA: ClassVar[str] = "camdrift.status/1"
    TOPIC_KIND: ClassVar[str] = "status"

    camera_id: str
    frame_index: int | None
    stream_time: float | None
    agent_version: str
    config_hash: str
    started_at: float
    source_state: str
    baseline_id: str | None = None
    baseline_age_s: float | None = None
    analysis_fps: float = 0.0
    cpu_budget_use: float = 0.0
    frames_seen: int = 0
    frames_analysed: int = 0
    frames_dropped: int = 0
    outbox_pending: int = 0
    outbox_dropped: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_camera_id(self.camera_id)
        _frame(self.frame_index, self.stream_time)
        for name in ("started_at", "analysis_fps", "cpu_budget_use"):
            _finite(name, getattr(self, name))
        _opt_finite("baseline_age_s", self.baseline_age_s)
        for name in ("frames_seen", "frames_analysed", "frames_dropped", "outbox_pending"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        object.__setattr__(self, "outbox_dropped", MappingProxyType(dict(self.outbox_dropped)))

    def _body(self) -> dict[str, Any]:
        return {
            "agent_version": self.agent_version,
            "config_hash": self.config_hash,
            "started_at": iso_utc(self.started_at),
            "source_state": self.source_state,
            "baseline_id": self.baseline_id,
            "baseline_age_s": self.baseline_age_s,
            "analysis_fps": self.analysis_fps,
            "cpu_budget_use": self.cpu_budget_use,
            "frames": {
                "seen": self.frames_seen,
                "analysed": self.frames_analysed,
                "dropped": self.frames_dropped,
            },
            "outbox": {"pending": self.outbox_pending, "dropped": dict(self.outbox_dropped)},
        }


class GroupState(NamedTuple):
    """The current verdict of one feature group; ``since`` is the stream time (s) the verdict began."""

    group: str
    verdict: str
    episode_id: str | None = None
    score: float | None = None
    threshold: float | None = None
    since: float | None = None


class EpisodeState(NamedTuple):
    """The open drift episode: its id, the stream time (s) it began, and the top cause of its latest event as
    a code (``white_balance``...) and in plain words (the event's summary); cause and summary are None until
    an event of the episode named one (after a restart, until the next ``drift.updated``); acknowledged: an
    operator acknowledged it (the ``ack`` command)."""

    id: str
    since: float | None
    cause: str | None = None
    summary: str | None = None
    acknowledged: bool = False


@dataclass(frozen=True)
class State:
    """Where things stand, published retained on ``<prefix>/<camera>/state`` for late subscribers."""

    SCHEMA: ClassVar[str] = "camdrift.state/1"
    TOPIC_KIND: ClassVar[str] = "state"

    camera_id: str
    frame_index: int | None
    stream_time: float | None
    groups: tuple[GroupState, ...]
    baseline_id: str | None = None
    episode: EpisodeState | None = None

    def __post_init__(self) -> None:
        validate_camera_id(self.camera_id)
        _frame(self.frame_index, self.stream_time)
        if self.episode is not None:
            episode = EpisodeState(*self.episode)
            _opt_finite("episode.since", episode.since)
            object.__setattr__(self, "episode", episode)
        groups = tuple(GroupState(*g) for g in self.groups)
        for g in groups:
            if g.verdict not in VERDICTS:
                raise ValueError(f"verdict of group {g.group!r} must be one of {VERDICTS}, got {g.verdict!r}")
            for name in ("score", "threshold", "since"):
                _opt_finite(f"{name} of group {g.group!r}", getattr(g, name))
        object.__setattr__(self, "groups", groups)

    @property
    def overall(self) -> str:
        """``drift`` if any group drifts, ``ok`` if all are ok, else ``unknown`` (warming up, no groups)."""
        verdicts = {g.verdict for g in self.groups}
        if "drift" in verdicts:
            return "drift"
        return "ok" if verdicts == {"ok"} else "unknown"

    def _body(self) -> dict[str, Any]:
        return {
            "overall": self.overall,
            "baseline_id": self.baseline_id,
            "groups": {
                g.group: {
                    "verdict": g.verdict,
                    "episode_id": g.episode_id,
                    "score": g.score,
                    "threshold": g.threshold,
                    "since": g.since,
                }
                for g in self.groups
            },
            "episode": None if self.episode is None else self.episode._asdict(),
        }


class GroupMetric(NamedTuple):
    """One feature group's drift statistic over the last window; ``value`` is None while warming up."""

    group: str
    statistic: str
    value: float | None
    threshold: float | None


@dataclass(frozen=True)
class Metrics:
    """Periodic statistics per feature group on ``<prefix>/<camera>/metrics`` (QoS 0, not retained).

    ``period_s`` is the publishing period in seconds.
    """

    SCHEMA: ClassVar[str] = "camdrift.metrics/1"
    TOPIC_KIND: ClassVar[str] = "metrics"

    camera_id: str
    frame_index: int | None
    stream_time: float | None
    groups: tuple[GroupMetric, ...]
    period_s: float

    def __post_init__(self) -> None:
        validate_camera_id(self.camera_id)
        _frame(self.frame_index, self.stream_time)
        if not (_finite("period_s", self.period_s) > 0):
            raise ValueError(f"period_s must be > 0, got {self.period_s}")
        groups = tuple(GroupMetric(*g) for g in self.groups)
        for g in groups:
            _opt_finite(f"value of group {g.group!r}", g.value)
            _opt_finite(f"threshold of group {g.group!r}", g.threshold)
        object.__setattr__(self, "groups", groups)

    @property
    def worst_ratio(self) -> float | None:
        """The largest value / threshold over the groups with both (1.0: at its drift threshold); None if none."""
        ratios = [g.value / g.threshold for g in self.groups if g.value is not None and g.threshold]
        return max(ratios) if ratios else None

    def _body(self) -> dict[str, Any]:
        return {
            "period_s": self.period_s,
            "worst_ratio": self.worst_ratio,
            "groups": {
                g.group: {"statistic": g.statistic, "value": g.value, "threshold": g.threshold}
                for g in self.groups
            },
        }


Message = Event | Status | State | Metrics
MESSAGE_TYPES: tuple[type, ...] = (Event, Status, State, Metrics)


def iso_utc(t: float) -> str:
    """Unix time ``t`` (s) as ISO-8601 UTC with millisecond precision and a ``Z`` suffix."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
