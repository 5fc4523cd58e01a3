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

    # The table, once: one row per camera within 120 columns, the drifting statistics only.
    table = _watch("--host", "127.0.0.1", "--port", str(broker.port), "--once")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["CAMERA", "AVAILABILITY", "VERDICT", "CAUSE", "FOR", "EPISODE", "DRIFTING"]
    assert max(map(len, lines)) <= 120
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"plant-1/cam-a", "plant-2/cam-b"}
    for row in rows.values():
        assert (
            " online " in row and " DRIFT " in row and "lighting: mean luma -15%" in row and " ep-1 " in row
        )
        assert row.rstrip().endswith("psi.luma, shift.brightness") and "shift.noise" not in row

    # One camera in detail: every statistic, drifting first, with its score over its threshold.
    cam_a = (
        "--host",
        "127.0.0.1",
        "--port",
        str(broker.port),
        "--prefix",
        "camdrift/plant-1",
        "--camera",
        "cam-a",
    )
    detail = _watch(*cam_a, "--once")
    assert detail.returncode == 0, detail.stderr
    text = detail.stdout.splitlines()
    assert max(map(len, text)) <= 120
    stats = text[text.index(next(line for line in text if line.startswith("STATISTIC"))) + 1 :]
    assert stats[0].split()[:3] == ["psi.luma", "drift", "1.55x"] and stats[2].split()[1] == "ok"
    assert any(line.startswith("baseline age: 1.0h") for line in text)

    # --camera and a fixed prefix narrow it down.
    one = _watch(*cam_a, "--once", "--json")
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
    groups = {f"cusum.statistic_{k}": {"verdict": "ok"} for k in range(30)}
    groups["shift.brightness"] = {"verdict": "drift", "score": 6.0, "threshold": 4.0, "since": 100.0}
    groups["psi.luma"] = {"verdict": "warming_up"}
    episode = {
        "id": "a1b2c3d4",
        "since": 100.0,
        "cause": "lighting",
        "summary": "mean luma -15%: lighting; or x",
    }
    state = {"overall": "drift", "stream_time": 190.0, "groups": groups, "episode": episode}
    board.update("camdrift/p1/cam-1/state", json.dumps(state).encode(), 0.0)
    board.update(
        "camdrift/p1/cam-1/events", json.dumps({"kind": "drift.started", "group": "exposure"}).encode(), 10.0
    )
    assert board.update("camdrift/p1/cam-1/metrics", b"not json", 10.0)["error"] == "payload is not JSON"
    jpeg = board.update("camdrift/p1/cam-1/snapshot", b"\xff\xd8\xff" + bytes(500), 10.0)
    assert jpeg["payload"] == {"content_type": "image/jpeg", "bytes": 503}
    board.update("camdrift/p2/packer-" + "x" * 50 + "-07/availability", b"offline", 0.0)
    lines = board.render(70.0).splitlines()
    assert max(map(len, lines)) <= 120 and len(lines) == 3
    row = lines[1]
    assert row.split()[:3] == ["p1/cam-1", "online", "DRIFT"]
    assert (
        "lighting: mean luma -15%" in row and "or x" not in row
    )  # the cause in plain words first and " 1.5m " in row and "a1b2c3d4" in row
    assert row.rstrip().endswith("shift.brightness") and "cusum" not in row
    assert lines[2].split()[1:3] == ["offline", "-"] and "…" in lines[2]  # a long name is cut to fit
    name = lines[2].split()[0]
    assert name.startswith("p2/packer-") and name.endswith("x-07")  # start and end kept: line-07 vs line-08
    detail = board.render_camera("p1/cam-1", 70.0).splitlines()
    first = detail.index(next(line for line in detail if line.startswith("STATISTIC"))) + 1
    assert detail[first].split() == ["shift.brightness", "drift", "1.50x", "1.5m"]
    assert "drift.started exposure (1.0m ago)" in "\n".join(detail) and "baseline age: 2.0h" in detail[-1]
    assert "has not published" in board.render_camera("p9/none", 70.0)
