"""MqttSink in-process: callback faults are caught and visible to the watchdog; settings are checked."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from camdrift.agent.mqtt.outbox import Outbox, OutboxRow
from camdrift.agent.mqtt.settings import MqttSettings, parse_broker
from camdrift.agent.mqtt.sink import MqttSink
from camdrift.agent.mqtt.window import InflightWindow
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
    original = sink._on_publish
    calls = []

    def flaky(*args):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("bug in a callback")
        original(*args)

    sink._on_publish = flaky  # type: ignore[method-assign]  # instance attribute: picked up by the client
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


def test_parse_broker() -> None:
    assert parse_broker("mqtt.plant.local") == ("mqtt.plant.local", None)
    assert parse_broker("10.0.0.5:8883") == ("10.0.0.5", 8883)
    assert parse_broker("[fd00::1]:1884") == ("fd00::1", 1884)
    for bad in ("", "host:", "host:99999", "a b", "host:port"):
        with pytest.raises(ValueError, match="--mqtt"):
            parse_broker(bad)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"host": ""}, "host"),
        ({"port": 0}, "port"),
        ({"prefix": "a/+/b"}, "wildcard"),
        ({"prefix": "a//b"}, "empty level"),
        ({"protocol": "4"}, "protocol"),
        ({"password_file": Path("p")}, "needs a username"),
        ({"tls_key": Path("k")}, "tls_cert"),
        ({"reconnect_min_s": 5.0, "reconnect_max_s": 1.0}, "reconnect"),
        ({"inflight": 0}, "inflight"),
    ],
)
def test_settings_reject_bad_values_naming_them(changes: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MqttSettings(**({"host": "h"} | changes))


def test_settings_ports_default_by_tls() -> None:
    assert MqttSettings(host="h").broker_port == 1883
    assert MqttSettings(host="h", tls=True).broker_port == 8883
    assert MqttSettings(host="fd00::1", port=1).address == "[fd00::1]:1"


def _row(i: int, qos: int = 1) -> OutboxRow:
    return OutboxRow(i, "t", b"", qos, False, "events" if qos else "metrics", 2 if qos else 0, 0.0, None)


def test_inflight_window_keeps_order_bounds_and_survives_reconnects() -> None:
    w = InflightWindow(size=3)
    rows = [_row(1), _row(2, qos=0), _row(3), _row(4), _row(5)]
    got = []
    for mid, row in enumerate(w.candidates(rows), start=100):
        if row.id == 3:
            w.passed(row)  # e.g. expired: moves the cursor, takes no room
            continue
        w.sent(mid, row)
        got.append(row.id)
    assert got == [1, 2, 4] and w.room == 0 and w.cursor == 4
    assert w.acked(999) is None  # not an outbox row
    w.connection_lost()  # the QoS 0 row is gone with the socket, the QoS 1 rows stay with paho
    assert len(w) == 2 and w.cursor == 0
    resent = []
    for mid, row in enumerate(w.candidates([r for r in rows if r.id != 3]), start=200):  # 3 was discarded
        w.sent(mid, row)
        resent.append(row.id)
    assert resent == [2] and w.room == 0  # 2 is resent by us; 1 and 4 are paho's to resend
    assert w.acked(100) == 1 and w.room == 1
    w.clear()
    assert len(w) == 0 and [r.id for r in w.candidates(rows[:3])] == [1, 2, 3]
    with pytest.raises(ValueError, match="window size"):
        InflightWindow(0)
