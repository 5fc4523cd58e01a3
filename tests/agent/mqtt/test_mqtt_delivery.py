"""Every message type arrives on its topic, retained where documented, valid against the schema (real broker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agent.mqtt.broker import Mosquitto
from tests.agent.mqtt.collector import Collector
from tests.agent.mqtt.helpers import Publisher, qos_retain, validator

PREFIX = "camdrift/test"
SCHEMA_OF = {
    "events": "camdrift.event/1",
    "status": "camdrift.status/1",
    "state": "camdrift.state/1",
    "metrics": "camdrift.metrics/1",
}


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_every_message_type_arrives_retained_as_documented_and_valid(
    broker: Mosquitto, tmp_path: Path, publishers: list[Publisher], protocol: str
) -> None:
    live = Collector(broker.port, f"{PREFIX}/#")
    pub = Publisher(tmp_path, broker.port, protocol=protocol)
    publishers.append(pub)
    live.wait_for(lambda ms: any(m.payload == b"online" for m in ms))  # connected: nothing will be "replayed"
    ids = pub.cmd("events", n=3)["ids"]
    for op in ("status", "state", "metrics"):
        pub.cmd(op)
    live.wait_for(
        lambda ms: (
            {m.topic.rsplit("/", 1)[1] for m in ms} >= {"availability", *SCHEMA_OF}
            and sum(m.topic.endswith("/events") for m in ms) == 3
        )
    )

    check = validator()
    for m in live.messages:
        kind = m.topic.rsplit("/", 1)[1]
        assert m.topic == f"{PREFIX}/cam-1/{kind}"
        if kind == "availability":
            assert m.payload == b"online"
            continue
        doc = m.doc
        check.validate(doc)
        assert doc["schema"] == SCHEMA_OF[kind]
        assert doc["camera_id"] == "cam-1" and doc["boot_id"] == pub.hello["boot_id"]
        assert m.qos == qos_retain(kind)[0]
        if protocol == "5":
            assert ("schema", SCHEMA_OF[kind]) in m.user_properties
            assert ("camera", "cam-1") in m.user_properties
            assert (m.expiry is not None) == (kind == "metrics")
        else:
            assert m.user_properties == ()
    events = [m.doc for m in live.on("/events")]
    assert [e["event_id"] for e in events] == ids
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert not any(e["replayed"] for e in events)

    # A subscriber that connects late sees exactly the retained topics: availability, status and state.
    late = Collector(broker.port, f"{PREFIX}/#")
    got = late.wait_for(
        lambda ms: {m.topic.rsplit("/", 1)[1] for m in ms} >= {"availability", "status", "state"}
    )
    assert all(m.retain for m in got)
    assert {m.topic.rsplit("/", 1)[1] for m in got} == {"availability", "status", "state"}
    for kind in ("events", "metrics", "status", "state"):
        assert qos_retain(kind)[1] == (kind in ("status", "state"))

    # A clean stop publishes "offline" (retained) before disconnecting.
    assert pub.stop()["pending"] == 0
    live.wait_for(lambda ms: ms[-1].topic.endswith("/availability") and ms[-1].payload == b"offline")
    late.close()
    late = Collector(broker.port, f"{PREFIX}/+/availability")
    assert late.wait_for(lambda ms: len(ms) >= 1)[0].payload == b"offline"
    late.close()
    live.close()
