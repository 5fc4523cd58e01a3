"""``camdrift verify``: decides as the agent does (its engine, its 3-windows-in-a-row rule), passes healthy clips
of other seeds, fails each change with exit 1 and the agent's cause, refuses a clip too short for the rule, exit
codes 0 / 1 / 2 as ``--help`` documents them, and every refused baseline or mismatched source named without a
traceback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from camdrift.agent.cli import main as cli_main
from camdrift.agent.reference.baseline import pack_npz
from camdrift.agent.sim.scenarios import SCENARIOS, scenario_stream
from tests.calibration.cli_fixtures import (
    SMALL,
    assert_clean_failure,
    camdrift,
    frames,
    line_dir_fixture,  # noqa: F401  (the line_dir fixture)
    write_folder,
    write_video,
)

CLIP = 40  # frames of a technician's clip here: two windows of 20
CHANGES = ("gain_step_dark", "gamma", "white_balance", "defocus", "camera_shift_rotated", "noise")


def _healthy(seed: int, n: int = CLIP) -> str:
    """A healthy clip of the line, rendered by the ``synthetic:`` source (seed never used to calibrate)."""
    return f"synthetic:stationary?seed={seed}&size=160x120&fps=5&frames={n}"


@pytest.fixture(scope="module", name="line_png")
def line_png_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A baseline calibrated by the CLI from 300 frames of the line (seed 1), and PNG folders of clips of
    another seed (21) with each change of :data:`CHANGES` from the first frame, plus a 21-frame healthy clip."""
    d = tmp_path_factory.mktemp("line_png")
    proc = camdrift(
        "calibrate", "--source", _healthy(1, 300), "--frames", 300, "--out", "ref.npz", *SMALL, cwd=d
    )
    assert proc.returncode == 0, proc.stderr
    for change in CHANGES:
        clip = scenario_stream(change, CLIP, seed=21, size=(160, 120), fps=5.0, onset_frame=0)
        write_folder(d / change, [f.image for f in clip])
    write_folder(
        d / "short", [f.image for f in scenario_stream("stationary", 21, seed=21, size=(160, 120), fps=5.0)]
    )
    return d


def _verify_png(d: Path, source: str, *extra: str):
    return camdrift("verify", "--baseline", "ref.npz", "--source", source, *extra, cwd=d)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_healthy_clips_of_other_seeds_pass(line_png: Path, seed: int) -> None:
    proc = _verify_png(line_png, _healthy(seed), "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS" in proc.stdout and "decided as the agent decides" in proc.stdout


def test_twenty_healthy_clips_never_fail(line_png: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the CLI's entry point in this process (the same argument parsing, command and exit code; no interpreter
    # start-up per clip)
    verdicts = []
    for seed in range(100, 120):
        code = cli_main(
            ["verify", "--baseline", str(line_png / "ref.npz"), "--source", _healthy(seed), "--json"]
        )
        doc = json.loads(capsys.readouterr().out)
        assert code == (1 if doc["verdict"] == "fail" else 0), doc
        verdicts.append(doc["verdict"])
    assert verdicts.count("fail") == 0, verdicts


@pytest.mark.parametrize("change", CHANGES)
def test_each_change_fails_with_the_agents_cause(line_png: Path, change: str) -> None:
    proc = _verify_png(line_png, f"dir:{change}?fps=5", "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "fail" and doc["event"]["kind"] == "drift.started" and doc["persistence"] == 3
    assert doc["causes"][0]["code"] == SCENARIOS[change].expected_cause, doc["causes"]
    first = next(r for r in doc["rows"] if r["name"] == doc["event"]["group"])
    assert first["verdict"] == "fail" and first["run"] >= 3
    assert (
        f"{first['name']} above its drift threshold for {first['run']} consecutive windows" in doc["reason"]
    )


def test_clip_too_short_for_the_agents_rule_cannot_run(line_png: Path) -> None:
    # 21 frames fill 2 windows of 20: not enough for 3 in a row, so neither PASS nor FAIL can be said
    proc = _verify_png(line_png, "dir:short?fps=5", "--quiet")
    assert_clean_failure(proc, "21 frames make 2 full windows of 20", "needs at least 22 frames")
    proc = _verify_png(line_png, f"dir:{CHANGES[0]}?fps=5", "--frames", "21")
    assert_clean_failure(proc, "--frames 21", "3 consecutive windows", "at least 22 frames")
    assert _verify_png(line_png, f"dir:{CHANGES[0]}?fps=5", "--frames", "22", "--quiet").returncode == 1


def test_help_documents_the_rule_and_the_exit_codes() -> None:
    proc = camdrift("verify", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    for words in (
        "3 consecutive windows above its drift threshold",
        "0 PASS, or PASS with warnings",
        "1 FAIL: the agent would have started a drift episode",
        "2 could not run",
        "too short for the agent's rule",
    ):
        assert words in text, words


def _verify(line_dir: Path, video: str, *extra: str):
    return camdrift("verify", "--baseline", "ref.npz", "--source", f"video:{video}", *extra, cwd=line_dir)


def test_same_scene_passes(line_dir: Path) -> None:
    proc = _verify(line_dir, "same.avi", "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS" in proc.stdout
    ids = ("psi.", "shift.", "grid.", "displacement")
    lines = [ln for ln in proc.stdout.splitlines() if ln.split() and ln.split()[-1].startswith(ids)]
    assert len(lines) == 19 and all(" pass " in ln for ln in lines)
    assert proc.stdout.splitlines()[1] == "PASS: the camera matches its baseline"


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


def test_text_output_says_the_verdict_and_cause_first_then_the_rule(line_dir: Path) -> None:
    proc = _verify(line_dir, "dark.avi", "--quiet", "--frames", "30")
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[1] == "FAIL: lighting"  # the headline, in plain words, right after what was verified
    assert lines[2].startswith("  likely cause: mean luma -20%")
    assert "for 11 consecutive windows (the agent's rule: 3)" in lines[3]
    assert "the agent would have started a drift episode at frame 21 (4.2 s)" in lines[3]
    assert "30 frames, 11 windows of 20, decided as the agent decides" in proc.stdout
    row = next(ln for ln in lines if ln.startswith("brightness  "))
    assert row.split()[1:4] == [row.split()[1], "fail", "11"] and row.split()[1].endswith("x")
    assert row.rstrip().endswith("shift.brightness") and "lighting" in row


def test_other_resolution_cannot_run(line_dir: Path, tmp_path: Path) -> None:
    write_video(tmp_path / "big.avi", frames(0, 40, size=(320, 240)))
    proc = camdrift("verify", "--baseline", line_dir / "ref.npz", "--source", f"video:{tmp_path / 'big.avi'}")
    assert_clean_failure(proc, "resolution 320x240 differs from the baseline's 160x120")


def test_too_short_capture_cannot_run(line_dir: Path) -> None:
    assert_clean_failure(_verify(line_dir, "same.avi", "--frames", "5"), "--frames 5", "at least 22 frames")
    write_video(line_dir / "short.avi", frames(0, 10))
    assert_clean_failure(_verify(line_dir, "short.avi"), "10 frames make 0 full windows of 20")


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
