"""Draining the outbox into paho: order, the in-flight bound, acknowledgements, expiry, replay marks, MQTT 5
properties. Against a recording stand-in for the paho client (the real broker: test_mqtt_delivery.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from camdrift.agent.mqtt.availability import LatestCopies
from camdrift.agent.mqtt.delivery import Delivery
from camdrift.agent.mqtt.outbox import Outbox
from camdrift.agent.mqtt.settings import MqttSettings


class RecordingClient:
    """Takes ``publish`` calls as paho would while connected (or, with ``rc``, refuses them)."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes, int, bool, object]] = []
        self.rc = mqtt.MQTT_ERR_SUCCESS
        self._mid = 0

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool, properties: object = None):
        self._mid += 1
        info = mqtt.MQTTMessageInfo(self._mid)
        info.rc = self.rc
        if self.rc == mqtt.MQTT_ERR_SUCCESS:
            self.published.append((topic, payload, qos, retain, properties))
        return info


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def outbox(tmp_path: Path):
    box = Outbox(tmp_path / "outbox.sqlite")
    yield box
    box.close()


def _event(box: Outbox, n: int) -> int:
    row = box.put("camdrift/t/cam-1/events", json.dumps({"n": n}).encode(), 1, False, "events")
    assert row is not None
    return row


def _delivery(box: Outbox, clock: Clock, **settings) -> Delivery:
    return Delivery(box, MqttSettings(host="h", prefix="camdrift/t", **settings), "cam-1", clock)


def test_rows_go_out_oldest_first_bounded_and_leave_the_outbox_when_acknowledged(outbox: Outbox) -> None:
    clock = Clock()
    delivery = _delivery(outbox, clock, inflight=3)
    for n in range(5):
        _event(outbox, n)
    clock.now += 1.0
    delivery.new_connection(clock())  # rows older than the connection are replayed: none here yet
    client = RecordingClient()
    delivery.pump(client)  # type: ignore[arg-type]
    assert [json.loads(p)["n"] for _, p, *_ in client.published] == [0, 1, 2]  # at most inflight
    delivery.pump(client)  # type: ignore[arg-type]
    assert len(client.published) == 3 and delivery.published == 3
    delivery.settle([(1, False), (2, False)])  # PUBACKs of paho's messages 1 and 2
    assert outbox.pending == 3 and delivery.delivered == 2
    delivery.pump(client)  # two free places: rows 3 and 4
    assert [json.loads(p)["n"] for _, p, *_ in client.published] == [0, 1, 2, 3, 4]
    delivery.settle([(3, False), (4, False), (5, False), (999, False)])  # 999: not an outbox row
    assert outbox.pending == 0 and delivery.delivered == 5 and outbox.dropped == {}


def test_rows_from_before_the_connection_are_marked_replayed(outbox: Outbox) -> None:
    clock = Clock()
    delivery = _delivery(outbox, clock)
    _event(outbox, 0)
    clock.now += 5.0
    delivery.new_connection(clock())
    client = RecordingClient()
    delivery.pump(client)  # type: ignore[arg-type]
    assert json.loads(client.published[0][1]) == {"n": 0, "replayed": True}
    delivery.settle([(1, False)])
    delivery.new_connection(clock.now - 10.0)  # a connection older than the next row
    _event(outbox, 1)
    delivery.pump(client)  # type: ignore[arg-type]
    assert json.loads(client.published[1][1]) == {"n": 1}


def test_expired_metrics_are_discarded_unsent_and_counted(outbox: Outbox) -> None:
    clock = Clock()
    delivery = _delivery(outbox, clock, metrics_expiry_s=60.0)
    outbox.put("camdrift/t/cam-1/metrics", b'{"m":1}', 0, False, "metrics", expiry_s=60.0)
    _event(outbox, 0)
    clock.now += 61.0
    delivery.new_connection(clock())
    client = RecordingClient()
    delivery.pump(client)  # type: ignore[arg-type]
    assert [t for t, *_ in client.published] == ["camdrift/t/cam-1/events"]
    assert outbox.dropped == {"expired": 1} and outbox.pending == 1


def test_rejected_messages_are_discarded_and_counted(
    outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    delivery = _delivery(outbox, clock)
    _event(outbox, 0)
    _event(outbox, 1)
    client = RecordingClient()
    delivery.pump(client)  # type: ignore[arg-type]
    delivery.settle([(1, True), (2, False)])  # e.g. MQTT 5 PUBACK "not authorized" for the first
    assert outbox.pending == 0 and outbox.dropped == {"rejected": 1} and delivery.delivered == 1
    assert any("rejected 1 message(s)" in r.getMessage() for r in caplog.records)


def test_mqtt5_properties_name_the_schema_and_camera_and_expire_metrics(outbox: Outbox) -> None:
    clock = Clock()
    delivery = _delivery(outbox, clock)
    _event(outbox, 0)
    outbox.put("camdrift/t/cam-1/metrics", b'{"m":1}', 0, False, "metrics", expiry_s=600.0)
    clock.now += 100.0
    client = RecordingClient()
    delivery.pump(client)  # type: ignore[arg-type]
    (_, _, qos_e, _, event_props), (_, _, qos_m, _, metric_props) = client.published
    assert (qos_e, qos_m) == (1, 0)
    assert ("schema", "camdrift.event/1") in event_props.UserProperty
    assert ("camera", "cam-1") in event_props.UserProperty
    assert event_props.ContentType == "application/json"
    assert not hasattr(event_props, "MessageExpiryInterval")
    assert ("schema", "camdrift.metrics/1") in metric_props.UserProperty
    assert 499 <= metric_props.MessageExpiryInterval <= 500  # what is left of its 600 s
    v311 = _delivery(outbox, clock, protocol="3.1.1")
    plain = RecordingClient()
    v311.pump(plain)  # type: ignore[arg-type]
    assert all(props is None for *_, props in plain.published)


def test_without_a_connection_qos0_rows_wait_and_qos1_rows_stay_with_paho(outbox: Outbox) -> None:
    clock = Clock()
    delivery = _delivery(outbox, clock)
    outbox.put("camdrift/t/cam-1/metrics", b'{"m":1}', 0, False, "metrics", expiry_s=600.0)
    client = RecordingClient()
    client.rc = mqtt.MQTT_ERR_NO_CONN
    delivery.pump(client)  # type: ignore[arg-type]
    assert delivery.published == 0  # the QoS 0 row is sent after the reconnect
    client.rc = mqtt.MQTT_ERR_QUEUE_SIZE
    with pytest.raises(RuntimeError, match="paho refused to queue outbox row"):
        delivery.pump(client)  # type: ignore[arg-type]


def test_the_birth_set_republishes_the_newest_copies_unless_a_newer_one_waits(outbox: Outbox) -> None:
    clock = Clock()
    delivery = _delivery(outbox, clock)
    copies = LatestCopies()
    status = json.dumps({"schema": "camdrift.status/1", "replayed": False}).encode()
    state = json.dumps({"schema": "camdrift.state/1", "replayed": False}).encode()
    copies.record("camdrift/t/cam-1/status", status, "status", clock.now - 5)
    copies.record("camdrift/t/cam-1/state", state, "state", clock.now - 5)
    outbox.put("camdrift/t/cam-1/state", state, 1, True, "state")  # a copy waits: it goes out with the rows
    client = RecordingClient()
    delivery.new_connection(clock())
    assert delivery.birth(client, copies) == 1  # type: ignore[arg-type]
    ((topic, payload, qos, retain, _),) = client.published
    assert (topic, qos, retain) == ("camdrift/t/cam-1/status", 1, True)
    assert json.loads(payload)["replayed"] is True  # made before this connection
    outbox.ack(*(r.id for r in outbox.peek_batch()))
    assert delivery.birth(client, copies) == 2  # type: ignore[arg-type]
