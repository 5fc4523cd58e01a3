"""The episode's picture on the broker: a real photograph's JPEG kept under the size bound (re-encoded
smaller when needed, never published when it cannot fit), only from a real capture folder, and from the real
daemon on a real mosquitto: retained on .../snapshot after drift.started, as image/jpeg."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from camdrift.agent.mqtt.snapshot import bounded_jpeg, safe_snapshot, snapshot_of
from tests.agent.mqtt.broker import Mosquitto
from tests.agent.mqtt.collector import Collector
from tests.agent.mqtt.test_mqtt_daemon import CAMDRIFT, baseline_file  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def photo_jpeg() -> bytes:
    image = cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return buf.tobytes()


def test_a_jpeg_is_kept_under_the_bound(photo_jpeg: bytes) -> None:
    assert bounded_jpeg(photo_jpeg, len(photo_jpeg)) == photo_jpeg  # fits: untouched
    small = bounded_jpeg(photo_jpeg, 20_000)
    assert small is not None and len(small) <= 20_000
    image = cv2.imdecode(np.frombuffer(small, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape[0] == image.shape[1]  # still the photo, its aspect kept
    assert bounded_jpeg(photo_jpeg, 100) is None  # cannot fit even at 64 px: not published
    assert bounded_jpeg(b"not a jpeg" * 1000, 100) is None


def test_only_a_real_capture_folder_is_read(tmp_path: Path, photo_jpeg: bytes) -> None:
    capture = tmp_path / "evidence" / "ep1-f20"
    capture.mkdir(parents=True)
    (capture / "frame_00.jpg").write_bytes(b"old")
    (capture / "frame_01.jpg").write_bytes(photo_jpeg)
    assert snapshot_of(tmp_path / "evidence", "ep1-f20", 1 << 20) == photo_jpeg  # the newest frame
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "frame_00.jpg").write_bytes(photo_jpeg)
    assert snapshot_of(tmp_path / "evidence", "../secret", 1 << 20) is None
    assert snapshot_of(tmp_path / "evidence", "nope", 1 << 20) is None
    assert safe_snapshot(None, "ep1-f20", 1 << 20) is None  # snapshots off
    (capture / "frame_02.jpg").write_bytes(b"\xff\xd8" + bytes(5000))  # a damaged newest frame, too big
    assert safe_snapshot(tmp_path / "evidence", "ep1-f20", 100) is None  # refused, never raised
    thin = cv2.imencode(".jpg", np.zeros((1, 4000, 3), np.uint8))[1].tobytes()  # one row high
    assert bounded_jpeg(thin, 10) is None


def test_the_daemon_publishes_the_episodes_snapshot(
    broker: Mosquitto,
    baseline_file: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    cfg = tmp_path / "agent.toml"
    cfg.write_text(
        f'[camera]\nid = "cam1"\n[source]\nuri = "synthetic:gain_step_dark?seed=4&size=160x120&frames=400"\n'
        f'[baseline]\npath = "{baseline_file}"\n[state]\ndir = "{tmp_path}/state"\n[sinks.console]\nenabled = false\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\nsnapshot = true\nsnapshot_max_bytes = 8192\n'
    )
    events = Collector(broker.port, "camdrift/default/cam1/events")
    proc = subprocess.run([*CAMDRIFT, "--config", str(cfg)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    started = [
        json.loads(m.payload)
        for m in events.wait_for(lambda ms: len(ms) > 0)
        if b"drift.started" in m.payload
    ]
    events.close()
    assert started and started[0]["evidence_id"]
    late = Collector(broker.port, "camdrift/default/cam1/snapshot")  # a dashboard connecting afterwards
    got = late.wait_for(lambda ms: len(ms) >= 1)
    late.close()
    assert got[0].retain and len(got[0].payload) <= 8192
    image = cv2.imdecode(np.frombuffer(got[0].payload, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape[1] * 3 == image.shape[0] * 4  # the 160x120 frame's aspect


def test_snapshots_need_evidence(tmp_path: Path) -> None:
    cfg = tmp_path / "agent.toml"
    cfg.write_text(
        '[camera]\nid = "cam1"\n[source]\nuri = "synthetic:gain_step?frames=10"\n'
        f'[state]\ndir = "{tmp_path}/state"\n[evidence]\nmax_bytes = 0\n[mqtt]\nhost = "127.0.0.1"\nsnapshot = true\n'
    )
    proc = subprocess.run(
        [*CAMDRIFT, "--config", str(cfg), "--check-config"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and "mqtt.snapshot" in proc.stderr and "evidence" in proc.stderr


def _started(evidence_id: str):
    from camdrift.agent.output.events import Event

    return Event(
        kind="drift.started",
        camera_id="cam1",
        frame_index=40,
        stream_time=8.0,
        episode_id="ep-1",
        group="shift.brightness",
        severity="critical",
        summary="lighting",
        evidence_id=evidence_id,
    )


def test_a_snapshot_survives_a_broker_restart_and_an_outage(tmp_path: Path, photo_jpeg: bytes) -> None:
    """The birth set after a broker restart and the outbox after an outage carry the JPEG as it is (a picture
    has no 'replayed' field to set): the connection stays healthy and a late dashboard gets the picture."""
    import time

    from camdrift.agent.mqtt.outbox import Outbox
    from camdrift.agent.mqtt.settings import MqttSettings
    from camdrift.agent.mqtt.sink import MqttSink
    from camdrift.agent.output.events import Sequencer

    capture = tmp_path / "evidence" / "ep-1-f40"
    capture.mkdir(parents=True)
    (capture / "frame_00.jpg").write_bytes(photo_jpeg)
    broker = Mosquitto(tmp_path / "broker", persistence=False).start()
    settings = MqttSettings(
        host="127.0.0.1",
        port=broker.port,
        snapshot_dir=tmp_path / "evidence",
        snapshot_max_bytes=1 << 20,
        reconnect_min_s=0.1,
        reconnect_max_s=0.2,
    )
    sink = MqttSink(settings, "cam1", Outbox(tmp_path / "o.sqlite"), Sequencer())
    sink.start()

    def until(predicate, timeout: float = 10.0) -> None:
        end = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < end, "timed out"
            time.sleep(0.05)

    try:
        until(lambda: sink.connected)
        sink.send(_started("ep-1-f40"))
        until(lambda: sink.outbox.pending == 0)
        broker.kill()  # every retained message is gone with it
        until(lambda: not sink.connected)
        sink.send(_started("ep-1-f40"))  # a second episode's picture waits in the outbox meanwhile
        broker.start()
        until(lambda: sink.connected and sink.outbox.pending == 0)
        late = Collector(broker.port, "camdrift/default/cam1/snapshot")
        got = late.wait_for(lambda ms: len(ms) >= 1)
        late.close()
        assert got[0].retain and got[0].payload == photo_jpeg
        time.sleep(0.5)
        assert sink.healthy and sink.faults == 0 and sink.connected
    finally:
        sink.stop()
        sink.close()
        broker.kill()
