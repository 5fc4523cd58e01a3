"""Scoring the agent's published events on corpus clips (corpus_score.py), from events written by hand in the
shape ``camdrift run --jsonl`` publishes (schema camdrift.event/1: kind, stream_time, group, causes ranked with
code/text/score, numbers with the shift in px, the slow-drift forecast appended to the summary).

- a healthy stream: every drift.started is a false alarm, drift.warning counted apart, lifecycle events ignored;
- a change: the delay runs from the first affected frame to the first drift.started at or after it, earlier
  alarms are counted apart, the cause is that alarm's top cause;
- a camera move: the published shift (rotation read from the cause text) against the true displacement, within
  20 % of it or 2 px, whichever is larger;
- the lamp: light lost at the first drift.started after the onset, and the forecast's days against the truth.
"""

from __future__ import annotations

import math

import pytest

from camdrift.agent.sim.drift import true_displacement
from camdrift.agent.sim.scenarios import SCENARIOS
from camdrift.calibration.bench.corpus import Clip
from camdrift.calibration.bench.corpus_score import (
    Alarm,
    Change,
    Healthy,
    published_shift,
    score_change,
    score_healthy,
    score_lamp,
)

LIGHTING = ("lighting", "mean luma +15% since baseline, uniform across the frame: lighting", 3.7)
NOISE = ("noise", "noise +11%, tones +14%: sensor noise / gain setting", 0.28)
MOVED = ("camera_moved", "image shifted 19 px left, 0 px up: camera moved", 4.2)


def event(
    kind: str,
    t: float | None,
    *causes: tuple[str, str, float],
    group: str | None = "shift.brightness",
    numbers: dict[str, float] | None = None,
    summary: str = "",
) -> dict:
    """One event as ``camdrift run --jsonl`` writes it (the fields the scoring may read, and more)."""
    return {
        "schema": "camdrift.event/1",
        "event_id": f"{kind}-{t}",
        "seq": 1,
        "camera_id": "cam0",
        "frame_index": None if t is None else round(t * 5),
        "stream_time": t,
        "replayed": False,
        "kind": kind,
        "episode_id": None,
        "group": group,
        "severity": "critical" if kind == "drift.started" else "info",
        "summary": summary or (causes[0][1] if causes else ""),
        "causes": [{"code": c, "text": text, "score": s} for c, text, s in causes],
        "numbers": {"score": 12.0, "threshold": 9.8, **(numbers or {})},
        "evidence_id": None,
    }


LIFECYCLE = (
    event("baseline.loaded", None, group=None),
    event("agent.started", None, group=None),
)
GAIN_CLIP = Clip("change", "gain_step", 1010, 600, 300, 30.0)  # onset 10 s into the clip


def test_score_healthy_counts_every_started_as_a_false_alarm_and_warnings_apart() -> None:
    events = (
        *LIFECYCLE,
        event("drift.warning", 101.2, NOISE, group="shift.noise"),
        event("drift.started", 101.6, NOISE, LIGHTING, group="shift.noise"),
        event("drift.updated", 102.0, LIGHTING),
        event("drift.ended", 110.0, group="shift.noise"),
        event("drift.warning", 300.0, LIGHTING),
        event("drift.started", 400.4, group="psi.luma"),  # no cause published
        event("source.ended", 3999.8, group=None),
    )
    assert score_healthy(events, 20_000) == Healthy(
        20_000, (Alarm(101.6, "shift.noise", "noise"), Alarm(400.4, "psi.luma", "")), 2
    )
    assert score_healthy(LIFECYCLE, 300) == Healthy(300, (), 0)


def test_score_change_measures_the_delay_from_the_first_affected_frame() -> None:
    events = (
        *LIFECYCLE,
        event("drift.started", 4.0, NOISE, group="shift.noise"),  # before the change: early
        event("drift.warning", 10.2, LIGHTING),
        event("drift.started", 10.6, LIGHTING, NOISE),
        event("drift.updated", 10.8, LIGHTING),
        event("drift.started", 12.0, NOISE, group="shift.noise"),  # a later episode: not the detection
    )
    c = score_change(events, GAIN_CLIP, 300, (640, 360))
    assert c.change == "gain_step" and c.affected_t == 10.0
    assert (c.detected_t, c.delay_s, c.delay_frames) == (10.6, pytest.approx(0.6), 3)
    assert (c.cause, c.expected, c.early, c.warnings) == ("lighting", "lighting", 1, 1)
    assert c.shift is None and c.true_shift is None and c.displacement_ok is None


def test_score_change_counts_an_alarm_on_the_first_affected_frame_as_caught() -> None:
    c = score_change((event("drift.started", 10.0, LIGHTING),), GAIN_CLIP, 300, (640, 360))
    assert (c.detected_t, c.delay_s, c.delay_frames, c.early) == (10.0, 0.0, 0, 0)


def test_score_change_from_a_later_affected_frame_counts_alarms_before_it_as_early() -> None:
    # a new product is first in view 20 frames (0.67 s) after the onset: an alarm between the two is early
    clip = Clip("change", "new_product", 1018, 600, 300, 30.0)
    content = ("content", "histograms moved (PSI up to 0.3): content changed (new product variant?)", 2.0)
    events = (event("drift.started", 10.4, NOISE), event("drift.started", 11.2, content, group="psi.luma"))
    c = score_change(events, clip, 320, (640, 360))
    assert c.affected_t == pytest.approx(320 / 30)
    assert c.delay_s == pytest.approx(11.2 - 320 / 30) and c.delay_frames == 3
    assert (c.cause, c.expected, c.early) == ("content", "content", 1)


def test_score_change_of_a_missed_change() -> None:
    events = (*LIFECYCLE, event("drift.started", 3.0, NOISE), event("drift.warning", 11.0, LIGHTING))
    c = score_change(events, GAIN_CLIP, 300, (640, 360))
    assert (c.detected_t, c.delay_s, c.delay_frames, c.cause) == (None, None, None, "")
    assert (c.expected, c.early, c.warnings) == ("lighting", 1, 1)


def test_score_change_of_a_camera_move_reads_the_published_shift_against_the_truth() -> None:
    clip = Clip("change", "camera_shift_rotated", 1015, 600, 300, 30.0)
    truth = true_displacement(SCENARIOS["camera_shift_rotated"].phases[0].drift, 640, 360)
    # the camera rolled anticlockwise: the content turns clockwise
    assert truth.dx_px == pytest.approx(-19.2, abs=0.05) and truth.rotation_deg == -1.0
    turned = (
        "camera_moved",
        "image shifted 19 px left, 0 px up, turned 1.0 deg clockwise: camera moved",
        4.2,
    )
    numbers = {"shift_x_px": -18.0, "shift_y_px": 1.0}
    c = score_change(
        (event("drift.started", 10.4, turned, group="displacement", numbers=numbers),), clip, 300, (640, 360)
    )
    assert c.true_shift == (truth.dx_px, truth.dy_px, -1.0)
    assert c.shift == (-18.0, 1.0, -1.0)
    assert (c.cause, c.expected) == ("camera_moved", "camera_moved")
    assert c.displacement_ok is True
    far = {"shift_x_px": -12.0, "shift_y_px": 0.0}  # 7.2 px off a 19.2 px move: beyond 20 %
    c = score_change(
        (event("drift.started", 10.4, MOVED, group="displacement", numbers=far),), clip, 300, (640, 360)
    )
    assert c.displacement_ok is False
    missed = score_change((), clip, 300, (640, 360))
    assert missed.shift is None and missed.true_shift is not None and missed.displacement_ok is None


def _move(shift: tuple[float, float], truth: tuple[float, float]) -> Change:
    return Change(
        "camera_shift", 10.0, 10.4, 0.4, 2, "camera_moved", "camera_moved", 0, 0, (*shift, 0.0), (*truth, 0.0)
    )


def test_displacement_ok_is_within_20_percent_or_2_px() -> None:
    # a large move: 20 % of |(-19, -7)| = 4.05 px
    assert _move((-19.0 + 4.0, -7.0), (-19.0, -7.0)).displacement_ok is True
    assert _move((-19.0 + 4.1, -7.0), (-19.0, -7.0)).displacement_ok is False
    assert _move((-19.0 + 2.4, -7.0 - 3.2), (-19.0, -7.0)).displacement_ok is True  # 4.0 px along a diagonal
    # a small move: the 2 px floor
    assert _move((5.0 + 1.9, 0.0), (5.0, 0.0)).displacement_ok is True
    assert _move((5.0 + 2.1, 0.0), (5.0, 0.0)).displacement_ok is False
    assert _move((1.5, 1.5), (0.0, 0.0)).displacement_ok is False  # 2.1 px published for no move
    nan = _move((math.nan, math.nan), (5.0, 0.0))  # a camera_moved event without a shift: not ok
    assert nan.displacement_ok is False


def test_published_shift_reads_the_numbers_and_the_rotation_of_the_camera_cause() -> None:
    def causes(text: str, code: str = "camera_moved") -> dict:
        return event("drift.started", 1.0, (code, text, 1.0), numbers={"shift_x_px": 3.5, "shift_y_px": -2.0})

    assert published_shift(causes("image shifted 4 px right, 2 px up: camera moved")) == (3.5, -2.0, 0.0)
    assert published_shift(causes("image shifted 4 px right, turned 0.8 deg anticlockwise")) == (
        3.5,
        -2.0,
        0.8,
    )
    assert published_shift(causes("turned 1.25 deg clockwise: camera moved")) == (3.5, -2.0, -1.25)
    assert published_shift(causes("turned 2 deg clockwise", code="lighting")) == (
        3.5,
        -2.0,
        0.0,
    )  # not the camera's
    numbers = {"shift_x_px": -18.3, "shift_y_px": -0.8, "rotation_deg": 0.93}  # unrounded, clockwise +
    text = "image shifted 18 px left, 1 px up and turned 0.9 deg clockwise: camera moved"
    rolled = event("drift.started", 1.0, ("camera_moved", text, 4.9), numbers=numbers)
    assert published_shift(rolled) == (-18.3, -0.8, -0.93)  # the numbers win over the rounded words
    x, y, rot = published_shift(event("drift.started", 1.0, LIGHTING))  # no shift published
    assert math.isnan(x) and math.isnan(y) and rot == 0.0


LAMP_CLIP = Clip("lamp", "lamp_decay", 1030, 1069, 60, 1 / 60)  # an hour healthy, then 20 % over 7 days
ONSET_T = 3600.0
DAY = 86400.0


def test_score_lamp_reads_the_light_lost_and_the_forecast() -> None:
    summary = "mean luma -3% since baseline, uniform: lighting; brightness -2.86%/day; crosses tolerance in ~2.4 days"
    events = (
        *LIFECYCLE,
        event("drift.started", 1800.0, NOISE),  # before the lamp starts to fade: early
        event("drift.warning", ONSET_T + 0.5 * DAY, LIGHTING),
        event("drift.started", ONSET_T + DAY, LIGHTING, summary=summary),
        event("drift.started", ONSET_T + 2 * DAY, LIGHTING),
    )
    lamp = score_lamp(events, LAMP_CLIP)
    assert lamp.detected_t == ONSET_T + DAY
    assert lamp.lost == pytest.approx(0.2 / 7)  # one day of 20 % over 7
    # from there the light needs (10 % - 2.86 %) / (2.86 %/day) = 2.5 days to leave the +-10 % tolerance
    assert lamp.true_days == pytest.approx(2.5)
    assert (lamp.forecast_days, lamp.early) == (2.4, 1)
    assert lamp.forecast.endswith("crosses tolerance in ~2.4 days")
    assert lamp.forecast_range is None and lamp.brackets is None  # a forecast published without its range
    ranged = summary + " (1.9-3.3 at 95 %)"
    lamp = score_lamp((event("drift.started", ONSET_T + DAY, LIGHTING, summary=ranged),), LAMP_CLIP)
    assert (lamp.forecast_days, lamp.forecast_range, lamp.brackets) == (2.4, (1.9, 3.3), True)
    short = summary + " (1.9-2.3 at 95 %)"  # the truth (2.5 days) outside the range
    assert (
        score_lamp((event("drift.started", ONSET_T + DAY, LIGHTING, summary=short),), LAMP_CLIP).brackets
        is False
    )


def test_score_lamp_forecast_from_a_cause_text_already_outside_or_none() -> None:
    t = ONSET_T + 3.5 * DAY  # 10 % lost: at the tolerance
    trend = ("lighting", "brightness -2.86%/day; crosses tolerance already outside", 2.0)
    lamp = score_lamp((event("drift.started", t, trend),), LAMP_CLIP)
    assert lamp.lost == pytest.approx(0.1) and lamp.true_days == pytest.approx(0.0, abs=1e-12)
    assert lamp.forecast_days == 0.0 and "already outside" in lamp.forecast
    never = score_lamp(
        (event("drift.started", t, LIGHTING, summary="x; crosses tolerance never at this rate"),), LAMP_CLIP
    )
    assert never.forecast_days is None and never.forecast.endswith("never at this rate")
    plain = score_lamp((event("drift.started", t, LIGHTING),), LAMP_CLIP)
    assert (plain.forecast, plain.forecast_days) == ("", None)


def test_score_lamp_of_a_missed_decay() -> None:
    lamp = score_lamp((*LIFECYCLE, event("drift.started", 600.0, NOISE)), LAMP_CLIP)
    assert (lamp.lost, lamp.detected_t, lamp.forecast_days, lamp.true_days, lamp.early) == (
        None,
        None,
        None,
        None,
        1,
    )
