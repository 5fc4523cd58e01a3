"""``camdrift verify``: passes on the same scene, fails with the right cause on a refocused / darker / shifted
scene, exit codes 0 / 1 / 2, and every refused baseline or mismatched source named without a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from camdrift.agent.reference.baseline import pack_npz
from tests.calibration.cli_fixtures import (
    assert_clean_failure,
    camdrift,
    frames,
    line_dir_fixture,  # noqa: F401  (the line_dir fixture)
    write_video,
)


def _verify(line_dir: Path, video: str, *extra: str):
    return camdrift("verify", "--baseline", "ref.npz", "--source", f"video:{video}", *extra, cwd=line_dir)


def test_same_scene_passes(line_dir: Path) -> None:
    proc = _verify(line_dir, "same.avi", "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS" in proc.stdout
    lines = [
        ln for ln in proc.stdout.splitlines() if ln.startswith(("psi.", "shift.", "grid.", "displacement"))
    ]
    assert len(lines) == 19 and all(" pass " in ln for ln in lines)


@pytest.mark.parametrize(
    ("video", "cause", "statistic"),
    [
        ("defocus.avi", "defocus", "shift.sharpness"),
        ("dark.avi", "lighting", "shift.brightness"),
        ("shifted.avi", "camera_moved", "displacement"),
    ],
)
def test_drift_fails_with_the_right_cause(line_dir: Path, video: str, cause: str, statistic: str) -> None:
    proc = _verify(line_dir, video, "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "fail"
    assert doc["causes"][0]["code"] == cause
    row = next(r for r in doc["rows"] if r["name"] == statistic)
    assert row["verdict"] == "fail" and row["statistic"] > row["drift"] and row["cause"] == cause
    assert doc["windows"] == 21 and doc["frames"] == 40  # default: two windows of 20


def test_text_output_names_the_cause(line_dir: Path) -> None:
    proc = _verify(line_dir, "dark.avi", "--quiet", "--frames", "30")
    assert proc.returncode == 1
    assert "FAIL: drift found" in proc.stdout and "likely cause: mean luma -20%" in proc.stdout
    assert "30 frames, 11 windows of 20" in proc.stdout


def test_other_resolution_cannot_run(line_dir: Path, tmp_path: Path) -> None:
    write_video(tmp_path / "big.avi", frames(0, 40, size=(320, 240)))
    proc = camdrift("verify", "--baseline", line_dir / "ref.npz", "--source", f"video:{tmp_path / 'big.avi'}")
    assert_clean_failure(proc, "resolution 320x240 differs from the baseline's 160x120")


def test_too_short_capture_cannot_run(line_dir: Path) -> None:
    assert_clean_failure(_verify(line_dir, "same.avi", "--frames", "5"), "less than one window of 20")
    write_video(line_dir / "short.avi", frames(0, 10))
    assert_clean_failure(_verify(line_dir, "short.avi"), "10 frames is less than one window")


def _rewrite(src: Path, dst: Path, edit) -> None:
    with np.load(src, allow_pickle=False) as z:
        header = json.loads(z["header"].tobytes())
        arrays = {k: z[k] for k in z.files if k != "header"}
    edit(header, arrays)
    dst.write_bytes(pack_npz(header, arrays))


def test_refused_baselines_exit_2_naming_the_reason(line_dir: Path, tmp_path: Path) -> None:
    good = line_dir / "ref.npz"
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:5000])
    altered = tmp_path / "altered.npz"
    _rewrite(good, altered, lambda h, a: a.update(scalar_mean=a["scalar_mean"] * 1.01))
    future = tmp_path / "future.npz"
    _rewrite(good, future, lambda h, a: h.update(version=99))
    text = tmp_path / "notes.txt"
    text.write_text("not a baseline")
    src = f"video:{line_dir / 'same.avi'}"
    for path, reason in [
        (truncated, "truncated"),
        (altered, "hash mismatch"),
        (future, "version 99 is not supported"),
        (text, "not a readable baseline"),
        (tmp_path / "missing.npz", "no such file"),
        (tmp_path, "is a folder"),
    ]:
        proc = camdrift("verify", "--baseline", path, "--source", src)
        assert_clean_failure(proc, str(path), reason)


def test_json_error_document_and_bad_source(line_dir: Path) -> None:
    proc = camdrift("verify", "--baseline", "ref.npz", "--source", "video:gone.avi", "--json", cwd=line_dir)
    assert_clean_failure(proc, "gone.avi")
    assert json.loads(proc.stdout)["verdict"] == "error"
    assert_clean_failure(camdrift("verify", "--baseline", "ref.npz", cwd=line_dir), "--source")
