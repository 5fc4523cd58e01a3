"""Retained truth holds after faults (real mosquitto): a power cut's half-open session, a broker restarted
without persistence, a full outbox during an outage, ``seq`` per stream, reconnecting after an outage."""

from __future__ import annotations

import time
from pathlib import Path

from tests.agent.mqtt.broker import Mosquitto
from tests.agent.mqtt.collector import Collector, Received
from tests.agent.mqtt.helpers import Publisher, poll_info
from tests.agent.mqtt.proxy import HalfOpenProxy

PREFIX = "camdrift/test"
CAM = f"{PREFIX}/cam-1"
LATEST = {"availability", "status", "state"}


def _kinds(messages: list[Received]) -> set[str]:
    return {m.topic.rsplit("/", 1)[1] for m in messages}


def _retained(port: int, timeout: float = 5.0, kinds: set[str] = LATEST) -> dict[str, Received]:
    """What a subscriber connecting now receives of ``kinds`` (retained availability, status and state)."""
    late = Collector(port, f"{CAM}/#")
    try:
        got = late.wait_for(lambda ms: _kinds(ms) >= kinds, timeout=timeout)
    finally:
        late.close()
    return {m.topic.rsplit("/", 1)[1]: m for m in got if m.retain}


def test_a_restarted_agent_takes_a_half_open_session_over_and_stays_online(
    broker: Mosquitto, tmp_path: Path, publishers: list[Publisher]
) -> None:
    proxy = HalfOpenProxy(broker.port)
    watch = Collector(broker.port, f"{CAM}/availability")
    try:
        first = Publisher(tmp_path / "a", proxy.port, keepalive_s=5)  # default client id: no client_id given
        publishers.append(first)
        watch.wait_for(lambda ms: any(m.payload == b"online" for m in ms))
        first.kill()  # the power cut: the proxy keeps the broker's side of the connection open
        cut = time.monotonic()
        second = Publisher(tmp_path / "b", broker.port, keepalive_s=5)
        publishers.append(second)
        poll_info(second, lambda i: i["connected"])
        # The broker would time the old connection out 1.5 keepalives (7.5 s) after its last packet, and
        # mosquitto 2.0 fires that will within ~12 s of the cut (measured): wait past it.
        time.sleep(max(0.0, cut + 14.0 - time.monotonic()))
        assert [m.payload for m in watch.on("/availability")][-1] == b"online"
        assert _retained(broker.port, kinds={"availability"})["availability"].payload == b"online"
    finally:
        watch.close()
        proxy.close()


def test_after_a_broker_restart_without_persistence_a_late_subscriber_sees_the_birth_set(
    tmp_path: Path, publishers: list[Publisher]
) -> None:
    broker = Mosquitto(tmp_path / "broker", persistence=False).start()
    try:
        pub = Publisher(tmp_path, broker.port)
        publishers.append(pub)
        status = pub.cmd("status")["id"]
        state = pub.cmd("state")["id"]
        poll_info(pub, lambda i: i["connected"] and i["pending"] == 0)
        broker.kill()
        poll_info(pub, lambda i: not i["connected"])
        broker.start()  # every retained message is gone
        poll_info(pub, lambda i: i["connected"])
        retained = _retained(broker.port, timeout=5.0)
        assert retained["availability"].payload == b"online"
        assert retained["status"].doc["event_id"] == status
        assert retained["state"].doc["event_id"] == state
        assert retained["state"].doc["replayed"] is True  # an older message published again
    finally:
        broker.kill()


def test_a_full_outbox_during_an_outage_keeps_the_current_state_for_the_broker(
    broker: Mosquitto, tmp_path: Path, publishers: list[Publisher]
) -> None:
    pub = Publisher(tmp_path, broker.port, max_rows=20)
    publishers.append(pub)
    pub.cmd("state", score=0.5)
    poll_info(pub, lambda i: i["connected"] and i["pending"] == 0)
    broker.kill()
    poll_info(pub, lambda i: not i["connected"])
    pub.cmd("metrics")
    pub.cmd("events", n=25)  # the cap is hit: the metric goes, then the oldest events
    current = pub.cmd("state", score=0.9)["id"]
    status = pub.cmd("status")["id"]
    pub.cmd("events", n=25)
    info = pub.cmd("info")
    assert info["pending"] == 20 and set(info["dropped"]) == {"metrics", "events"}
    broker.start()
    poll_info(pub, lambda i: i["connected"] and i["pending"] == 0, timeout=10)
    retained = _retained(broker.port)
    assert retained["state"].doc["event_id"] == current
    assert retained["state"].doc["groups"]["shift.brightness"]["score"] == 0.9
    assert retained["status"].doc["event_id"] == status


def test_events_seq_has_no_gap_while_waiting_states_are_replaced(
    broker: Mosquitto, tmp_path: Path, publishers: list[Publisher]
) -> None:
    sub = Collector(broker.port, f"{CAM}/#")
    try:
        pub = Publisher(tmp_path, broker.port, inflight=1)
        publishers.append(pub)
        poll_info(pub, lambda i: i["connected"])
        sent = pub.cmd("mixed", n=60, states=5, timeout=60)
        got = sub.wait_for(
            lambda ms: (
                any(m.topic.endswith("/state") and m.doc["event_id"] == sent["states"][-1] for m in ms)
                and sum(m.topic.endswith("/events") for m in ms) >= 60
            ),
            timeout=20,
        )
    finally:
        sub.close()
    events = [m.doc for m in got if m.topic.endswith("/events")]
    assert [e["seq"] for e in events] == list(range(1, 61))  # a gap on the events stream would mean a loss
    assert [e["event_id"] for e in events] == sent["ids"]
    states = [m.doc["seq"] for m in got if m.topic.endswith("/state")]
    assert states == sorted(set(states)) and states[-1] == 300  # latest-value stream: increasing, may skip
    assert len(states) < 300  # waiting states were replaced (the case the README documents)


def test_the_default_backoff_reconnects_within_5_s_of_the_broker_returning(
    broker: Mosquitto, tmp_path: Path, publishers: list[Publisher]
) -> None:
    pub = Publisher(tmp_path, broker.port, reconnect_min_s=None, reconnect_max_s=None)  # the defaults
    publishers.append(pub)
    poll_info(pub, lambda i: i["connected"])
    broker.kill()
    poll_info(pub, lambda i: not i["connected"])
    time.sleep(16.0)  # long enough that a doubling backoff without a low cap would wait 16 s more
    broker.start()
    back = time.monotonic()
    poll_info(pub, lambda i: i["connected"], timeout=10.0)
    assert time.monotonic() - back < 5.0
