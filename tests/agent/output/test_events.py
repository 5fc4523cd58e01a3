"""Envelopes and the JSON payload: seq counts per camera and message type without gaps even from several
threads, the payload is compact UTF-8 JSON that keeps non-ASCII text, and every message name is importable
from camdrift.agent.output.events (where the agent's parts have always found them)."""

from __future__ import annotations

import doctest
import json
import threading

import camdrift.agent.output.events as events_module
import camdrift.agent.output.messages as messages_module
from camdrift.agent.drift.decision import Cause
from camdrift.agent.output.events import Event, Sequencer, encode


def test_docstring_example() -> None:
    assert doctest.testmod(events_module).failed == 0


def test_seq_has_no_gaps_when_several_threads_publish() -> None:
    seq = Sequencer(boot_id="b" * 32, clock=lambda: 0.0)
    ev = Event(kind="drift.warning", camera_id="cam1", frame_index=0, stream_time=0.0)
    got: list[int] = []
    lock = threading.Lock()

    def publish() -> None:
        for _ in range(200):
            n = seq.next(ev).seq
            with lock:
                got.append(n)

    threads = [threading.Thread(target=publish) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(1, 801))


def test_payload_is_compact_utf8_json_keeping_the_text() -> None:
    ev = Event(
        kind="drift.started",
        camera_id="cam1",
        frame_index=1,
        stream_time=0.1,
        summary="éclairage −15 %",
        causes=(Cause("lighting", "lumière", 1.5),),
    )
    payload = Sequencer(boot_id="b" * 32, clock=lambda: 0.0).encode(ev)
    assert "éclairage −15 %".encode() in payload and b": " not in payload and b", " not in payload
    doc = json.loads(payload)
    assert doc["causes"] == [{"code": "lighting", "text": "lumière", "score": 1.5}]
    assert doc["camera_id"] == "cam1" and doc["frame_index"] == 1 and doc["replayed"] is False
    env = Sequencer(boot_id="c" * 32, clock=lambda: 1.0).next(ev)
    assert json.loads(encode(ev, env))["event_id"] == env.event_id


def test_every_message_name_is_importable_from_events() -> None:
    for name in (
        "Event",
        "Status",
        "State",
        "Metrics",
        "GroupState",
        "GroupMetric",
        "MESSAGE_TYPES",
        "iso_utc",
    ):
        assert getattr(events_module, name) is getattr(messages_module, name)
    assert events_module.Cause is Cause
