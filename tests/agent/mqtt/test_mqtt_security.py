"""Passwords from files, TLS with verification, clear errors and retries instead of crash loops (real broker)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from camdrift.agent.mqtt.outbox import Outbox
from camdrift.agent.mqtt.settings import MqttSettings
from camdrift.agent.mqtt.sink import MqttSink
from camdrift.agent.output.events import Event, Sequencer
from tests.agent.mqtt.broker import Mosquitto, Pki
from tests.agent.mqtt.collector import Collector
from tests.agent.mqtt.helpers import Publisher, poll_info

PREFIX = "camdrift/test"
SECRET = "s3cret-Pa55word-for-tests"


def test_wrong_password_is_a_clear_error_retried_with_events_kept_then_fixed(
    tmp_path: Path, publishers: list[Publisher]
) -> None:
    broker = Mosquitto(tmp_path / "broker", users={"agent": SECRET, "watcher": "watch-pass"}).start()
    try:
        sub = Collector(broker.port, f"{PREFIX}/#", username="watcher", password="watch-pass")
        password_file = tmp_path / "mqtt-password"
        password_file.write_text("not-the-password\n")
        pub = Publisher(tmp_path, broker.port, username="agent", password_file=password_file)
        publishers.append(pub)
        ids = pub.cmd("events", n=3)["ids"]
        info = poll_info(pub, lambda i: i["last_error"] is not None)
        assert "refused the connection" in info["last_error"] and "password" in info["last_error"]
        assert not info["connected"]  # a refused CONNACK is not "connected"
        assert info["healthy"] and info["pending"] == 3
        time.sleep(1.0)  # several attempts with backoff 0.1-0.5 s
        assert pub.proc.poll() is None  # still running: no crash loop
        log = pub.log_text()
        assert log.count("refused the connection") >= 3  # retried...
        assert (
            sum("ERROR" in line and "refused the connection" in line for line in log.splitlines()) == 1
        )  # ...said once

        password_file.write_text(SECRET + "\n")  # the operator fixes the file: no restart needed
        got = sub.wait_for(
            lambda ms: {m.doc["event_id"] for m in ms if m.topic.endswith("/events")} >= set(ids)
        )
        assert [m.doc["event_id"] for m in got if m.topic.endswith("/events")][:3] == ids
        assert poll_info(pub, lambda i: i["pending"] == 0)["connected"]
        pub.stop()
        assert SECRET not in pub.log_text()  # DEBUG logs, paho's included, never carry the password
        sub.close()
    finally:
        broker.kill()


def test_untrusted_broker_certificate_is_a_clear_error_and_events_wait(
    tmp_path: Path, pki: Pki, publishers: list[Publisher]
) -> None:
    broker = Mosquitto(tmp_path / "broker", pki=pki).start()
    try:
        pub = Publisher(tmp_path, broker.port, tls_ca=pki.other_ca)
        publishers.append(pub)
        pub.cmd("events", n=2)
        info = poll_info(pub, lambda i: i["last_error"] is not None)
        assert "certificate" in info["last_error"] and "tls_ca" in info["last_error"], info["last_error"]
        assert not info["connected"] and info["healthy"] and info["pending"] == 2
        time.sleep(0.6)
        assert pub.proc.poll() is None
    finally:
        broker.kill()


def test_tls_with_verified_hostname_and_an_encrypted_client_key(
    tmp_path: Path, pki: Pki, publishers: list[Publisher]
) -> None:
    broker = Mosquitto(tmp_path / "broker", pki=pki).start()
    try:
        sub = Collector(broker.port, f"{PREFIX}/#", ca=pki.ca)
        key_password = tmp_path / "key-password"
        key_password.write_text(pki.client_key_password + "\n")
        pub = Publisher(
            tmp_path,
            broker.port,
            tls_ca=pki.ca,
            tls_cert=pki.client_cert,
            tls_key=pki.client_key_encrypted,
            tls_key_password_file=key_password,
        )
        publishers.append(pub)
        ids = pub.cmd("events", n=2)["ids"]
        got = sub.wait_for(
            lambda ms: {m.doc["event_id"] for m in ms if m.topic.endswith("/events")} >= set(ids)
        )
        assert any(m.payload == b"online" for m in got)
        assert pki.client_key_password not in pub.log_text()
        sub.close()
    finally:
        broker.kill()


def test_unreadable_ca_file_is_retried_until_it_appears(tmp_path: Path, pki: Pki) -> None:
    """A certificate problem at start is an error state with retries, not a crash: fixing the file recovers."""
    broker = Mosquitto(tmp_path / "broker", pki=pki).start()
    ca = tmp_path / "deployed-ca.crt"  # not there yet
    box = Outbox(tmp_path / "outbox.sqlite")
    settings = MqttSettings(
        host="127.0.0.1", port=broker.port, prefix=PREFIX, tls_ca=ca, reconnect_min_s=0.1, reconnect_max_s=0.3
    )
    sink = MqttSink(settings, "cam-1", box, Sequencer())
    try:
        sink.start()
        sink.send(Event(kind="baseline.loaded", camera_id="cam-1", frame_index=None, stream_time=None))
        _until(lambda: sink.last_error is not None)
        assert "TLS CA file" in sink.last_error and str(ca) in sink.last_error
        assert sink.healthy and not sink.connected and box.pending == 1
        shutil.copy(pki.ca, ca)
        _until(lambda: sink.connected and box.pending == 0)
        assert sink.last_error is None
    finally:
        sink.stop()
        box.close()
        broker.kill()


def _until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)
