"""MqttSink in-process: callback faults are caught and visible to the watchdog; misuse is refused."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from camdrift.agent.mqtt.homeassistant import Discovery
from camdrift.agent.mqtt.outbox import Outbox
from camdrift.agent.mqtt.settings import MqttSettings
from camdrift.agent.mqtt.sink import MqttSink
from camdrift.agent.output.events import Event, Sequencer
from tests.agent.mqtt.broker import Mosquitto, free_port
from tests.agent.mqtt.collector import Collector


def _event(i: int) -> Event:
    return Event(kind="drift.started", camera_id="cam-9", frame_index=i, stream_time=i / 10, episode_id="e")


def _until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_exception_in_a_callback_is_caught_flagged_and_the_sink_recovers(
    broker: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sub = Collector(broker.port, "camdrift/t/#")
    box = Outbox(tmp_path / "outbox.sqlite")
    settings = MqttSettings(
        host="127.0.0.1", port=broker.port, prefix="camdrift/t", reconnect_min_s=0.1, reconnect_max_s=0.2
    )
    sink = MqttSink(settings, "cam-9", box, Sequencer())
    original = sink._connection._on_publish
    calls = []

    def flaky(*args):
        calls.append(args)
        # acks before the first event's: "online", then the removals of Home Assistant configs (discovery off)
        if len(calls) == 2 + len(Discovery(settings, "cam-9").topics):
            raise RuntimeError("bug in a callback")
        original(*args)

    # An instance attribute of the sink's connection: picked up when the thread builds the paho client.
    sink._connection._on_publish = flaky  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="camdrift.agent.mqtt"):
        sink.start()
        _until(lambda: sink.connected)
        assert sink.healthy
        for i in range(5):
            sink.send(_event(i))
        _until(lambda: box.pending == 0)
    assert not sink.healthy and sink.faults == 1  # the watchdog sees it...
    assert "bug in a callback" in (sink.last_fault or "")
    assert any("on_publish" in r.getMessage() and r.exc_info for r in caplog.records)
    assert sink._thread is not None and sink._thread.is_alive()  # ...and the thread did not die
    frames = [
        m.doc["frame_index"] for m in sub.wait_for(lambda ms: len(ms) >= 6) if m.topic.endswith("/events")
    ]
    assert set(frames) == set(range(5))  # every event delivered (at least once)
    # the reset said "offline" before dropping the connection (a clean DISCONNECT drops the will), then "online"
    availability = [m.payload for m in sub.on("/availability")]
    assert b"offline" in availability and availability[-1] == b"online"
    sink.stop()
    assert not sink._thread.is_alive() and not sink.connected
    box.close()
    sub.close()


def test_send_rejects_another_cameras_message_and_start_twice(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    sink = MqttSink(MqttSettings(host="127.0.0.1", port=free_port()), "cam-1", box, Sequencer())
    with pytest.raises(ValueError, match="cam-9"):
        sink.send(_event(0))
    sink.start()
    with pytest.raises(RuntimeError, match="already started"):
        sink.start()
    sink.stop()
    box.close()
