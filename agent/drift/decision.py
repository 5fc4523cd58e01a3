"""Decisions: per-statistic state machines (ok -> warning -> drift) and the camera's drift episodes.

A :class:`Hysteresis` watches one statistic's score. It enters ``warning`` above the warn threshold, enters
``drift`` after ``persistence`` consecutive frames above the drift threshold, and recovers (``drift`` -> ``ok``)
only after ``recovery`` consecutive frames below the lower exit threshold (hysteresis: exit < entry).
:class:`Episodes` merges the groups into camera-level episodes: the first group in drift opens one
(``drift.started``), groups joining later update it (``drift.updated``), and it ends (``drift.ended``, the recovery
event) when the last group has recovered. One episode keeps one id from start to end; the id is a hash of the
camera, the baseline, the source (its identity: another recording with the same timing is another source) and the
onset's frame index and stream time, so replaying a recording gives the same ids and no two sources share one.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

OK, WARNING, DRIFT = "ok", "warning", "drift"
STATES = (OK, WARNING, DRIFT)  # a state's index is how the engine state file stores it


class Cause(NamedTuple):
    """A likely cause: ``code`` (lighting, gamma, white_balance, defocus, camera_moved, smudge, noise, content),
    plain-word ``text`` with the numbers, ``score`` (larger = more likely; comparable within one decision).

    The one cause type: the engine ranks them, events carry them (scores >= 0 there), reports print them."""

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


class Hysteresis:
    """State machine of one statistic. warn < drift thresholds; exit defaults to warn (must be < drift).

    >>> g = Hysteresis("psi.luma", warn=1.0, drift=2.0, persistence=2, recovery=2)
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
        if exit is None:
            # Leave the drift state below warn; a baseline from before warn < drift was enforced may have
            # warn == drift (capped): then just below drift, or the state could never be left.
            exit = warn if warn < drift else math.nextafter(drift, -math.inf)
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

    def update(self, score: float) -> Hysteresis:
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

    # --- state (see engine_state) -------------------------------------------------------------------------------

    def state_arrays(self) -> dict[str, np.ndarray]:
        """``state``: (3,) int64 [index in :data:`STATES`, frames above, frames below]."""
        return {"state": np.array([STATES.index(self.state), self.above, self.below], np.int64)}

    def state_header(self) -> dict[str, Any]:
        return {}

    def restore(self, header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        state, above, below = (int(v) for v in arrays["state"])
        if not 0 <= state < len(STATES):
            raise ValueError(f"{self.name}: state index {state} is not one of {STATES}")
        self.state, self.above, self.below = STATES[state], above, below
        self.transition = None


def stack_states(groups: Sequence[Hysteresis]) -> np.ndarray:
    """(n, 3) int64: each state machine's :meth:`Hysteresis.state_arrays` row, in order."""
    return np.array([g.state_arrays()["state"] for g in groups], np.int64).reshape(-1, 3)


def restore_states(groups: Sequence[Hysteresis], rows: np.ndarray) -> None:
    """Restore ``groups`` from the (n, 3) rows :func:`stack_states` made."""
    if len(rows) != len(groups):
        raise ValueError(f"groups: {len(rows)} saved states for {len(groups)} statistics")
    for g, row in zip(groups, rows, strict=True):
        g.restore({}, {"state": row})


def episode_id(
    camera_id: str, baseline_id: str, frame_index: int, stream_time: float, source_id: str = ""
) -> str:
    """16 hex digits naming the episode that starts at ``frame_index`` / ``stream_time`` (s) of the source
    ``source_id`` (its identity; "" for none, the ids of a camdrift before sources were named)."""
    key = f"{camera_id}|{baseline_id}|{frame_index}|{stream_time!r}"
    if source_id:
        key = f"{key}|{source_id}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class Episodes:
    """Camera-level drift episodes from the groups' transitions (see the module docstring).

    source_id: the identity of the source the frames come from, part of every new episode's id (not of the
    saved state: a restored open episode keeps the id it was given)."""

    def __init__(self, camera_id: str, baseline_id: str, source_id: str = "") -> None:
        self.camera_id = camera_id
        self.baseline_id = baseline_id
        self.source_id = source_id
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
                    self.current = episode_id(
                        self.camera_id, self.baseline_id, frame_index, stream_time, self.source_id
                    )
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

    @property
    def drift_detected(self) -> bool:
        return bool(self.current)

    # --- state (see engine_state) -------------------------------------------------------------------------------

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {}

    def state_header(self) -> dict[str, Any]:
        return {"episode": self.current, "episode_groups": list(self.groups)}

    def restore(self, header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        self.current = str(header["episode"])
        self.groups = tuple(str(g) for g in header["episode_groups"])
