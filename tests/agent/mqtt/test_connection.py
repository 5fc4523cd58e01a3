"""The sink's paho connection on its own (real mosquitto): outages and refusals are errors with their cause, a
raising callback is a fault for the watchdog, and a fault starts afresh with a new client."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from camdrift.agent.mqtt.availability import Availability
from camdrift.agent.mqtt.connection import STALL_S, Connection, Health
from camdrift.agent.mqtt.settings import MqttSettings
from tests.agent.mqtt.broker import Mosquitto, free_port
from tests.agent.mqtt.collector import Collector

PREFIX = "camdrift/t"


class Harness:
    """One Connection with its Health and the calls of its ``on_connected`` hook."""

    def __init__(self, settings: MqttSettings, on_connected: Callable[[float], None] | None = None) -> None:
        self.health = Health()
        self.stopping = threading.Event()
        self.connections: list[float] = []
        self.connection = Connection(
            settings,
            "test-connection",
            Availability(settings.prefix, "cam-1"),
            self.health,
            self.stopping,
            clock=lambda: 1234.5,
            on_connected=on_connected or self.connections.append,
            queued=lambda: 7,
        )

    def step_until(self, client: mqtt.Client, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Run the network loop until ``predicate()`` (the step that makes it true may end the connection)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, "condition not met in time"
            rc = self.connection.step(client)
            assert rc == mqtt.MQTT_ERR_SUCCESS or predicate(), mqtt.error_string(rc)


def _settings(port: int, **changes) -> MqttSettings:
    return MqttSettings(host="127.0.0.1", port=port, prefix=PREFIX, **changes)


def test_a_broker_that_is_down_is_an_error_with_its_cause_not_a_fault() -> None:
    h = Harness(_settings(free_port()))
    assert h.connection.open() is None
    assert "connection refused" in (h.connection.error or "")
    assert not h.connection.connected and h.health.ok() and h.health.faults == 0


def test_accepted_connection_says_online_and_reports_acknowledgements(broker: Mosquitto) -> None:
    sub = Collector(broker.port, f"{PREFIX}/+/availability")
    h = Harness(_settings(broker.port))
    h.connection.error = "MQTT broker: connection lost"  # as after an outage: cleared by the new connection
    client = h.connection.open()
    assert client is not None
    h.step_until(client, lambda: h.connection.connected)
    assert h.connections == [1234.5] and h.connection.error is None
    assert sub.wait_for(lambda ms: len(ms) >= 1)[0].payload == b"online"
    info = client.publish(f"{PREFIX}/cam-1/events", b"{}", qos=1)
    acks: list[tuple[int, bool]] = []
    h.step_until(client, lambda: bool(acks.extend(h.connection.take_acks()) or (info.mid, False) in acks))
    h.stopping.set()
    h.connection.disconnect(client)
    assert not h.connection.connected and h.connection.error is None  # a requested stop is not an error
    sub.close()


def test_refused_login_is_an_error_with_a_hint_and_not_connected(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "broker", users={"agent": "right"}).start()
    try:
        wrong = tmp_path / "pw"
        wrong.write_text("wrong\n")
        h = Harness(_settings(broker.port, username="agent", password_file=wrong))
        client = h.connection.open()
        assert client is not None
        h.step_until(client, lambda: h.connection.error is not None)
        assert "refused the connection" in h.connection.error
        assert "check the username and the password file" in h.connection.error
        assert not h.connection.connected and h.connections == [] and h.health.faults == 0
    finally:
        broker.kill()


def test_a_raising_callback_is_a_fault_and_the_client_is_rebuilt(broker: Mosquitto) -> None:
    def broken(since: float) -> None:
        raise RuntimeError("bug in on_connected")

    h = Harness(_settings(broker.port), on_connected=broken)
    client = h.connection.open()
    assert client is not None
    h.step_until(client, lambda: h.connection.reset_requested)
    assert h.health.faults == 1 and not h.health.ok()
    assert "on_connect" in (h.health.last_fault or "") and "bug in on_connected" in h.health.last_fault
    h.connection.reset()
    assert not h.connection.reset_requested and h.connection.take_acks() == []
    again = h.connection.open()
    assert again is not None and again is not client  # a new paho client, with an empty queue
    assert h.health.faults == 1  # sticky: the watchdog keeps seeing it
    h.connection.disconnect(again)


def test_a_lost_connection_is_an_error_once(caplog: pytest.LogCaptureFixture) -> None:
    h = Harness(_settings(1883))
    h.connection.lost(mqtt.MQTT_ERR_CONN_LOST)
    assert "connection lost" in (h.connection.error or "")
    h.connection.set_error(h.connection.error)  # the same error again: not logged as an error again
    assert sum(r.levelname == "ERROR" for r in caplog.records) == 1


def test_health_turns_false_when_the_thread_stalls() -> None:
    health = Health()
    assert health.ok()
    health.heartbeat -= STALL_S + 1.0
    assert not health.ok()
    health.beat()
    assert health.ok()
