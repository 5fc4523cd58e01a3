"""``camdrift evidence list|export``: what a person preparing labels gets from the spool."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from camdrift.agent.cli import main
from camdrift.agent.output.evidence import EvidenceSpool, read_manifest
from camdrift.agent.output.evidence_command import export, parse_since
from tests.agent.output.helpers import capture


def test_export_cli_packs_captures_since_a_time(tmp_path: Path, photo: np.ndarray) -> None:
    spool = EvidenceSpool(tmp_path / "spool", min_interval_s=0)
    capture(spool, photo, "old", 1, 0.0)  # created_at 1_700_000_000
    capture(spool, photo, "new", 2, 7200.0)  # two hours later
    out = tmp_path / "bundle.tar.gz"
    cmd = [
        sys.executable,
        "-m",
        "camdrift.agent.cli",
        "evidence",
        "export",
        "--spool",
        str(tmp_path / "spool"),
    ]
    res = subprocess.run(
        [*cmd, "--since", "2023-11-14T23:13:21Z", "--out", str(out)], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    assert "wrote 1 capture(s)" in res.stdout
    with tarfile.open(out) as tar:
        names = tar.getnames()
        manifest = tar.extractfile("evidence/manifest.jsonl").read().decode()
    assert "evidence/new-f2/frame_00.jpg" in names and not any("old-f1" in n for n in names)
    assert '"evidence_id": "new-f2"' in manifest


def test_export_names_bad_input(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "camdrift.agent.cli", "evidence", "export", "--out", str(tmp_path / "b.tgz")]
    res = subprocess.run([*cmd, "--spool", str(tmp_path / "nope")], capture_output=True, text=True)
    assert res.returncode == 2 and "nope does not exist" in res.stderr and "Traceback" not in res.stderr
    (tmp_path / "s").mkdir()
    res = subprocess.run(
        [*cmd, "--spool", str(tmp_path / "s"), "--since", "yesterday"], capture_output=True, text=True
    )
    assert res.returncode == 2 and "--since must be" in res.stderr


def test_export_bundles_a_manifest_that_reads_back(tmp_path: Path, photo: np.ndarray) -> None:
    spool = EvidenceSpool(tmp_path / "spool", min_interval_s=0)
    capture(spool, photo, "a", 1, 0.0)
    capture(spool, photo, "b", 2, 10.0)
    chosen = export(spool, since=0.0, out=tmp_path / "out" / "bundle.tar.gz")
    assert [r.evidence_id for r in chosen] == ["a-f1", "b-f2"]
    with tarfile.open(tmp_path / "out" / "bundle.tar.gz") as tar:
        tar.extractall(tmp_path / "x", filter="data")
    assert read_manifest(tmp_path / "x/evidence/manifest.jsonl") == spool.records()  # versioned lines
    assert not list((tmp_path / "out").glob(".*"))  # written under a temporary name, then renamed


def test_list_shows_each_capture_and_the_count(tmp_path: Path, photo: np.ndarray, capsys) -> None:
    spool = EvidenceSpool(tmp_path / "spool", min_interval_s=0)
    capture(spool, photo, "ep7", 3, 0.0)
    spool.capture_flag(
        camera_id="cam1", frame_index=9, stream_time=1.0, created_at=0.0, frame=photo, reason="r"
    )
    assert main(["evidence", "list", "--spool", str(tmp_path / "spool")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("2023-11-14 22:13:20  ep7-f3") and "episode" in out[0] and out[0].endswith("ep7")
    assert "flag" in out[1] and out[1].endswith("r")
    assert out[-1] == "2 capture(s)"


def test_since_takes_durations_and_iso_times():
    now = 1_700_000_000.0
    assert parse_since("7d", now) == now - 7 * 86400
    assert parse_since("12h", now) == now - 12 * 3600 and parse_since("1.5m", now) == now - 90
    assert parse_since("2023-11-14T22:13:20Z", now) == now
    assert parse_since("2023-11-14T22:13:20", now) == now  # no zone: UTC
    with pytest.raises(ValueError, match="--since must be a duration like 7d"):
        parse_since("last week", now)
