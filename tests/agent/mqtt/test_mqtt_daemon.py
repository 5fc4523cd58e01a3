"""The real daemon (`camdrift run --mqtt`) against a real mosquitto: what a plant subscriber sees."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from camdrift.agent.output.sinks import read_jsonl
from camdrift.agent.reference.baseline import save_baseline
from tests.agent.drift_fixtures import small_baseline
from tests.agent.mqtt.broker import Mosquitto
from tests.agent.mqtt.collector import Collector
from tests.agent.mqtt.helpers import validator

CAMDRIFT = [sys.executable, "-m", "camdrift.agent.cli", "run"]
KILLPOINT = [sys.executable, str(Path(__file__).with_name("killpoint.py"))]


@pytest.fixture(scope="module")
def baseline_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("baseline") / "baseline.npz"
    save_baseline(small_baseline(), path)
    return path


def agent_args(baseline: Path, tmp: Path, port: int, frames: int | None) -> list[str]:
    n = f"&frames={frames}" if frames else ""
    return [
        "--source",
        f"synthetic:gain_step_dark?seed=4&size=160x120{n}",
        "--camera",
        "cam1",
        "--baseline",
        str(baseline),
        "--jsonl",
        str(tmp / "events.jsonl"),
        "--state-dir",
        str(tmp / "state"),
        "--mqtt",
        f"127.0.0.1:{port}",
    ]


def kinds(path: Path) -> set[str]:
    return {d.get("kind") for d in read_jsonl(path)}


def event_ids(path: Path, kind: str) -> list[str]:
    return [d["event_id"] for d in read_jsonl(path) if d.get("kind") == kind]


def wait_until(predicate, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise TimeoutError("condition not met")
        time.sleep(0.05)


def test_subscriber_sees_every_topic_and_valid_payloads(
    broker: Mosquitto, baseline_file: Path, tmp_path
) -> None:
    col = Collector(broker.port, "camdrift/default/cam1/#")
    try:
        res = subprocess.run(
            CAMDRIFT + agent_args(baseline_file, tmp_path, broker.port, 450),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert res.returncode == 0, res.stderr
        msgs = col.wait_for(
            lambda m: any(x.topic.endswith("/availability") and x.payload == b"offline" for x in m)
        )
    finally:
        col.close()
    v = validator()
    events = [m.doc for m in msgs if m.topic.endswith("/events")]
    for m in msgs:
        if not m.topic.endswith("/availability"):
            v.validate(m.doc)
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "baseline.loaded" and "drift.started" in kinds and kinds[-1] == "agent.stopping"
    started = next(e for e in events if e["kind"] == "drift.started")
    assert started["frame_index"] >= 300 and started["causes"][0]["code"] == "lighting"
    assert [m.payload for m in msgs if m.topic.endswith("/availability")][0] == b"online"
    assert any(m.topic.endswith("/status") for m in msgs) and any(m.topic.endswith("/state") for m in msgs)
    # what a dashboard connecting later sees: retained availability, status and state
    late = Collector(broker.port, "camdrift/default/cam1/#")
    try:
        retained = late.wait_for(
            lambda m: {x.topic.rsplit("/", 1)[1] for x in m} >= {"availability", "status", "state"}
        )
    finally:
        late.close()
    assert all(m.retain for m in retained)
    assert {m.topic.rsplit("/", 1)[1] for m in retained} == {"availability", "status", "state"}


def test_killed_agent_delivers_its_queued_events_after_restart(tmp_path: Path, baseline_file: Path) -> None:
    broker = Mosquitto(tmp_path / "broker")  # not started: the broker is down while the agent runs
    agent = subprocess.Popen(
        CAMDRIFT + agent_args(baseline_file, tmp_path, broker.port, None),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: (
                (tmp_path / "events.jsonl").exists() and event_ids(tmp_path / "events.jsonl", "drift.started")
            )
        )
        time.sleep(0.3)
        agent.send_signal(signal.SIGKILL)
        agent.wait(timeout=10)
    finally:
        agent.kill()
    queued = event_ids(tmp_path / "events.jsonl", "drift.started")
    broker.start()
    col = Collector(broker.port, "camdrift/default/cam1/events")
    agent = subprocess.Popen(
        CAMDRIFT + agent_args(baseline_file, tmp_path, broker.port, 50),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        msgs = col.wait_for(lambda m: any(x.doc["event_id"] == queued[0] for x in m), timeout=30)
        assert agent.wait(timeout=30) == 0
    finally:
        agent.kill()
        col.close()
        broker.kill()
    delivered = next(m.doc for m in msgs if m.doc["event_id"] == queued[0])
    assert delivered["replayed"] is True and delivered["kind"] == "drift.started"


def test_last_will_marks_a_dead_agent_offline(broker: Mosquitto, baseline_file: Path, tmp_path: Path) -> None:
    col = Collector(broker.port, "camdrift/default/cam1/availability")
    agent = subprocess.Popen(
        CAMDRIFT + agent_args(baseline_file, tmp_path, broker.port, None),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        col.wait_for(lambda m: any(x.payload == b"online" for x in m), timeout=30)
        agent.send_signal(signal.SIGKILL)
        agent.wait(timeout=10)
        col.wait_for(lambda m: m[-1].payload == b"offline", timeout=10)
    finally:
        agent.kill()
        col.close()


def test_a_kill_between_the_sinks_never_leaves_an_event_only_in_the_jsonl_file(
    broker: Mosquitto, baseline_file: Path, tmp_path: Path
) -> None:
    col = Collector(broker.port, "camdrift/default/cam1/events")
    try:
        killed = subprocess.run(
            KILLPOINT + agent_args(baseline_file, tmp_path, broker.port, None),
            capture_output=True,
            timeout=60,
            cwd=Path(__file__).parents[3],
        )
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
        res = subprocess.run(  # the restart delivers what the outbox holds, then runs 50 frames and stops
            CAMDRIFT + agent_args(baseline_file, tmp_path, broker.port, 50), capture_output=True, timeout=60
        )
        assert res.returncode == 0, res.stderr[-2000:]
        in_file = [d["event_id"] for d in read_jsonl(tmp_path / "events.jsonl") if "kind" in d]
        msgs = col.wait_for(lambda m: {x.doc["event_id"] for x in m} >= set(in_file), timeout=10)
    finally:
        col.close()
    delivered = {m.doc["event_id"] for m in msgs}
    assert in_file and set(in_file) <= delivered  # every line in the file reached MQTT


def test_the_retained_status_says_frames_are_refused_at_once(
    broker: Mosquitto, baseline_file: Path, tmp_path: Path
) -> None:
    """A live source whose every frame the baseline refuses: a dashboard connecting now reads why in the
    retained status within seconds, not an `ok` boot copy until the next 60-s status."""
    from tests.agent.runtime.test_daemon import start_app

    tap = f"cd-{uuid.uuid4().hex[:10]}"
    app = start_app(tap, "--frames", "100000", "--fps", "50", "--rate", "50", "--size", "320x240")
    args = agent_args(baseline_file, tmp_path, broker.port, None)
    args[args.index("--source") + 1] = f"shm:{tap}"
    agent = subprocess.Popen([*CAMDRIFT, *args, "--max-fps", "50"], stderr=subprocess.PIPE, text=True)
    try:
        jsonl = tmp_path / "events.jsonl"
        wait_until(
            lambda: agent.poll() is not None or (jsonl.exists() and "baseline.rejected" in kinds(jsonl))
        )
        assert agent.poll() is None, agent.stderr.read()
        refused = "frames refused: resolution 320x240"
        live = Collector(broker.port, "camdrift/default/cam1/status")
        try:  # published at once (delivered within a few seconds), not at the next 60-s period
            live.wait_for(lambda ms: any(refused in m.doc["source_state"] for m in ms), timeout=10)
        finally:
            live.close()
        late = Collector(broker.port, "camdrift/default/cam1/status")
        try:  # and it is what a dashboard connecting now reads
            got = late.wait_for(lambda ms: any(m.retain for m in ms), timeout=5)
            status = [m for m in got if m.retain][-1].doc
            assert refused in status["source_state"], status
            validator().validate(status)
        finally:
            late.close()
    finally:
        agent.kill()
        app.kill()
