"""The systemd unit: `systemd-analyze verify` says nothing, and the offline security review scores 2.0 or lower.

`verify` also checks that ExecStart= names an existing executable, so it runs on a copy of the unit whose
/opt/camdrift/venv/bin/camdrift is replaced by a stub script under tmp_path (the only change). It exits 0 even on
unknown keys, so the tests fail on any output, and a negative control proves they would.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "camdrift@.service"
EXEC = "/opt/camdrift/venv/bin/camdrift"
MAX_EXPOSURE = 2.0

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed"
)


def unit_copy(directory: Path, name: str, text: str | None = None) -> Path:
    """Write the unit (or ``text``) as ``directory/name`` with ExecStart pointing at an existing stub."""
    stub = directory / "bin" / "camdrift"
    stub.parent.mkdir(parents=True, exist_ok=True)
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    text = UNIT.read_text() if text is None else text
    assert text.count(EXEC) == 1, "the unit should name the agent's executable exactly once"
    path = directory / name
    path.write_text(text.replace(EXEC, str(stub)))
    return path


def verify(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def exposure(path: Path) -> tuple[float, subprocess.CompletedProcess]:
    """Overall exposure of the unit file at ``path`` (0 = locked down, 10 = exposed), and the raw run."""
    run = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    m = re.search(rf"Overall exposure level for {re.escape(path.name)}: (\d+\.\d+) (\w+)", run.stdout)
    assert m, run.stdout
    return float(m.group(1)), run


def test_template_and_instance_verify_silently(tmp_path: Path) -> None:
    run = verify(unit_copy(tmp_path, "camdrift@.service"), unit_copy(tmp_path, "camdrift@cam1.service"))
    assert run.returncode == 0
    assert run.stdout + run.stderr == ""


def test_verify_would_catch_an_unknown_key(tmp_path: Path) -> None:
    text = UNIT.read_text().replace("[Service]\n", "[Service]\nWatchdogSecs=30\n", 1)
    run = verify(unit_copy(tmp_path, "camdrift@cam1.service", text))
    assert "WatchdogSecs" in run.stdout + run.stderr


def test_instance_security_exposure_is_ok(tmp_path: Path) -> None:
    score, run = exposure(unit_copy(tmp_path, "camdrift@cam1.service"))
    assert score <= MAX_EXPOSURE, run.stdout
    # systemd's own gate agrees (threshold in tenths).
    gate = subprocess.run(
        [
            "systemd-analyze",
            "security",
            "--offline=true",
            f"--threshold={int(MAX_EXPOSURE * 10)}",
            "--no-pager",
        ]
        + [str(tmp_path / "camdrift@cam1.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert gate.returncode == 0, gate.stdout


def test_exposure_parser_sees_an_unhardened_unit(tmp_path: Path) -> None:
    bare = "[Unit]\nDescription=x\n\n[Service]\nType=notify\nExecStart=" + EXEC + "\n"
    score, _ = exposure(unit_copy(tmp_path, "camdrift@cam1.service", bare))
    assert score > MAX_EXPOSURE


def directives(text: str) -> dict[str, list[str]]:
    """``Section.Key`` -> values in file order (systemd keys may repeat)."""
    out: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.setdefault(f"{section}.{key}", []).append(value)
    return out


def test_unit_keeps_the_agreed_interface() -> None:
    d = directives(UNIT.read_text())
    one = {k: v[-1] for k, v in d.items()}
    assert one["Service.Type"] == "notify"
    assert one["Service.ExecStart"] == EXEC + " run --config %E/camdrift/%i.toml"
    assert one["Service.Restart"] == "on-failure"
    assert "2" in one["Service.RestartPreventExitStatus"].split()
    assert one["Service.TimeoutStopSec"] == "20"
    assert "-HUP" in one["Service.ExecReload"]
    assert "Service.WatchdogSec" in one
    # Static user, so technicians can write baselines the service reads (see the unit's comment).
    assert one["Service.User"] == "camdrift" and "Service.DynamicUser" not in one
    assert {"video", "camdrift-tap"} <= set(one["Service.SupplementaryGroups"].split())
    # numba needs W+X memory; /dev/video* needs no PrivateDevices=; the tap needs /dev/shm (no PrivateIPC=).
    assert one["Service.MemoryDenyWriteExecute"] == "no"
    assert one.get("Service.PrivateDevices", "no") == "no"
    assert one["Service.DeviceAllow"] == "char-video4linux rw" and one["Service.DevicePolicy"] == "closed"
    assert "Service.PrivateIPC" not in one
    assert one["Service.StateDirectory"] == "camdrift/%i"
    # The numba cache lives in the CacheDirectory, shared by all instances of the box.
    cache = one["Service.CacheDirectory"]
    env = dict(kv.split("=", 1) for v in d["Service.Environment"] for kv in v.split())
    assert env["NUMBA_CACHE_DIR"].startswith(f"%C/{cache}/")
    assert one["Service.LoadCredential"] == "mqtt-password:/etc/camdrift/credentials/%i.mqtt-password"
    for key in ("MemoryMax", "CPUQuota", "CPUWeight", "Nice", "IOSchedulingClass"):
        assert f"Service.{key}" in one, key
    assert one["Service.IOSchedulingClass"] == "idle"
