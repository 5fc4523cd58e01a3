"""Nothing is lost: broker outages, a broker absent at start, SIGKILLed publishers (real mosquitto)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from camdrift.agent.mqtt.outbox import Outbox
from tests.agent.mqtt.broker import Mosquitto
from tests.agent.mqtt.collector import Collector, Received
from tests.agent.mqtt.helpers import Publisher, poll_info, validator

PREFIX = "camdrift/test"


def _wait_session_saved(broker: Mosquitto, sub: Collector, timeout: float = 5.0) -> None:
    """The broker saved the persistent subscriber's subscription (autosave_on_changes), so a SIGKILL keeps it.

    The first save may come with the client's connection, before its subscription: wait for the filter itself.
    """
    db = broker.dir / "mosquitto.db"
    deadline = time.monotonic() + timeout
    while not (db.exists() and sub.filter.encode() in db.read_bytes()):
        assert time.monotonic() < deadline, "mosquitto did not save the subscription"
        time.sleep(0.02)


def _first_arrivals(messages: list[Received]) -> list[dict]:
    """Event payloads in order of first arrival (at-least-once: later duplicates share the event_id)."""
    seen: set[str] = set()
    out = []
    for m in messages:
        if m.topic.endswith("/events") and m.doc["event_id"] not in seen:
            seen.add(m.doc["event_id"])
            out.append(m.doc)
    return out


def _has_all(ids: list[str]):
    def check(messages: list[Received]) -> bool:
        got = {m.doc["event_id"] for m in messages if m.topic.endswith("/events")}
        return got >= set(ids)

    return check


def _availability(messages: list[Received]) -> bytes | None:
    last = [m.payload for m in messages if m.topic.endswith("/availability")]
    return last[-1] if last else None


def test_broker_killed_mid_stream_and_restarted_loses_nothing(
    broker: Mosquitto, tmp_path: Path, publishers: list[Publisher]
) -> None:
    sub = Collector(broker.port, f"{PREFIX}/#", persistent=True)
    _wait_session_saved(broker, sub)
    pub = Publisher(tmp_path, broker.port)
    publishers.append(pub)
    sub.wait_for(lambda ms: any(m.payload == b"online" for m in ms))
    before = pub.cmd("events", n=10, start=0, dt=1.0)["ids"]
    sub.wait_for(_has_all(before))

    broker.kill()
    poll_info(pub, lambda i: not i["connected"])
    # 30 s of stream time (frames 10..39 at 1 s) produced while the broker is dead.
    during = pub.cmd("events", n=30, dt=1.0)["ids"]
    # All 30 wait on disk (plus any earlier event whose PUBACK the dying broker never sent).
    assert poll_info(pub, lambda i: True)["pending"] >= 30
    broker.start()

    got = sub.wait_for(_has_all(before + during), timeout=15)
    events = _first_arrivals(got)
    assert [e["event_id"] for e in events] == before + during  # all of them, in order, none lost
    assert [e["seq"] for e in events] == list(range(1, 41))
    assert [e["stream_time"] for e in events] == [float(i) for i in range(40)]
    assert all(e["replayed"] for e in events[10:]) and not any(e["replayed"] for e in events[:10])
    check = validator()
    for e in events:
        check.validate(e)
    assert poll_info(pub, lambda i: i["pending"] == 0)["connected"]
    sub.close()


def test_broker_down_when_the_agent_starts_then_delivered(
    broker: Mosquitto, tmp_path: Path, publishers: list[Publisher]
) -> None:
    sub = Collector(broker.port, f"{PREFIX}/#", persistent=True)
    _wait_session_saved(broker, sub)
    broker.kill()
    pub = Publisher(tmp_path, broker.port)
    publishers.append(pub)
    ids = pub.cmd("events", n=5)["ids"]
    pub.cmd("status")
    info = poll_info(pub, lambda i: i["last_error"] is not None)
    assert "connection refused" in info["last_error"] and not info["connected"] and info["healthy"]
    assert info["pending"] == 6
    time.sleep(0.6)  # a few reconnect attempts (backoff 0.1-0.5 s): the agent keeps running
    assert pub.proc.poll() is None
    broker.start()
    events = _first_arrivals(sub.wait_for(_has_all(ids), timeout=10))
    assert [e["event_id"] for e in events] == ids
    sub.wait_for(lambda ms: any(m.topic.endswith("/status") for m in ms))
    assert poll_info(pub, lambda i: i["pending"] == 0)["last_error"] is None
    sub.close()


def test_sigkilled_agent_fires_its_will_and_its_outbox_is_delivered_after_restart(
    broker: Mosquitto, tmp_path: Path, publishers: list[Publisher]
) -> None:
    sub = Collector(broker.port, f"{PREFIX}/#", persistent=True)
    _wait_session_saved(broker, sub)
    first = Publisher(tmp_path, broker.port)
    publishers.append(first)
    sub.wait_for(lambda ms: any(m.payload == b"online" for m in ms))
    delivered = first.cmd("events", n=3)["ids"]
    sub.wait_for(_has_all(delivered))
    first.kill()
    sub.wait_for(lambda ms: _availability(ms) == b"offline")

    # Events queued while the broker is away, then the agent is killed with them still in the outbox.
    broker.kill()
    second = Publisher(tmp_path, broker.port)
    publishers.append(second)
    queued = second.cmd("events", n=10, start=100)["ids"]
    second.kill()
    with Outbox(second.outbox_path) as box:  # every queued event is on disk after the SIGKILL
        on_disk = [json.loads(r.payload)["event_id"] for r in box.peek_batch(limit=1000)]
    assert on_disk[-10:] == queued

    broker.start()
    third = Publisher(tmp_path, broker.port)
    publishers.append(third)
    got = sub.wait_for(_has_all(queued), timeout=10)
    events = [e for e in _first_arrivals(got) if e["event_id"] in set(queued)]
    assert [e["event_id"] for e in events] == queued
    assert {e["boot_id"] for e in events} == {second.hello["boot_id"]}  # sent by the next boot, as they were
    assert all(e["replayed"] for e in events)
    sub.wait_for(lambda ms: _availability(ms) == b"online")
    assert poll_info(third, lambda i: i["pending"] == 0)["connected"]
    sub.close()
