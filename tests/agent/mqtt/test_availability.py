"""The availability topic (real mosquitto): online while connected, offline by the will when the agent dies
without a goodbye, offline by the goodbye on a clean stop; always retained, so late subscribers see it."""

from __future__ import annotations

import paho.mqtt.client as mqtt
import pytest

from camdrift.agent.mqtt.availability import Availability, LatestCopies
from tests.agent.mqtt.broker import Mosquitto
from tests.agent.mqtt.collector import Collector

TOPIC = "camdrift/t/cam-1/availability"


def _connected(broker: Mosquitto, availability: Availability) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    availability.set_will(client)
    client.connect("127.0.0.1", broker.port, keepalive=10)
    client.loop_start()
    return client


def _retained(broker: Mosquitto) -> bytes:
    late = Collector(broker.port, TOPIC)
    try:
        (message,) = late.wait_for(lambda ms: len(ms) >= 1)
        assert message.retain and message.qos == 1
        return message.payload
    finally:
        late.close()


def test_online_then_the_will_says_offline_when_the_agent_dies(broker: Mosquitto) -> None:
    availability = Availability("camdrift/t", "cam-1")
    assert availability.topic == TOPIC
    client = _connected(broker, availability)
    availability.online(client).wait_for_publish(5)
    assert _retained(broker) == b"online"
    live = Collector(broker.port, TOPIC)
    client.loop_stop()
    client.socket().close()  # gone without DISCONNECT, as a killed agent: the broker publishes the will
    live.wait_for(lambda ms: ms[-1].payload == b"offline", timeout=10)
    live.close()
    assert _retained(broker) == b"offline"


def test_a_clean_stop_says_offline_itself(broker: Mosquitto) -> None:
    availability = Availability("camdrift/t", "cam-1")
    client = _connected(broker, availability)
    availability.online(client).wait_for_publish(5)
    availability.offline(client).wait_for_publish(5)
    client.disconnect()  # a clean DISCONNECT discards the will
    client.loop_stop()
    assert _retained(broker) == b"offline"


def test_names_are_checked() -> None:
    with pytest.raises(ValueError, match="camera id"):
        Availability("camdrift/t", "cam/1")
    with pytest.raises(ValueError, match="wildcard"):
        Availability("camdrift/#", "cam-1")


def test_latest_copies_keep_the_newest_payload_per_topic_in_first_seen_order() -> None:
    copies = LatestCopies()
    copies.record("p/c/status", b"s1", "status", 1.0)
    copies.record("p/c/state", b"t1", "state", 2.0)
    copies.record("p/c/status", b"s2", "status", 3.0)
    assert copies.items() == [("p/c/status", b"s2", "status", 3.0), ("p/c/state", b"t1", "state", 2.0)]
