"""``camdrift calibrate`` as a technician runs it: real videos and image folders, every bad input a clean exit 2."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from camdrift.agent.reference.baseline import load_baseline
from camdrift.agent.sim.line import Drift
from tests.calibration.cli_fixtures import (
    REF_FRAMES,
    SIZE,
    SMALL,
    assert_clean_failure,
    camdrift,
    frames,
    line_dir_fixture,  # noqa: F401  (the line_dir fixture)
    write_folder,
    write_video,
)


def test_calibrate_from_video_writes_a_baseline_and_a_summary(line_dir: Path) -> None:
    b = load_baseline(line_dir / "ref.npz")
    assert b.frame_count == REF_FRAMES
    assert b.resolution == SIZE and b.pixel_format == "bgr8" and b.roi is None
    assert b.source == "video:ref.avi"
    assert b.thresholds.method == "bootstrap-tail" and b.thresholds.window == 20
    assert b.reference_frames is not None and b.reference_frames.hist.shape == (REF_FRAMES, 4, 256)
    assert b.thresholds.forced == () and b.thresholds.min_frames <= REF_FRAMES and b.thresholds.widening > 1


def test_a_reference_below_the_minimum_is_refused_with_the_footage_it_needs(line_dir: Path) -> None:
    args = ["calibrate", "--source", "video:ref.avi", "--frames", 150, "--out", "short.npz", *SMALL]
    proc = camdrift(*args, cwd=line_dir)
    # 150 frames are less than 10 windows of 20 (the window default and the README agree on 20)
    assert_clean_failure(
        proc,
        "reference of 150 analysed frames (30 s at 5 fps) is below the minimum of 200 frames",
        "capture at least 10 s more (--force writes it anyway)",
        code=1,
    )
    assert len(proc.stderr.strip().splitlines()) == 1 and not (line_dir / "short.npz").exists()
    forced = camdrift(*args, "--force", cwd=line_dir)
    assert forced.returncode == 0, forced.stderr
    assert (
        "FORCED (calibrated with --force): too_few_frames: reference of 150 analysed frames" in forced.stdout
    )
    short, long = load_baseline(line_dir / "short.npz"), load_baseline(line_dir / "ref.npz")
    assert short.thresholds.forced and short.thresholds.forced[0].startswith(
        "too_few_frames: reference of 150"
    )
    assert (
        np.isfinite(short.thresholds.drift).all() and (short.thresholds.warn < short.thresholds.drift).all()
    )
    # the shorter reference knows its thresholds less well: wider, never narrower
    assert short.thresholds.widening > long.thresholds.widening
    show = camdrift("baseline", "show", "short.npz", cwd=line_dir)
    assert "FORCED: too_few_frames" in show.stdout


def test_replicates_has_a_sane_minimum(line_dir: Path, tmp_path: Path) -> None:
    args = ["calibrate", "--source", "video:ref.avi", "--frames", 300, "--out", tmp_path / "b.npz"]
    proc = camdrift(*args, "--replicates", "1", "--quiet", cwd=line_dir)
    assert_clean_failure(proc, "--replicates", "want an integer in 200..100000, got '1'")
    assert not (tmp_path / "b.npz").exists()


def test_progress_goes_to_stderr(line_dir: Path, tmp_path: Path) -> None:
    args = ["calibrate", "--source", f"video:{line_dir / 'ref.avi'}", "--frames", 120, "--window", "10"]
    proc = camdrift(*args, "--replicates", "200", "--thumb", "16", "--grid", "4", "--out", tmp_path / "b.npz")
    assert proc.returncode == 0, proc.stderr
    assert "100% 120/120 frames" in proc.stderr
    assert "100% 120/120" not in proc.stdout  # stdout keeps only the summary


def test_calibrate_from_an_image_folder_with_roi_and_duration(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "train", frames(0, 130))
    proc = camdrift(
        "calibrate",
        "--source",
        f"dir:{folder}?fps=5",
        "--duration",
        "24s",  # 120 frames at 5 fps cover 24 s of stream time
        "--roi",
        "10,20,120,80",
        "--camera",
        "line-7",
        "--out",
        tmp_path / "train.npz",
        *SMALL,
        "--window",
        "10",
    )
    assert proc.returncode == 0, proc.stderr
    b = load_baseline(tmp_path / "train.npz")
    assert b.roi == (10, 20, 120, 80) and b.camera_id == "line-7"
    assert b.frame_count == 120


def test_size_change_mid_capture_is_skipped_and_counted(tmp_path: Path) -> None:
    images = frames(0, 110)
    images[50] = cv2.resize(images[50], (320, 240))
    images[51] = cv2.resize(images[51], (320, 240))
    folder = write_folder(tmp_path / "mixed", images)
    args = ["calibrate", "--source", f"dir:{folder}", "--frames", 200, "--out", tmp_path / "b.npz", *SMALL]
    proc = camdrift(*args, "--window", "6")
    # the folder ends before the 200 frames asked: an error saying what it got, never a silent short baseline
    assert_clean_failure(proc, f"dir:{folder} ended after 108 of 200 analysed frames", code=1)
    assert not (tmp_path / "b.npz").exists()
    proc = camdrift(*args, "--window", "6", "--force")
    assert proc.returncode == 0, proc.stderr
    assert "2 frames skipped (2 wrong size)" in proc.stdout
    assert "FORCED (calibrated with --force): source_ended" in proc.stdout
    b = load_baseline(tmp_path / "b.npz")
    assert b.frame_count == 108 and b.thresholds.forced[0].startswith("source_ended: ")


def test_black_and_blurred_frames_are_named(tmp_path: Path) -> None:
    images = frames(0, 120)
    for i in range(10, 14):
        images[i] = np.zeros_like(images[i])
    for i in range(30, 36):
        images[i] = cv2.GaussianBlur(images[i], (0, 0), 6.0)
    folder = write_folder(tmp_path / "bad", images)
    proc = camdrift(
        "calibrate",
        "--source",
        f"dir:{folder}",
        "--frames",
        120,
        "--out",
        tmp_path / "b.npz",
        *SMALL,
        "--window",
        "6",
    )
    assert proc.returncode == 0, proc.stderr
    assert "4 of 120 frames are black" in proc.stdout
    assert "6 of 116 frames are blurred" in proc.stdout
    assert load_baseline(tmp_path / "b.npz").frame_count == 116  # black frames left out


def test_static_scene_is_refused_unless_forced(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "still", frames(0, 1) * 120)
    out = tmp_path / "b.npz"
    proc = camdrift("calibrate", "--source", f"dir:{folder}", "--frames", 120, "--out", out, *SMALL)
    assert_clean_failure(proc, "the frames do not change", "(--force writes it anyway)", code=1)
    assert not out.exists()


def test_too_few_frames_is_refused(line_dir: Path, tmp_path: Path) -> None:
    proc = camdrift(
        "calibrate",
        "--source",
        f"video:{line_dir / 'ref.avi'}",
        "--frames",
        50,
        "--out",
        tmp_path / "b.npz",
        *SMALL,
    )
    assert_clean_failure(
        proc,
        "reference of 50 analysed frames (10 s at 5 fps) is below the minimum of 200",
        "30 s more",
        code=1,
    )


def test_bad_inputs_exit_2_with_a_message_naming_the_culprit(line_dir: Path, tmp_path: Path) -> None:
    ref = f"video:{line_dir / 'ref.avi'}"
    out = tmp_path / "b.npz"
    cases = [
        (["--source", "video:/nonexistent/cam.avi", "--frames", 200, "--out", out], ["/nonexistent/cam.avi"]),
        (["--source", "ftp://cam", "--frames", 200, "--out", out], ["ftp://cam", "unknown scheme"]),
        (
            ["--source", ref, "--frames", 200, "--out", tmp_path / "nope" / "b.npz"],
            ["--out", "does not exist"],
        ),
        (["--source", ref, "--frames", 200, "--out", tmp_path], ["--out", "is a folder"]),
        (["--source", ref, "--frames", 200, "--roi", "100,100,200,200", "--out", out], ["160x120", "roi"]),
        (["--source", ref, "--frames", 200, "--roi", "1,2,3", "--out", out], ["--roi", "x,y,w,h"]),
        (["--source", ref, "--duration", "ten minutes", "--out", out], ["--duration"]),
        (["--source", ref, "--frames", 0, "--out", out], ["--frames"]),
        (["--frames", 200, "--out", out], ["--source"]),
        (["--source", ref, "--frames", 200, "--config", tmp_path / "none.toml", "--out", out], ["none.toml"]),
        (
            ["--source", ref, "--frames", 200, "--pixel-format", "yuv9", "--out", out],
            ["pixel_format", "yuv9"],
        ),
    ]
    for args, needles in cases:
        assert_clean_failure(camdrift("calibrate", *args, *SMALL), *needles)
    assert not out.exists()


def test_config_file_supplies_source_camera_and_roi(line_dir: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "agent.toml"
    cfg.write_text(
        f'[camera]\nid = "press-2"\n[source]\nuri = "video:{line_dir / "ref.avi"}"\nroi = [0, 0, 160, 100]\n'
    )
    proc = camdrift("calibrate", "--config", cfg, "--frames", 200, "--out", tmp_path / "b.npz", *SMALL)
    assert proc.returncode == 0, proc.stderr
    b = load_baseline(tmp_path / "b.npz")
    assert (b.camera_id, b.roi) == ("press-2", (0, 0, 160, 100))
    cfg.write_text(cfg.read_text() + "[analysis]\nmax_fps = -1\n")
    proc = camdrift("calibrate", "--config", cfg, "--frames", 120, "--out", tmp_path / "c.npz", *SMALL)
    assert_clean_failure(proc, "agent.toml", "analysis.max_fps")


def test_video_at_higher_frame_rate_is_sampled_like_the_agent(tmp_path: Path) -> None:
    write_video(tmp_path / "fast.avi", frames(0, 250, Drift()), fps=25.0)
    proc = camdrift(
        "calibrate", "--source", "video:fast.avi", "--frames", 500, "--out", "b.npz", *SMALL, cwd=tmp_path
    )
    # 250 frames at 25 fps are 10 s: at the agent's 5 fps that is 50 analysed frames, not the 500 asked
    assert_clean_failure(
        proc,
        "video:fast.avi ended after 50 of 500 analysed frames (10.0 s of stream time at --max-fps 5): use "
        "--duration 10s to take all of it at this rate, or --max-fps 25 to analyse every frame of this 25 fps "
        "source (250 frames)",
        code=1,
    )
    every = ["calibrate", "--source", "video:fast.avi", "--max-fps", "25", "--frames", 250, "--out", "e.npz"]
    proc = camdrift(*every, *SMALL, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert load_baseline(tmp_path / "e.npz").frame_count == 250
    help_text = camdrift("calibrate", "--help").stdout
    assert "counts ANALYSED frames" in help_text and "1  refused, nothing written" in help_text
