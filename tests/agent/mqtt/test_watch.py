"""``camdrift watch`` against a real broker with two publishers, and its table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from camdrift.agent.mqtt.watch import Board
from tests.agent.mqtt.broker import Mosquitto, free_port
from tests.agent.mqtt.collector import Collector
from tests.agent.mqtt.helpers import Publisher, validator

CLI = [sys.executable, "-m", "camdrift.agent.cli"]


def _watch(*args: str, timeout: float = 20.0) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "watch", *args], capture_output=True, text=True, timeout=timeout)


def test_watch_shows_two_agents_publishing_at_once(
    broker: Mosquitto, tmp_path: Path, publishers: list[Publisher]
) -> None:
    sub = Collector(broker.port, "camdrift/#")
    for camera, site in (("cam-a", "plant-1"), ("cam-b", "plant-2")):
        pub = Publisher(tmp_path, broker.port, camera=camera, prefix=f"camdrift/{site}")
        publishers.append(pub)
        pub.cmd("status")
        pub.cmd("state")
    sub.wait_for(
        lambda ms: (
            sum(m.topic.endswith(("/state", "/status")) for m in ms) == 4
            and sum(m.payload == b"online" for m in ms) == 2
        )
    )

    # JSON lines while both agents keep publishing: every record is a camdrift message, both cameras appear.
    watch = subprocess.Popen(
        [*CLI, "watch", "--host", "127.0.0.1", "--port", str(broker.port), "--json", "--duration", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert watch.stdout is not None
    first = watch.stdout.readline()  # a retained message arrived: the watcher is subscribed
    ids = {"plant-2/cam-b": publishers[1].cmd("events", n=2)["ids"]}
    rest = watch.stdout.read()  # not communicate(): it would skip what readline() buffered
    assert watch.wait(timeout=20) == 0, watch.stderr.read() if watch.stderr else ""
    records = [json.loads(line) for line in [first, *rest.splitlines()]]
    check = validator()
    cameras = {}
    for r in records:
        cameras.setdefault(r["camera"], set()).add(r["kind"])
        if r["kind"] != "availability":
            check.validate(r["payload"])
    assert cameras["plant-1/cam-a"] >= {"availability", "status", "state"}
    assert cameras["plant-2/cam-b"] >= {"availability", "status", "state", "events"}
    got = [r["payload"]["event_id"] for r in records if r["kind"] == "events"]
    assert got == ids["plant-2/cam-b"]

    # The table, once: one row per camera with availability, drift per group, baseline age.
    table = _watch("--host", "127.0.0.1", "--port", str(broker.port), "--once")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:2] == ["CAMERA", "AVAILABILITY"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"plant-1/cam-a", "plant-2/cam-b"}
    for row in rows.values():
        assert " online " in row and "exposure=DRIFT focus=ok" in row and "1.0h" in row

    # --camera and a fixed prefix narrow it down.
    one = _watch(
        "--host",
        "127.0.0.1",
        "--port",
        str(broker.port),
        "--prefix",
        "camdrift/plant-1",
        "--camera",
        "cam-a",
        "--once",
        "--json",
    )
    assert {json.loads(line)["camera"] for line in one.stdout.splitlines()} == {"cam-a"}
    sub.close()


def test_watch_errors_are_clear_and_not_tracebacks(tmp_path: Path) -> None:
    down = _watch("--host", "127.0.0.1", "--port", str(free_port()), "--once")
    assert down.returncode == 1 and "connection refused" in down.stderr and "Traceback" not in down.stderr
    bad = _watch("--host", "127.0.0.1", "--prefix", "a/#", "--once")
    assert bad.returncode == 2 and "wildcard" in bad.stderr and "Traceback" not in bad.stderr
    missing = _watch("--host", "127.0.0.1", "--username", "u", "--password-file", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "--password-file" in missing.stderr and "nope" in missing.stderr


def test_board_renders_rows_from_messages() -> None:
    board = Board("camdrift/+")
    assert "no camdrift agent" in board.render(0.0)
    assert board.update("other/topic", b"x", 0.0) is None
    board.update("camdrift/p1/cam-1/availability", b"online", 0.0)
    board.update("camdrift/p1/cam-1/status", json.dumps({"baseline_age_s": 7200.0}).encode(), 0.0)
    board.update(
        "camdrift/p1/cam-1/state",
        json.dumps(
            {
                "overall": "drift",
                "groups": {"exposure": {"verdict": "drift"}, "noise": {"verdict": "warming_up"}},
            }
        ).encode(),
        0.0,
    )
    board.update(
        "camdrift/p1/cam-1/events", json.dumps({"kind": "drift.started", "group": "exposure"}).encode(), 10.0
    )
    assert board.update("camdrift/p1/cam-1/metrics", b"not json", 10.0)["error"] == "payload is not JSON"
    text = board.render(70.0)
    row = text.splitlines()[1]
    assert row.split()[:3] == ["p1/cam-1", "online", "exposure=DRIFT"]
    assert "noise=warming_up" in row and "drift.started exposure (1.0m ago)" in row and "2.0h" in row
