"""Health is what the agent does: the real daemon, as a subprocess, with frames its baseline refuses, a source
that never opens, a baseline replaced mid-episode and state saved by another recording. Each test checks what a
user relies on: the STATUS line, the events, the watchdog pings and the exit code."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import uuid
from pathlib import Path

import cv2
import pytest

from camdrift.agent.reference.baseline import load_baseline, save_baseline
from camdrift.agent.sim.line import ProductionLine
from tests.agent.drift_fixtures import small_baseline
from tests.agent.runtime.test_daemon import (
    CAMDRIFT,
    FakeSystemd,
    common,
    events,
    first,
    kinds,
    run_agent,
    start_app,
    wait_for_event,
)


@pytest.fixture
def tap_name() -> str:
    return f"camdrift-test-{uuid.uuid4().hex[:12]}"


def write_small_video(path: Path, n: int, size: tuple[int, int] = (160, 120), fps: float = 5.0) -> None:
    line = ProductionLine(seed=21, width=size[0], height=size[1], fps=fps)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for i in range(n):
        writer.write(line.frame(i))
    writer.release()


def test_a_replay_whose_every_frame_the_baseline_refuses_exits_2(baseline_file: Path, tmp_path: Path) -> None:
    video = tmp_path / "other-mode.avi"
    write_small_video(video, 20, size=(320, 240))
    res = run_agent(["--source", f"video:{video}"] + common(baseline_file, tmp_path))
    assert res.returncode == 2, res.stderr
    assert "analysed no frame" in res.stderr and "Traceback" not in res.stderr
    evs = events(tmp_path / "events.jsonl")
    rejected = first(evs, "baseline.rejected")
    assert "resolution 320x240 differs from the baseline's 160x120" in rejected["summary"]
    assert rejected["severity"] == "critical" and rejected["numbers"]["frames_refused"] >= 3
    assert kinds(evs).index("baseline.rejected") < kinds(evs).index("source.ended")


def test_refused_frames_stop_the_watchdog_and_the_status_says_why(
    baseline_file: Path, tmp_path: Path, tap_name: str
) -> None:
    systemd = FakeSystemd(tmp_path / "notify.sock")
    app = start_app(tap_name, "--frames", "100000", "--fps", "50", "--rate", "50", "--size", "320x240")
    env = {**os.environ, "NOTIFY_SOCKET": str(systemd.path), "WATCHDOG_USEC": "400000"}
    agent = subprocess.Popen(
        [*CAMDRIFT, "run", "--source", f"shm:{tap_name}", "--max-fps", "50"]
        + common(baseline_file, tmp_path),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        ready = systemd.wait_for("READY")
        assert not ready["STATUS"].startswith("ok"), ready
        wait_for_event(
            tmp_path / "events.jsonl", lambda evs: any(e["kind"] == "baseline.rejected" for e in evs)
        )
        systemd.drain(0.3)
        later = systemd.drain(1.5)
        statuses = [m["STATUS"] for m in later if "STATUS" in m]
        assert statuses and all(s.startswith("frames refused: resolution 320x240") for s in statuses), later
        assert not any("WATCHDOG" in m for m in later), later  # frames arrive, but none is analysed: no pings
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=20) == 0  # a live source: stopped by systemd, not a failed replay
    finally:
        agent.kill()
        app.kill()
        systemd.sock.close()


def test_ready_before_the_source_opens_says_it_waits(baseline_file: Path, tmp_path: Path) -> None:
    systemd = FakeSystemd(tmp_path / "notify.sock")
    env = {**os.environ, "NOTIFY_SOCKET": str(systemd.path)}
    agent = subprocess.Popen(
        [*CAMDRIFT, "run", "--source", "shm:never-there"] + common(baseline_file, tmp_path),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ready = systemd.wait_for("READY")
        assert ready["STATUS"].startswith("waiting for the source shm:never-there"), ready
        later = [m["STATUS"] for m in systemd.drain(1.5) if "STATUS" in m]
        assert later and not any(s.startswith(("ok", "drift")) for s in later), later
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=20) == 0
    finally:
        agent.kill()
        systemd.sock.close()


def test_a_reload_ends_the_open_episode_and_refuses_a_baseline_for_other_frames(
    baseline_file: Path, tmp_path: Path
) -> None:
    baseline = tmp_path / "baseline.npz"
    baseline.write_bytes(baseline_file.read_bytes())
    args = ["--source", "synthetic:gain_step_dark?seed=4&size=160x120"] + common(baseline, tmp_path)
    agent = subprocess.Popen(
        [*CAMDRIFT, "run", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    jsonl = tmp_path / "events.jsonl"
    try:
        wait_for_event(jsonl, lambda evs: any(e["kind"] == "drift.started" for e in evs), timeout=60)
        b = load_baseline(baseline_file)
        save_baseline(
            dataclasses.replace(b, kernel=dataclasses.replace(b.kernel, resolution=(320, 240))), baseline
        )
        agent.send_signal(signal.SIGHUP)  # a baseline for another camera mode: refused, the running one kept
        wait_for_event(jsonl, lambda evs: any(e["kind"] == "baseline.rejected" for e in evs))
        save_baseline(small_baseline(seed=5), baseline)  # the right mode, recalibrated
        agent.send_signal(signal.SIGHUP)
        evs = wait_for_event(jsonl, lambda evs: sum(e["kind"] == "baseline.loaded" for e in evs) == 2)
        agent.send_signal(signal.SIGTERM)
        _, err = agent.communicate(timeout=20)
    finally:
        agent.kill()
    assert agent.returncode == 0, err
    assert "reload refused" in first(evs, "baseline.rejected")["summary"]
    started = first(evs, "drift.started")
    k = kinds(evs)
    reset = [i for i, kind in enumerate(k) if kind == "baseline.loaded"][1]
    ended = [e for e in evs[:reset] if e["kind"] == "drift.ended"]
    assert ended and ended[-1]["episode_id"] == started["episode_id"], k  # closed before the new baseline


def test_saved_state_belongs_to_one_source(baseline_file: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a.avi", tmp_path / "b.avi"
    write_small_video(a, 40)
    write_small_video(b, 30)
    assert run_agent(["--source", f"video:{a}"] + common(baseline_file, tmp_path)).returncode == 0
    res = run_agent(["--source", f"video:{b}"] + common(baseline_file, tmp_path))
    assert res.returncode == 0, res.stderr
    assert "not restored" in res.stderr and f"belongs to the source video:{a}" in res.stderr
    assert "stream time went back" not in res.stderr  # b runs on its own clock
    ended = [e for e in events(tmp_path / "events.jsonl") if e["kind"] == "source.ended"]
    assert ended[-1]["stream_time"] < 6.0 + 0.01  # b's last frame at 29/5 s, not after a's 7.8 s
    res = run_agent(["--source", f"video:{b}"] + common(baseline_file, tmp_path))  # b again: its own past
    assert res.returncode == 0 and "restored engine state" in res.stderr, res.stderr
    started = [e for e in events(tmp_path / "events.jsonl") if e["kind"] == "agent.started"]
    assert len(started) == 3 and f"source video:{b}" in started[-1]["summary"]


def test_check_config_reports_every_error_the_start_would_refuse(baseline_file: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    (tmp_path / "events-dir").mkdir()
    cfg = tmp_path / "cam.toml"
    cfg.write_text(
        '[source]\nuri = "dir:/nowhere"\npixel_format = "gray8"\nroi = [0, 0, 10, 10]\n'
        f'[analysis]\nstride = 2\n[baseline]\npath = "{baseline_file}"\n'
        f'[state]\ndir = "{tmp_path / "file" / "state"}"\n[sinks.jsonl]\npath = "{tmp_path / "events-dir"}"\n'
    )
    res = run_agent(["--check-config", "--config", str(cfg)])
    assert res.returncode == 2, res.stdout
    lines = res.stderr.strip().splitlines()
    keys = ["state.dir", "source.pixel_format", "analysis.stride", "source.roi", "sinks.jsonl.path"]
    assert len(lines) == len(keys), lines  # one line per error, all at once
    for key, line in zip(keys, lines, strict=True):
        assert line.startswith(f"camdrift run: configuration error: {cfg}: {key}: "), line
    assert str(tmp_path / "events-dir") in lines[-1] and "Traceback" not in res.stderr
    start = run_agent(["--config", str(cfg)])  # what the check refuses, the start refuses too
    assert start.returncode == 2 and start.stderr.count("camdrift run: ") == len(keys), start.stderr
    missing = run_agent(
        ["--check-config", "--source", "dir:/nowhere", "--baseline", str(tmp_path / "none.npz")]
        + ["--state-dir", str(tmp_path / "state")]
    )
    assert missing.returncode == 2 and "baseline.path: no baseline at" in missing.stderr


def test_check_config_names_every_bad_key_of_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "cam.toml"
    cfg.write_text(
        '[source]\nuri = "synthetic:stationary"\nstall_timeout = -1.0\n'
        '[analysis]\ncpu_budget = 1.5\nmax_fps = "fast"\n[camera]\nnickname = "x"\n'
    )
    res = run_agent(["--check-config", "--config", str(cfg)])
    assert res.returncode == 2
    for key in ("source.stall_timeout", "analysis.cpu_budget", "analysis.max_fps", "camera.nickname"):
        assert f"{cfg}: {key}: " in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 4
