"""``camdrift baseline show | diff | merge`` on real baselines (and the golden v1 file)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

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
        f"format version 1, id {b.baseline_id}",
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
    assert "format version 1" in proc.stdout and "camera cam-test" in proc.stdout
    assert "not kept (cannot be merged)" in proc.stdout


def test_diff_names_what_changed(line_dir: Path) -> None:
    dark = _calibrate(line_dir, "dark.avi", "dark.npz", 60, "--force")
    same = _calibrate(line_dir, "same.avi", "same.npz", 60, "--force")
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


def test_merge_rebuilds_thresholds_from_the_union(line_dir: Path) -> None:
    day = line_dir / "ref.npz"
    night = _calibrate(line_dir, "dark.avi", "night.npz", 60, "--force")
    out = line_dir / "merged.npz"
    proc = camdrift("baseline", "merge", day, night, "--out", out, "--replicates", "200")
    assert proc.returncode == 0, proc.stderr
    assert "merged 2 baselines (360 frames)" in proc.stdout
    a, n, m = load_baseline(day), load_baseline(night), load_baseline(out)
    assert m.frame_count == 360 and m.reference_frames.hist.shape[0] == 360
    assert m.thresholds.method == "bootstrap-tail" and m.thresholds.window == 20
    # The union's reference mean lies between the two conditions', weighted by their frames
    i = m.scalar_names.index("brightness")
    expect = (300 * a.scalar_mean[i] + 60 * n.scalar_mean[i]) / 360
    assert np.isclose(m.scalar_mean[i], expect, rtol=1e-6)
    # and the night capture verifies against the merged reference, not against the day one
    assert (
        camdrift(
            "verify", "--baseline", out, "--source", "video:dark.avi", "--quiet", cwd=line_dir
        ).returncode
        == 0
    )
    assert (
        camdrift(
            "verify", "--baseline", day, "--source", "video:dark.avi", "--quiet", cwd=line_dir
        ).returncode
        == 1
    )


def test_merge_refuses_what_cannot_be_merged(line_dir: Path, tmp_path: Path) -> None:
    lean = _calibrate(line_dir, "same.avi", "lean.npz", 60, "--force", "--no-frames")
    assert load_baseline(lean).reference_frames is None
    proc = camdrift("baseline", "merge", "ref.npz", lean, "--out", tmp_path / "m.npz", cwd=line_dir)
    assert_clean_failure(proc, "lean.npz", "keeps no per-frame features")
    roi = _calibrate(line_dir, "same.avi", "roi.npz", 60, "--force", "--roi", "0,0,80,60")
    proc = camdrift("baseline", "merge", "ref.npz", roi, "--out", tmp_path / "m.npz", cwd=line_dir)
    assert_clean_failure(proc, "roi.npz", "other kernel parameters", "roi None vs (0, 0, 80, 60)")
    proc = camdrift("baseline", "merge", "ref.npz", "--out", tmp_path / "m.npz", cwd=line_dir)
    assert_clean_failure(proc, "two or more")
    assert not (tmp_path / "m.npz").exists()
