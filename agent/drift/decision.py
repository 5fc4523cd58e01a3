"""Decisions: per-statistic state machines (ok -> warning -> drift) and the camera's drift episodes.

A :class:`GroupState` watches one statistic's score. It enters ``warning`` above the warn threshold, enters
``drift`` after ``persistence`` consecutive frames above the drift threshold, and recovers (``drift`` -> ``ok``)
only after ``recovery`` consecutive frames below the lower exit threshold (hysteresis: exit < entry).
:class:`Episodes` merges the groups into camera-level episodes: the first group in drift opens one
(``drift.started``), groups joining later update it (``drift.updated``), and it ends (``drift.ended``, the recovery
event) when the last group has recovered. One episode keeps one id from start to end; the id is a hash of the
camera, the baseline and the onset's frame index and stream time, so replaying a stream gives the same ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import NamedTuple

OK, WARNING, DRIFT = "ok", "warning", "drift"


class Cause(NamedTuple):
    """A likely cause: ``code`` (lighting, gamma, white_balance, defocus, camera_moved, smudge, noise, content),
    plain-word ``text`` with the numbers, ``score`` (larger = more likely; comparable within one decision)."""

    code: str
    text: str
    score: float


@dataclass(frozen=True)
class Decision:
    """One event. kind: ``warning``, ``drift.started``, ``drift.updated``, ``drift.ended``; group: the statistic
    that triggered it (e.g. ``psi.luma``, ``cusum.brightness``); groups: every statistic in drift at that moment;
    score / threshold: the trigger's score and the threshold it crossed; numbers: (name, value) evidence pairs;
    causes: ranked, most likely first; forecast: plain words for slow drift ("" if none)."""

    kind: str
    group: str
    frame_index: int
    stream_time: float
    episode_id: str
    score: float
    threshold: float
    groups: tuple[str, ...]
    numbers: tuple[tuple[str, float], ...]
    causes: tuple[Cause, ...]
    forecast: str = ""

    @property
    def top_cause(self) -> str:
        return self.causes[0].code if self.causes else ""


class Transition(NamedTuple):
    kind: str  # "warning", "drift", "recovered", "cleared"
    group: str


class GroupState:
    """State machine of one statistic. warn < drift thresholds; exit defaults to warn (must be < drift).

    >>> g = GroupState("psi.luma", warn=1.0, drift=2.0, persistence=2, recovery=2)
    >>> [g.update(s).state for s in (0.5, 1.5, 3.0, 3.0, 1.5, 0.5, 0.5)]
    ['ok', 'warning', 'warning', 'drift', 'drift', 'drift', 'ok']
    """

    def __init__(
        self,
        name: str,
        *,
        warn: float,
        drift: float,
        persistence: int = 3,
        recovery: int = 10,
        exit: float | None = None,
    ) -> None:
        exit = warn if exit is None else exit
        if not (exit <= warn <= drift) or exit >= drift:
            raise ValueError(
                f"{name}: need exit <= warn <= drift and exit < drift, got {exit}, {warn}, {drift}"
            )
        if persistence < 1 or recovery < 1:
            raise ValueError(f"{name}: persistence and recovery must be >= 1, got {persistence}, {recovery}")
        self.name = name
        self.warn = warn
        self.drift = drift
        self.exit = exit
        self.persistence = persistence
        self.recovery = recovery
        self.state = OK
        self.above = 0  # consecutive frames above the drift threshold
        self.below = 0  # consecutive frames below the exit threshold while in drift
        self.transition: Transition | None = None

    def update(self, score: float) -> GroupState:
        self.transition = None
        self.above = self.above + 1 if score > self.drift else 0
        if self.state == DRIFT:
            self.below = self.below + 1 if score < self.exit else 0
            if self.below >= self.recovery:
                self.state, self.below = OK, 0
                self.transition = Transition("recovered", self.name)
        elif self.above >= self.persistence:
            self.state, self.below = DRIFT, 0
            self.transition = Transition("drift", self.name)
        elif self.state == OK and score > self.warn:
            self.state = WARNING
            self.transition = Transition("warning", self.name)
        elif self.state == WARNING and score <= self.exit:
            self.state = OK
            self.transition = Transition("cleared", self.name)
        return self

    @property
    def drift_detected(self) -> bool:
        return self.state == DRIFT

    def clear(self) -> Transition:
        """Back to ``ok`` now (the evidence behind the drift was reset); returns the ``recovered`` transition."""
        self.state, self.above, self.below = OK, 0, 0
        self.transition = Transition("recovered", self.name)
        return self.transition


def episode_id(camera_id: str, baseline_id: str, frame_index: int, stream_time: float) -> str:
    key = f"{camera_id}|{baseline_id}|{frame_index}|{stream_time!r}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class Episodes:
    """Camera-level drift episodes from the groups' transitions (see the module docstring)."""

    def __init__(self, camera_id: str, baseline_id: str) -> None:
        self.camera_id = camera_id
        self.baseline_id = baseline_id
        self.current: str = ""  # open episode id, "" if none
        self.groups: tuple[str, ...] = ()

    def kinds(
        self, transitions: list[Transition], frame_index: int, stream_time: float
    ) -> list[tuple[str, str]]:
        """Event (kind, group) pairs for this frame's transitions, in a deterministic order."""
        out: list[tuple[str, str]] = []
        for t in transitions:
            if t.kind == "drift":
                self.groups = (*self.groups, t.group)
                if not self.current:
                    self.current = episode_id(self.camera_id, self.baseline_id, frame_index, stream_time)
                    out.append(("drift.started", t.group))
                else:
                    out.append(("drift.updated", t.group))
            elif t.kind == "recovered":
                self.groups = tuple(g for g in self.groups if g != t.group)
                if self.current and not self.groups:
                    out.append(("drift.ended", t.group))
            elif t.kind == "warning" and not self.current:
                out.append(("warning", t.group))
        return out

    def close_if_ended(self) -> None:
        if not self.groups:
            self.current = ""
