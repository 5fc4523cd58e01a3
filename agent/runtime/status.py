"""How the agent is doing: the retained STATUS message, systemd's one-line STATUS, and health for the watchdog.

:class:`StatusBoard` counts the frames the source delivered and when the last one came; the rest it reads from
the running :class:`~camdrift.agent.runtime.assembly.Assembly` when asked.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from camdrift.agent.config import Config
from camdrift.agent.output.events import Status
from camdrift.agent.output.sinks import Backlog, Sink
from camdrift.agent.reference.baseline import Baseline
from camdrift.agent.runtime.assembly import Assembly
from camdrift.agent.version import agent_version

log = logging.getLogger("camdrift.agent")


def config_hash(config: Config) -> str:
    """16 hex digits of the configuration's SHA-256: says which configuration runs (after reloads too)."""
    return hashlib.sha256(json.dumps(asdict(config), sort_keys=True, default=str).encode()).hexdigest()[:16]


def process_uptime() -> float | None:
    """Seconds since this process started (Linux ``/proc``, 10 ms resolution); None where it cannot be read."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))


def baseline_age_s(baseline: Baseline, now: float) -> float | None:
    """Seconds since the baseline was built (``now``: Unix s); None when its creation time does not parse."""
    try:
        return max(0.0, now - datetime.fromisoformat(baseline.created_at.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def total_backlog(sinks: Iterable[Sink]) -> Backlog:
    """What all ``sinks`` hold undelivered: pending messages summed, drops summed per kind."""
    pending, dropped = 0, Counter[str]()
    for sink in sinks:
        backlog = sink.backlog
        pending += backlog.pending
        dropped.update(backlog.dropped)
    return Backlog(pending, dict(dropped))


def first_frame_note() -> str:
    """How long the start took, for the log line of the first analysed frame (``camdrift bench --agent``
    reads it): "N s after the process started (K numba specialisations loaded)"."""
    from camdrift.kernels.warm import loaded_specialisations

    up = process_uptime()
    age = "" if up is None else f"{up:.2f} s after the process started "
    return f"{age}({loaded_specialisations()} numba specialisations loaded)"


class Every:
    """Due once every ``period`` s of a monotonic clock, the first time at once."""

    def __init__(self, period: float) -> None:
        self.period = period
        self._next = -math.inf

    def due(self, now: float) -> bool:
        """True (and the next one scheduled ``period`` s from ``now``) once the period has passed."""
        if now < self._next:
            return False
        self._next = now + self.period
        return True


# Consecutive analysis attempts refused before the frame stream counts as rejected (one odd frame is not).
REJECT_AFTER = 3


class StatusBoard:
    """Frames seen, analysed and refused, and when; the status of the agent from them and the running parts.

    Health is what the agent does: ``ok`` (or ``drift``) only while frames are analysed. Before the first
    frame the line says it waits for the source; when :data:`REJECT_AFTER` analysis attempts in a row were
    refused (a baseline for other frames) it says why, and :meth:`healthy` is False (no watchdog ping).

    started_at: Unix s. clock: monotonic seconds (for the stall timeout).
    """

    def __init__(self, *, started_at: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.started_at = started_at
        self.frames_seen = 0
        self.frames_analysed = 0
        self._clock = clock
        self._last_progress = clock()
        self.refused_in_a_row = 0
        self.refusal: str | None = None  # why the last refused frame was refused

    def frame_arrived(self) -> None:
        """The source delivered a frame (analysed or not)."""
        self._last_progress = self._clock()
        self.frames_seen += 1

    def frame_analysed(self) -> bool:
        """A frame was analysed; True when this ends a rejected stream (frames accepted again)."""
        was = self.rejecting
        if self.frames_analysed == 0:  # how long the start took, in the journal (``bench --agent`` reads it)
            log.info("first frame analysed %s", first_frame_note())
        self.frames_analysed += 1
        self.refused_in_a_row = 0
        self.refusal = None
        return was

    def frame_refused(self, reason: str) -> bool:
        """A frame due for analysis was refused; True exactly when the stream becomes rejected."""
        self.refused_in_a_row += 1
        self.refusal = reason
        return self.refused_in_a_row == REJECT_AFTER

    @property
    def rejecting(self) -> bool:
        """The last :data:`REJECT_AFTER` (or more) analysis attempts were all refused."""
        return self.refused_in_a_row >= REJECT_AFTER

    def baseline_replaced(self) -> None:
        """A reload put another baseline in place: refusals so far were the old baseline's."""
        self.refused_in_a_row = 0
        self.refusal = None

    def message(self, parts: Assembly, source_state: str, now: float) -> Status:
        """The retained status message; ``now``: Unix s."""
        p = parts.pipeline
        f = p.last_frame
        state = parts.sampler.state
        budget_use = (
            0.0 if state.cpu_fraction is None else state.cpu_fraction / parts.config.analysis.cpu_budget
        )
        backlog = total_backlog(parts.sinks)
        return Status(
            camera_id=p.camera_id,
            frame_index=None if f is None else f.frame_index,
            stream_time=None if f is None else f.stream_time,
            agent_version=agent_version(),
            config_hash=config_hash(parts.config),
            started_at=self.started_at,
            source_state=source_state,
            baseline_id=p.baseline_id,
            baseline_age_s=baseline_age_s(p.baseline, now),
            analysis_fps=float(state.fps),
            cpu_budget_use=float(budget_use),
            frames_seen=self.frames_seen,
            frames_analysed=p.counters.analysed,
            frames_dropped=self.frames_seen - p.counters.analysed,
            outbox_pending=backlog.pending,
            outbox_dropped=dict(backlog.dropped),
        )

    def activity(self, parts: Assembly, source: str) -> str:
        """What the agent does now, in words: ``ok``/``drift`` only once frames are analysed and while they
        are not refused; else ``frames refused: <reason>``, ``waiting for the source <source>`` (no frame
        yet) or ``starting`` (frames arrived, none analysed yet)."""
        if self.rejecting:
            return f"frames refused: {self.refusal}"
        if parts.pipeline.counters.analysed == 0:
            return f"waiting for the source {source}" if self.frames_seen == 0 else "starting"
        return "drift" if parts.pipeline.drift_detected else "ok"

    def line(self, parts: Assembly, source: str = "") -> str:
        """systemd's STATUS line: what the agent does (see :meth:`activity`), sampling, frames analysed of
        those seen."""
        p = parts.pipeline
        doing = self.activity(parts, source or parts.config.source.uri)
        return f"{doing}; {parts.sampler.describe()}; analysed {p.counters.analysed} of {self.frames_seen}"

    def healthy(self, parts: Assembly, *, waiting_for_input: bool = False) -> bool:
        """Frames arrived within the source's stall timeout, they are not being refused, and every sink is
        healthy. A camera that stays away (or a baseline for other frames) therefore gets the agent restarted
        by systemd's watchdog, besides the source.lost (baseline.rejected) event: the unit's start limit is
        set so that this keeps retrying. ``waiting_for_input``: the source waits for new input, healthy (a
        watched folder with every file delivered), which is fresh however long it lasts."""
        fresh = waiting_for_input or self._clock() - self._last_progress < parts.config.source.stall_timeout
        return fresh and not self.rejecting and all(s.healthy for s in parts.sinks)
