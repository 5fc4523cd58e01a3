"""The real daemon, run as a subprocess against each source kind available here; events read from its JSON-lines
sink and validated against the published schema."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import cv2
import jsonschema
import numpy as np
import pytest

from camdrift.agent.output.sinks import read_jsonl
from camdrift.agent.reference.baseline import save_baseline
from camdrift.agent.sim.line import HEALTHY, Drift, ProductionLine
from camdrift.calibration.calibrate.build import Budget, build_baseline
from camdrift.kernels import KernelParams, frame_stats
from tests.agent.drift_fixtures import small_baseline

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = json.loads((ROOT / "agent/schema/messages.schema.json").read_text())
CAMDRIFT = [sys.executable, "-m", "camdrift.agent.cli"]
APP = [sys.executable, str(Path(__file__).parents[1] / "_line_app.py")]


@pytest.fixture(scope="module")
def baseline_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("baseline") / "baseline.npz"
    save_baseline(small_baseline(), path)
    return path


def run_agent(
    args: list[str], *, timeout: float = 120, env: dict | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run([*CAMDRIFT, "run", *args], capture_output=True, text=True, timeout=timeout, env=env)


def events(path: Path) -> list[dict]:
    docs = read_jsonl(path)
    for doc in docs:
        jsonschema.validate(doc, SCHEMA)
    return [d for d in docs if d["schema"] == "camdrift.event/1"]


def kinds(evs: list[dict]) -> list[str]:
    return [e["kind"] for e in evs]


def common(baseline: Path, tmp: Path) -> list[str]:
    return [
        "--baseline",
        str(baseline),
        "--jsonl",
        str(tmp / "events.jsonl"),
        "--state-dir",
        str(tmp / "state"),
    ]


def first(evs: list[dict], kind: str) -> dict:
    return next(e for e in evs if e["kind"] == kind)


VIDEO_SIZE = (320, 240)


def write_video(path: Path, n: int, onset: int, fps: float = 10.0, seed: int = 21) -> None:
    line = ProductionLine(seed=seed, width=VIDEO_SIZE[0], height=VIDEO_SIZE[1], fps=fps)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, VIDEO_SIZE)
    assert writer.isOpened()
    for i in range(n):
        writer.write(line.frame(i, Drift(gain=0.8) if i >= onset else HEALTHY))
    writer.release()


def test_synthetic_source_drift_is_reported_with_its_frame(baseline_file: Path, tmp_path: Path) -> None:
    res = run_agent(
        ["--source", "synthetic:gain_step_dark?seed=4&frames=500&size=160x120", "--camera", "cam1"]
        + common(baseline_file, tmp_path)
    )
    assert res.returncode == 0, res.stderr
    evs = events(tmp_path / "events.jsonl")
    assert kinds(evs)[0] == "baseline.loaded"
    started = first(evs, "drift.started")
    assert 300 <= started["frame_index"] < 330  # the scenario's onset is frame 300
    assert started["stream_time"] == pytest.approx(started["frame_index"] / 5.0)
    assert started["causes"][0]["code"] == "lighting"
    assert started["evidence_id"] and (tmp_path / "state/evidence" / started["evidence_id"]).is_dir()
    assert kinds(evs)[-2:] == ["source.ended", "agent.stopping"]
    assert (tmp_path / "state/engine-state.npz").exists()
    assert "drift.started" in res.stdout  # the console sink, for a person watching


def test_a_forced_baseline_says_so_when_it_is_loaded(tmp_path: Path) -> None:
    b = small_baseline()
    forced = "too_few_frames: reference of 150 analysed frames, the minimum is 200"
    path = tmp_path / "forced.npz"
    save_baseline(
        dataclasses.replace(b, thresholds=dataclasses.replace(b.thresholds, forced=(forced,))), path
    )
    res = run_agent(
        ["--source", "synthetic:stationary?seed=4&frames=20&size=160x120"] + common(path, tmp_path)
    )
    assert res.returncode == 0, res.stderr
    loaded = first(events(tmp_path / "events.jsonl"), "baseline.loaded")
    assert loaded["summary"].endswith(f"(calibrated with --force: {forced})")


@pytest.fixture(scope="module")
def video_baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A baseline calibrated on decoded MJPG frames: compression changes sharpness and noise, so a video is judged
    against a reference that went through the same codec."""
    tmp = tmp_path_factory.mktemp("video-baseline")
    write_video(tmp / "calibration.avi", n=1500, onset=10**9, seed=3)
    cap = cv2.VideoCapture(str(tmp / "calibration.avi"))
    stats = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        stats.append(frame_stats(frame))
    cap.release()
    baseline = build_baseline(
        stats,
        camera_id="cam-test",
        source="calibration.avi",
        kernel=KernelParams(resolution=VIDEO_SIZE),
        budget=Budget(fps=10.0, seed=1),
    )
    save_baseline(baseline, tmp / "baseline.npz")
    return tmp / "baseline.npz"


def test_video_file_is_replayed_on_its_own_timestamps(video_baseline: Path, tmp_path: Path) -> None:
    video = tmp_path / "line.avi"
    write_video(video, n=300, onset=150, fps=10.0)
    res = run_agent(["--source", f"video:{video}", "--max-fps", "10"] + common(video_baseline, tmp_path))
    assert res.returncode == 0, res.stderr
    evs = events(tmp_path / "events.jsonl")
    started = first(evs, "drift.started")
    assert 150 <= started["frame_index"] < 180
    assert started["stream_time"] == pytest.approx(started["frame_index"] / 10.0, abs=0.11)
    assert first(evs, "source.ended")["frame_index"] == 299


def test_image_folder_with_bad_files_keeps_running(baseline_file: Path, tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    line = ProductionLine(seed=21, width=160, height=120, fps=5.0)
    for i in range(200):
        cv2.imwrite(str(folder / f"f{i:04d}.png"), line.frame(i))
    (folder / "f0050.png").write_bytes(b"")  # zero bytes
    (folder / "f0060.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")  # corrupt
    cv2.imwrite(str(folder / "f0070.png"), np.zeros((100, 100, 3), np.uint8))  # wrong size for the folder
    res = run_agent(["--source", f"dir:{folder}?fps=5"] + common(baseline_file, tmp_path))
    assert res.returncode == 0, res.stderr
    evs = events(tmp_path / "events.jsonl")
    assert "drift.started" not in kinds(evs)
    assert first(evs, "source.ended")
    for name in ("f0050.png", "f0060.png", "f0070.png"):
        assert res.stderr.count(name) == 1, res.stderr  # each bad file named once


def test_frames_of_another_resolution_are_counted_and_skipped(baseline_file: Path, tmp_path: Path) -> None:
    res = run_agent(
        ["--source", "synthetic:stationary?frames=50&size=320x240"] + common(baseline_file, tmp_path)
    )
    assert res.returncode == 2, res.stderr  # a replay that analysed nothing: every frame refused
    assert res.stderr.count("skipping frames: resolution 320x240 differs from the baseline's 160x120") == 1


@pytest.fixture
def tap_name() -> str:
    return f"camdrift-test-{uuid.uuid4().hex[:12]}"


def start_app(name: str, *args: str) -> subprocess.Popen:
    app = subprocess.Popen([*APP, name, *args], stdout=subprocess.PIPE, text=True)
    assert app.stdout.readline().strip() == "ready"
    return app


def test_shm_tap_fed_by_another_process(baseline_file: Path, tmp_path: Path, tap_name: str) -> None:
    app = start_app(
        tap_name, "--frames", "600", "--onset", "300", "--fps", "100", "--rate", "100", "--flag", "20"
    )
    agent = subprocess.Popen(
        [*CAMDRIFT, "run", "--source", f"shm:{tap_name}", "--max-fps", "100"]
        + common(baseline_file, tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert app.stdout.readline().strip() == "done"
        time.sleep(1.0)
        agent.send_signal(signal.SIGTERM)
        _, err = agent.communicate(timeout=20)
    finally:
        app.kill()
        agent.kill()
    assert agent.returncode == 0, err
    evs = events(tmp_path / "events.jsonl")
    started = first(evs, "drift.started")
    assert 300 <= started["frame_index"] < 360
    assert started["stream_time"] == pytest.approx(started["frame_index"] / 100)
    assert kinds(evs)[-1] == "agent.stopping"
    manifest = (tmp_path / "state/evidence/manifest.jsonl").read_text()
    assert '"kind": "flag"' in manifest and "operator corrected a false reject" in manifest


def test_bad_config_and_missing_baseline_exit_2_with_the_culprit(tmp_path: Path) -> None:
    cfg = tmp_path / "cam.toml"
    cfg.write_text('[source]\nuri = "synthetic:stationary"\n[analysis]\ncpu_budget = 1.5\n')
    res = run_agent(["--config", str(cfg)])
    assert res.returncode == 2
    assert f"{cfg}: analysis.cpu_budget" in res.stderr and "Traceback" not in res.stderr
    res = run_agent(["--source", "synthetic:stationary", "--baseline", str(tmp_path / "none.npz")])
    assert res.returncode == 2 and "no baseline at" in res.stderr and "camdrift calibrate" in res.stderr
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 truncated")
    res = run_agent(["--source", "synthetic:stationary", "--baseline", str(tmp_path / "bad.npz")])
    assert res.returncode == 2 and "refused" in res.stderr and "Traceback" not in res.stderr


def test_check_config(baseline_file: Path, tmp_path: Path) -> None:
    res = run_agent(
        ["--check-config", "--source", "dir:/nowhere", "--baseline", str(baseline_file)]
        + ["--state-dir", str(tmp_path / "state")]
    )
    assert res.returncode == 0 and "configuration OK" in res.stdout and "loads" in res.stdout
    res = run_agent(["--check-config", "--source", "nosuch:thing"])
    assert res.returncode == 2 and "source.uri" in res.stderr


# --- the notify protocol, against a real datagram socket standing in for systemd ------------------------------


class FakeSystemd:
    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.path = path
        self.messages: list[dict[str, str]] = []

    def wait_for(self, key: str, timeout: float = 30.0) -> dict[str, str]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.sock.settimeout(max(0.01, end - time.monotonic()))
            try:
                data = self.sock.recv(4096).decode()
            except TimeoutError:
                break
            msg = dict(line.split("=", 1) for line in data.splitlines())
            self.messages.append(msg)
            if key in msg:
                return msg
        raise AssertionError(f"no {key} within {timeout} s; got {self.messages[-5:]}")

    def drain(self, seconds: float) -> list[dict[str, str]]:
        out = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.sock.settimeout(max(0.01, end - time.monotonic()))
            try:
                data = self.sock.recv(4096).decode()
            except TimeoutError:
                break
            out.append(dict(line.split("=", 1) for line in data.splitlines()))
        self.messages += out
        return out


def test_notify_ready_watchdog_reload_stopping(baseline_file: Path, tmp_path: Path, tap_name: str) -> None:
    systemd = FakeSystemd(tmp_path / "notify.sock")
    # Stream for ~4 s, then the camera stalls (the app keeps its tap open but offers nothing).
    app = start_app(tap_name, "--frames", "400", "--fps", "100", "--rate", "100", "--hold", "60")
    cfg = tmp_path / "cam.toml"
    cfg.write_text(
        f'[source]\nuri = "shm:{tap_name}"\nstall_timeout = 2.0\n[analysis]\nmax_fps = 100.0\n'
        f'[baseline]\npath = "{baseline_file}"\n[state]\ndir = "{tmp_path / "state"}"\n'
        f'[sinks.jsonl]\npath = "{tmp_path / "events.jsonl"}"\n'
    )
    env = {**os.environ, "NOTIFY_SOCKET": str(systemd.path), "WATCHDOG_USEC": "1000000"}
    agent = subprocess.Popen(
        [*CAMDRIFT, "run", "--config", str(cfg)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        systemd.wait_for("READY")
        systemd.wait_for("WATCHDOG")  # frames flow: pings
        assert "analysed" in systemd.wait_for("STATUS")["STATUS"]
        agent.send_signal(signal.SIGHUP)
        reloading = systemd.wait_for("RELOADING")
        assert int(reloading["MONOTONIC_USEC"]) > 0
        systemd.wait_for("READY")
        assert app.stdout.readline().strip() == "done"  # the camera stalls from here on
        time.sleep(2.5)  # past stall_timeout
        systemd.drain(0.1)
        later = systemd.drain(3.0)
        assert later and not any("WATCHDOG" in m for m in later), later  # statuses, but no pings
        wait_for_event(tmp_path / "events.jsonl", lambda evs: any(e["kind"] == "source.lost" for e in evs))
        agent.send_signal(signal.SIGTERM)
        systemd.wait_for("STOPPING")
        assert agent.wait(timeout=20) == 0
    finally:
        agent.kill()
        app.kill()
        systemd.sock.close()


def test_logs_carry_journald_priorities_under_systemd(baseline_file: Path, tmp_path: Path) -> None:
    env = {**os.environ, "JOURNAL_STREAM": "8:12345"}
    res = run_agent(
        ["--source", "synthetic:stationary?frames=30&size=320x240"] + common(baseline_file, tmp_path), env=env
    )
    assert res.returncode == 2  # every frame refused (see test_frames_of_another_resolution_...)
    lines = [line for line in res.stderr.splitlines() if line]
    assert lines and all(line[0] == "<" and line[2] == ">" for line in lines), lines
    assert any(line.startswith("<4>") and "resolution 320x240" in line for line in lines)  # a warning
    assert any(line.startswith("<6>") for line in lines)  # info


def test_restart_continues_stream_time_and_keeps_the_windows(baseline_file: Path, tmp_path: Path) -> None:
    """A replay after a restart starts its clock at 0 again: the agent carries on from the saved stream time
    instead of refusing frames as out of order."""
    args = ["--source", "synthetic:stationary?seed=4&frames=120&size=160x120"] + common(
        baseline_file, tmp_path
    )
    assert run_agent(args).returncode == 0
    res = run_agent(args)
    assert res.returncode == 0, res.stderr
    assert "stream time went back from 23.800 s to 0.000 s" in res.stderr
    assert "earlier than the previous" not in res.stderr  # no frame refused
    assert "restored engine state" in res.stderr


def wait_for_event(path: Path, predicate, timeout: float = 30.0) -> list[dict]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists():
            evs = [d for d in read_jsonl(path) if d["schema"] == "camdrift.event/1"]
            if predicate(evs):
                return evs
        time.sleep(0.1)
    raise AssertionError(f"event not seen within {timeout} s")


def test_sighup_keeps_windows_for_the_same_baseline_and_resets_them_for_a_new_one(
    baseline_file: Path, tmp_path: Path
) -> None:
    baseline = tmp_path / "baseline.npz"
    baseline.write_bytes(baseline_file.read_bytes())
    args = ["--source", "synthetic:stationary?seed=4&size=160x120"] + common(baseline, tmp_path)
    agent = subprocess.Popen(
        [*CAMDRIFT, "run", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    jsonl = tmp_path / "events.jsonl"
    try:
        wait_for_event(jsonl, lambda evs: any(e["kind"] == "baseline.loaded" for e in evs))
        time.sleep(1.0)
        agent.send_signal(signal.SIGHUP)  # same baseline: windows kept, no event
        time.sleep(1.0)
        save_baseline(small_baseline(seed=5), baseline)  # a technician put a new baseline in place
        agent.send_signal(signal.SIGHUP)
        evs = wait_for_event(jsonl, lambda evs: sum(e["kind"] == "baseline.loaded" for e in evs) == 2)
        agent.send_signal(signal.SIGTERM)
        _, err = agent.communicate(timeout=20)
    finally:
        agent.kill()
    assert agent.returncode == 0
    assert "baseline unchanged, windows kept" in err
    reset = [e for e in evs if e["kind"] == "baseline.loaded"][1]
    assert "windows reset" in reset["summary"]
    times = [d["stream_time"] for d in read_jsonl(jsonl) if d.get("stream_time") is not None]
    assert times and times == sorted(times)  # events and states: stream time never went back at a reload


def test_tap_producer_killed_and_restarted(baseline_file: Path, tmp_path: Path, tap_name: str) -> None:
    app = start_app(tap_name, "--frames", "100000", "--fps", "100", "--rate", "100")
    agent = subprocess.Popen(
        [*CAMDRIFT, "run", "--source", f"shm:{tap_name}", "--max-fps", "100"]
        + common(baseline_file, tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    jsonl = tmp_path / "events.jsonl"
    try:
        wait_for_event(jsonl, lambda evs: any(e["kind"] == "baseline.loaded" for e in evs))
        time.sleep(1.5)
        app.kill()  # the inference app crashes
        app.wait(timeout=10)
        wait_for_event(jsonl, lambda evs: any(e["kind"] == "source.lost" for e in evs))
        app = start_app(tap_name, "--frames", "100000", "--fps", "100", "--rate", "100")
        wait_for_event(jsonl, lambda evs: any(e["kind"] == "source.restored" for e in evs))
        agent.send_signal(signal.SIGTERM)
        _, err = agent.communicate(timeout=20)
    finally:
        app.kill()
        agent.kill()
    assert agent.returncode == 0, err
    assert "Traceback" not in err


def test_a_recording_that_cannot_be_opened_is_a_startup_error(baseline_file: Path, tmp_path: Path) -> None:
    res = run_agent(["--source", f"video:{tmp_path / 'missing.avi'}"] + common(baseline_file, tmp_path))
    assert res.returncode == 2
    assert "missing.avi" in res.stderr and "Traceback" not in res.stderr
