"""Messages, envelope and schema, without a broker (topic names: test_topics.py)."""

from __future__ import annotations

import json
import math
import re

import pytest

from camdrift.agent.output.events import (
    EVENT_KINDS,
    Envelope,
    Event,
    GroupMetric,
    GroupState,
    Metrics,
    Sequencer,
    State,
    Status,
    encode,
    mark_replayed,
)
from tests.agent.mqtt.helpers import validator


def _messages(camera: str = "cam-1") -> list:
    return [
        Event(
            kind="drift.started",
            camera_id=camera,
            frame_index=7,
            stream_time=0.7,
            episode_id="ep",
            group="exposure",
            severity="warning",
            summary="darker",
            causes=(("mean_shift", "mean fell", 3.2),),
            numbers={"psi": 0.4, "threshold": 0.2},
            evidence_id="ev-1",
        ),
        Event(kind="source.lost", camera_id=camera, frame_index=None, stream_time=None),
        Status(
            camera_id=camera,
            frame_index=10,
            stream_time=1.0,
            agent_version="0.1.0",
            config_hash="ab12",
            started_at=1_700_000_000.5,
            source_state="streaming",
            baseline_id=None,
            baseline_age_s=None,
            frames_seen=10,
            frames_analysed=5,
            frames_dropped=1,
            outbox_pending=2,
            outbox_dropped={"metrics": 3},
        ),
        State(
            camera_id=camera,
            frame_index=10,
            stream_time=1.0,
            groups=(GroupState("exposure", "drift", "ep", 0.4, 0.2, 0.7), GroupState("focus", "warming_up")),
        ),
        Metrics(
            camera_id=camera,
            frame_index=10,
            stream_time=1.0,
            period_s=10.0,
            groups=(GroupMetric("exposure", "psi", 0.4, 0.2), GroupMetric("focus", "psi", None, None)),
        ),
    ]


def test_every_message_validates_and_carries_the_envelope() -> None:
    check = validator()
    seq = Sequencer(clock=lambda: 1_700_000_000.25)
    for message in _messages():
        doc = json.loads(seq.encode(message))
        check.validate(doc)
        assert doc["schema"] == message.SCHEMA
        assert re.fullmatch(r"[0-9a-f]{32}", doc["event_id"]) and doc["boot_id"] == seq.boot_id
        assert doc["time"] == "2023-11-14T22:13:20.250Z"
        assert doc["camera_id"] == "cam-1" and doc["replayed"] is False
        assert doc["frame_index"] == message.frame_index and doc["stream_time"] == message.stream_time
    state = json.loads(seq.encode(_messages()[3]))
    assert state["overall"] == "drift" and state["groups"]["focus"]["verdict"] == "warming_up"
    status = json.loads(seq.encode(_messages()[2]))
    assert status["started_at"] == "2023-11-14T22:13:20.500Z" and status["outbox"]["dropped"] == {
        "metrics": 3
    }


def test_schema_rejects_what_subscribers_must_not_see() -> None:
    check = validator()
    good = json.loads(Sequencer().encode(_messages()[0]))
    for broken in (
        good | {"unexpected": 1},
        good | {"kind": "drift.exploded"},
        good | {"seq": 0},
        good | {"time": "2023-11-14 22:13:20"},
        good | {"schema": "camdrift.status/1"},
        {k: v for k, v in good.items() if k != "boot_id"},
    ):
        assert not check.is_valid(broken), broken


def test_event_kinds_in_code_and_schema_agree() -> None:
    schema = validator().schema
    assert set(schema["$defs"]["event"]["properties"]["kind"]["enum"]) == EVENT_KINDS


def test_seq_counts_per_camera_and_type_and_ids_are_unique() -> None:
    seq = Sequencer()
    docs = [json.loads(seq.encode(m)) for _ in range(3) for m in _messages("a") + _messages("b")]
    by_stream: dict[tuple[str, str], list[int]] = {}
    for d in docs:
        by_stream.setdefault((d["camera_id"], d["schema"]), []).append(d["seq"])
    assert by_stream[("a", "camdrift.event/1")] == [1, 2, 3, 4, 5, 6]  # two events per round
    assert by_stream[("b", "camdrift.metrics/1")] == [1, 2, 3]
    assert len({d["event_id"] for d in docs}) == len(docs)
    assert Sequencer().boot_id != seq.boot_id


def test_mark_replayed_changes_only_the_flag() -> None:
    payload = Sequencer().encode(_messages()[0])
    again = json.loads(mark_replayed(payload))
    assert again == json.loads(payload) | {"replayed": True}
    assert mark_replayed(mark_replayed(payload)) == mark_replayed(payload)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Event(kind="drift.exploded", camera_id="c", frame_index=1, stream_time=0.0), "event kind"),
        (lambda: Event(kind="drift.started", camera_id="a/b", frame_index=1, stream_time=0.0), "camera id"),
        (lambda: Event(kind="drift.started", camera_id="c", frame_index=-1, stream_time=0.0), "frame_index"),
        (
            lambda: Event(kind="drift.started", camera_id="c", frame_index=1, stream_time=math.nan),
            "stream_time",
        ),
        (
            lambda: Event(
                kind="drift.started", camera_id="c", frame_index=1, stream_time=0.0, severity="meh"
            ),
            "severity",
        ),
        (
            lambda: Event(
                kind="drift.started", camera_id="c", frame_index=1, stream_time=0.0, numbers={"psi": math.inf}
            ),
            r"numbers\['psi'\]",
        ),
        (
            lambda: Event(
                kind="drift.started",
                camera_id="c",
                frame_index=1,
                stream_time=0.0,
                causes=(("x", "y", -1.0),),
            ),
            "score",
        ),
        (
            lambda: State(camera_id="c", frame_index=1, stream_time=0.0, groups=(GroupState("g", "bad"),)),
            "verdict",
        ),
        (lambda: Metrics(camera_id="c", frame_index=1, stream_time=0.0, period_s=0.0, groups=()), "period_s"),
        (
            lambda: Status(
                camera_id="c",
                frame_index=1,
                stream_time=0.0,
                agent_version="v",
                config_hash="h",
                started_at=0.0,
                source_state="s",
                frames_seen=-1,
            ),
            "frames_seen",
        ),
    ],
)
def test_messages_reject_bad_fields_naming_them(build, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build()


def test_encode_refuses_a_mismatched_envelope() -> None:
    with pytest.raises(ValueError, match="schema"):
        encode(_messages()[0], Envelope("camdrift.status/1", "0" * 32, "0" * 32, 1, 0.0))
    with pytest.raises(TypeError, match="not a camdrift message"):
        encode({"kind": "x"}, Envelope("camdrift.event/1", "0" * 32, "0" * 32, 1, 0.0))  # type: ignore[arg-type]
