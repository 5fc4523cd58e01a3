"""The message records: an event's causes become the one Cause type with float scores and its numbers cannot
be changed after the fact; a state's overall verdict is drift if any statistic drifts, ok only if all are ok;
times are published as ISO-8601 UTC with milliseconds."""

from __future__ import annotations

import numpy as np
import pytest

from camdrift.agent.drift.decision import Cause
from camdrift.agent.output.messages import Event, GroupState, State, Status, iso_utc


def test_event_causes_are_causes_with_float_scores_and_numbers_are_read_only() -> None:
    ev = Event(
        kind="drift.started",
        camera_id="cam1",
        frame_index=3,
        stream_time=0.3,
        causes=(("lighting", "mean luma -15%", np.float64(2.5)), Cause("gamma", "midtones", 1)),
        numbers={"psi.luma": np.float64(0.4)},
    )
    assert ev.causes == (Cause("lighting", "mean luma -15%", 2.5), Cause("gamma", "midtones", 1.0))
    assert all(isinstance(c, Cause) and type(c.score) is float for c in ev.causes)
    assert type(ev.numbers["psi.luma"]) is float
    with pytest.raises(TypeError):
        ev.numbers["psi.luma"] = 1.0  # type: ignore[index]


@pytest.mark.parametrize(
    ("verdicts", "overall"),
    [
        (("ok", "ok"), "ok"),
        (("ok", "warning"), "unknown"),
        (("warming_up", "drift"), "drift"),
        (("ok", "warming_up"), "unknown"),
        ((), "unknown"),
    ],
)
def test_state_overall_verdict(verdicts: tuple[str, ...], overall: str) -> None:
    groups = tuple(GroupState(f"g{i}", v) for i, v in enumerate(verdicts))
    s = State(camera_id="cam1", frame_index=1, stream_time=0.1, groups=groups)
    assert s.overall == overall
    assert s._body()["overall"] == overall and list(s._body()["groups"]) == [g.group for g in groups]


def test_status_body_groups_frames_and_outbox() -> None:
    s = Status(
        camera_id="cam1",
        frame_index=None,
        stream_time=None,
        agent_version="0.1.0",
        config_hash="ab",
        started_at=1_700_000_000.25,
        source_state="streaming",
        frames_seen=9,
        frames_analysed=4,
        frames_dropped=2,
        outbox_pending=1,
        outbox_dropped={"metrics": 5},
    )
    body = s._body()
    assert body["frames"] == {"seen": 9, "analysed": 4, "dropped": 2}
    assert body["outbox"] == {"pending": 1, "dropped": {"metrics": 5}}
    assert body["started_at"] == "2023-11-14T22:13:20.250Z"


def test_iso_utc_has_milliseconds_and_z() -> None:
    assert iso_utc(0.0) == "1970-01-01T00:00:00.000Z"
    assert iso_utc(1.2345) == "1970-01-01T00:00:01.234Z"
