"""Scoring the agent's published events on corpus clips: false alarms, delays, causes, displacement, the lamp.

Inputs are the JSON events ``camdrift run`` wrote (``drift.started`` / ``drift.warning`` with ``stream_time``,
``causes`` ranked and ``numbers``), never the engine's internals. Delays are stream time (s) from the first
affected frame (the first frame that differs from the healthy render of the same seed) to the first
``drift.started`` at or after it, and analysed frames at the default 5 fps.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

from camdrift.agent.sim.drift import true_displacement
from camdrift.agent.sim.scenarios import SCENARIOS
from camdrift.calibration.bench.corpus import ANALYSIS_FPS, Clip

DISPLACEMENT_TOLERANCE = 0.20  # of the true displacement, or 2 px, whichever is larger (the rule)
DISPLACEMENT_FLOOR_PX = 2.0
TOLERANCE = 0.10  # the engine's default slow-drift tolerance (+-10 % of the reference mean)
_TURNED = re.compile(r"turned ([0-9.]+) deg (anticlockwise|clockwise)")
_DAYS = re.compile(r"in ~([0-9.]+) days")
_RANGE = re.compile(r"\(([0-9.]+)-([0-9.]+) at 95 %\)")


class Alarm(NamedTuple):
    """One ``drift.started``: t stream time (s); group: the statistic that started it; cause: top cause code."""

    t: float
    group: str
    cause: str


class Healthy(NamedTuple):
    """A healthy stream: frames analysed, drift.started (false alarms) and drift.warning events over it."""

    frames: int
    alarms: tuple[Alarm, ...]
    warnings: int


class Change(NamedTuple):
    """A sudden change. affected_t: stream time of the first affected frame (s); detected_t / delay_s: of the
    first drift.started at or after it (None: missed); delay_frames: analysed frames (5 fps); cause / expected:
    top cause code and the truth; early: drift.started before ``affected_t``; warnings: drift.warning events;
    shift / true_shift: (dx px, dy px, rotation deg) published and true (camera moves only, else None)."""

    change: str
    affected_t: float
    detected_t: float | None
    delay_s: float | None
    delay_frames: int | None
    cause: str
    expected: str
    early: int
    warnings: int
    shift: tuple[float, float, float] | None
    true_shift: tuple[float, float, float] | None

    @property
    def displacement_ok(self) -> bool | None:
        """Within 20 % (or 2 px) of the true displacement vector; None when not a caught camera move."""
        if self.shift is None or self.true_shift is None:
            return None
        err = math.hypot(self.shift[0] - self.true_shift[0], self.shift[1] - self.true_shift[1])
        size = math.hypot(self.true_shift[0], self.true_shift[1])
        return err <= max(DISPLACEMENT_TOLERANCE * size, DISPLACEMENT_FLOOR_PX)


class Lamp(NamedTuple):
    """The 7-day lamp decay. lost: fraction of the light lost at the first drift.started (None: missed);
    forecast_days: the forecast's time to the tolerance at that event (None: no forecast); true_days: the true
    time from that event until the light is TOLERANCE down; forecast: the published text; forecast_range:
    (soonest, latest) days of the forecast's 95 % range (None: no range published)."""

    lost: float | None
    detected_t: float | None
    forecast_days: float | None
    true_days: float | None
    forecast: str
    early: int
    forecast_range: tuple[float, float] | None = None

    @property
    def brackets(self) -> bool | None:
        """Whether the published range holds the true crossing time (None: no range or missed)."""
        if self.forecast_range is None or self.true_days is None:
            return None
        return self.forecast_range[0] <= self.true_days <= self.forecast_range[1]


def _alarms(events: tuple[dict, ...], kind: str = "drift.started") -> list[Alarm]:
    out = []
    for e in events:
        if e.get("kind") == kind and e.get("stream_time") is not None:
            causes = e.get("causes") or ()
            out.append(
                Alarm(float(e["stream_time"]), str(e.get("group")), causes[0]["code"] if causes else "")
            )
    return out


def score_healthy(events: tuple[dict, ...], frames: int) -> Healthy:
    """False alarms (every drift.started) and warnings over a healthy stream of ``frames`` analysed frames."""
    return Healthy(frames, tuple(_alarms(events)), len(_alarms(events, "drift.warning")))


def published_shift(event: dict) -> tuple[float, float, float]:
    """(dx px, dy px, rotation deg CCW +) the event published for the camera move: the numbers' unrounded
    ``rotation_deg`` (clockwise +), else the camera cause's words (events from before it was published)."""
    n = event.get("numbers") or {}
    dx, dy = float(n.get("shift_x_px", math.nan)), float(n.get("shift_y_px", math.nan))
    if "rotation_deg" in n:
        return dx, dy, -float(n["rotation_deg"])
    rot = 0.0
    for c in event.get("causes") or ():
        m = _TURNED.search(c.get("text", "")) if c.get("code") == "camera_moved" else None
        if m:
            rot = float(m.group(1)) * (1.0 if m.group(2) == "anticlockwise" else -1.0)
    return dx, dy, rot


def score_change(events: tuple[dict, ...], clip: Clip, affected: int, size: tuple[int, int]) -> Change:
    """Score the events of a change clip whose first affected source frame is ``affected``."""
    affected_t = affected / clip.fps
    started = [e for e in events if e.get("kind") == "drift.started" and e.get("stream_time") is not None]
    after = [e for e in started if e["stream_time"] >= affected_t - 1e-9]
    warnings = len(_alarms(events, "drift.warning"))
    scenario = SCENARIOS[clip.scenario]
    expected = scenario.expected_cause or ""
    hit = after[0] if after else None
    truth = None
    if expected == "camera_moved":
        d = true_displacement(scenario.phases[0].drift, *size)
        truth = (d.dx_px, d.dy_px, d.rotation_deg)
    if hit is None:
        return Change(clip.scenario, affected_t, None, None, None, "", expected, len(started), warnings, None, truth)  # fmt: skip
    delay = float(hit["stream_time"]) - affected_t
    causes = hit.get("causes") or ()
    return Change(
        change=clip.scenario,
        affected_t=affected_t,
        detected_t=float(hit["stream_time"]),
        delay_s=delay,
        delay_frames=round(delay * ANALYSIS_FPS),
        cause=causes[0]["code"] if causes else "",
        expected=expected,
        early=len(started) - len(after),
        warnings=warnings,
        shift=published_shift(hit) if truth is not None else None,
        true_shift=truth,
    )


def score_lamp(events: tuple[dict, ...], clip: Clip) -> Lamp:
    """Light lost at the first drift.started after the lamp's onset, and its forecast against the truth."""
    phase = SCENARIOS[clip.scenario].phases[0]
    onset_t = (clip.onset or 0) / clip.fps
    started = [e for e in events if e.get("kind") == "drift.started" and e.get("stream_time") is not None]
    after = [e for e in started if e["stream_time"] >= onset_t]
    if not after:
        return Lamp(None, None, None, None, "", len(started))
    hit = after[0]
    t = float(hit["stream_time"])
    lost = phase.ramp_loss * min((t - onset_t) / phase.ramp_s, 1.0)
    rate_per_day = phase.ramp_loss / (phase.ramp_s / 86400.0)
    true_days = max(TOLERANCE - lost, 0.0) / rate_per_day
    forecast = str(hit.get("forecast") or _forecast_text(hit))
    m = _DAYS.search(forecast)
    days = float(m.group(1)) if m else (0.0 if "already outside" in forecast else None)
    r = _RANGE.search(forecast)
    span = (float(r.group(1)), float(r.group(2))) if r else None
    return Lamp(lost, t, days, true_days, forecast, len(started) - len(after), span)


def _forecast_text(event: dict) -> str:
    """The forecast words in an event's cause texts (the JSON event carries them there, if anywhere)."""
    for c in event.get("causes") or ():
        if "crosses tolerance" in c.get("text", ""):
            return c["text"]
    summary = str(event.get("summary", ""))
    return summary if "crosses tolerance" in summary else ""
