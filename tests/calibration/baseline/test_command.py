"""``camdrift baseline show | diff`` on real baselines (and the golden v1 file); merge: test_merge.py."""

from __future__ import annotations

from pathlib import Path

from camdrift.agent.reference.baseline import load_baseline
from tests.calibration.cli_fixtures import (
    SMALL,
    assert_clean_failure,
    camdrift,
    line_dir_fixture,  # noqa: F401  (the line_dir fixture)
)

GOLDEN = Path(__file__).parents[2] / "agent" / "reference" / "data" / "baseline_v1.npz"


def _calibrate(d: Path, video: str, out: str, n: int = 120, *extra: str) -> Path:
    proc = camdrift(
        "calibrate", "--source", f"video:{video}", "--frames", n, "--out", out, *SMALL, *extra, cwd=d
    )
    assert proc.returncode == 0, proc.stderr
    return d / out


def test_show_says_what_a_baseline_holds(line_dir: Path) -> None:
    proc = camdrift("baseline", "show", "ref.npz", cwd=line_dir)
    assert proc.returncode == 0, proc.stderr
    b = load_baseline(line_dir / "ref.npz")
    for words in (
        f"format version 2 (median colour ratios), id {b.baseline_id}",
        "source video:ref.avi, 300 frames; per-frame features kept (mergeable)",
        "160x120 bgr8, roi whole frame, stride 1",
        "thumbnail 16x16, grid 4x4",
        "bootstrap-tail, window 20 frames at 5 fps, budget one per 30 days at 5 fps",
        "displacement",
    ):
        assert words in proc.stdout, words


def test_show_reads_the_golden_v1_file() -> None:
    proc = camdrift("baseline", "show", GOLDEN)
    assert proc.returncode == 0, proc.stderr
    assert "format version 1 (mean colour ratios; recalibrate for the medians)" in proc.stdout
    assert "camera cam-test" in proc.stdout
    assert "not kept (cannot be merged)" in proc.stdout


def test_diff_names_what_changed(line_dir: Path) -> None:
    dark = _calibrate(line_dir, "dark.avi", "dark.npz", 60, "--force")
    same = _calibrate(line_dir, "same.avi", "same.npz", 60, "--force")
    # 60 frames are below the minimum: show says the baseline was forced, and why
    shown = camdrift("baseline", "show", dark, cwd=line_dir).stdout
    assert "FORCED (calibrated with --force): too_few_frames: reference of 60 analysed frames" in shown
    proc = camdrift("baseline", "diff", "ref.npz", dark, cwd=line_dir)
    assert proc.returncode == 0, proc.stderr
    assert "likely cause: mean luma -20%" in proc.stdout and "lighting" in proc.stdout
    assert "beyond OLD's drift thresholds: brightness -20%" in proc.stdout
    proc = camdrift("baseline", "diff", "ref.npz", same, cwd=line_dir)
    assert proc.returncode == 0, proc.stderr
    assert "within OLD's drift thresholds" in proc.stdout and "likely cause" not in proc.stdout
    proc = camdrift("baseline", "diff", "ref.npz", GOLDEN, cwd=line_dir)
    assert proc.returncode == 0
    assert "camera cam0 -> cam-test" in proc.stdout  # the golden v1 file compares too
    roi = _calibrate(line_dir, "same.avi", "roi_diff.npz", 60, "--force", "--roi", "0,0,80,60")
    proc = camdrift("baseline", "diff", "ref.npz", roi, cwd=line_dir)
    assert proc.returncode == 0
    assert "kernel parameters differ" in proc.stdout and "roi None vs (0, 0, 80, 60)" in proc.stdout
    assert_clean_failure(camdrift("baseline", "diff", "ref.npz", "nope.npz", cwd=line_dir), "NEW nope.npz")
