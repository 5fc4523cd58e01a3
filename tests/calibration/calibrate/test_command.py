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
    proc = camdrift(
        "calibrate", "--source", "video:ref.avi", "--frames", 150, "--out", "again.npz", *SMALL, cwd=line_dir
    )
    assert proc.returncode == 0, proc.stderr
    for words in ("frames used: 150", "thresholds:", "false-alarm budget: one per 30 days", "psi.luma"):
        assert words in proc.stdout
    assert "warning too_few_frames" in proc.stdout.lower()  # 150 < 10 windows of 20: chi2 fallback, said so
    assert load_baseline(line_dir / "again.npz").thresholds.method == "chi2"


def test_progress_goes_to_stderr(line_dir: Path, tmp_path: Path) -> None:
    args = ["calibrate", "--source", f"video:{line_dir / 'ref.avi'}", "--frames", 120, "--window", "20"]
    proc = camdrift(*args, "--replicates", "50", "--thumb", "16", "--grid", "4", "--out", tmp_path / "b.npz")
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
        "24s",  # 121 frames at 5 fps of stream time
        "--roi",
        "10,20,120,80",
        "--camera",
        "line-7",
        "--out",
        tmp_path / "train.npz",
        *SMALL,
    )
    assert proc.returncode == 0, proc.stderr
    b = load_baseline(tmp_path / "train.npz")
    assert b.roi == (10, 20, 120, 80) and b.camera_id == "line-7"
    assert b.frame_count == 121


def test_size_change_mid_capture_is_skipped_and_counted(tmp_path: Path) -> None:
    images = frames(0, 110)
    images[50] = cv2.resize(images[50], (320, 240))
    images[51] = cv2.resize(images[51], (320, 240))
    folder = write_folder(tmp_path / "mixed", images)
    proc = camdrift(
        "calibrate", "--source", f"dir:{folder}", "--frames", 200, "--out", tmp_path / "b.npz", *SMALL
    )
    assert proc.returncode == 0, proc.stderr
    assert "2 frames skipped (2 wrong size)" in proc.stdout
    assert "source_ended" in proc.stdout
    assert load_baseline(tmp_path / "b.npz").frame_count == 108


def test_black_and_blurred_frames_are_named(tmp_path: Path) -> None:
    images = frames(0, 120)
    for i in range(10, 14):
        images[i] = np.zeros_like(images[i])
    for i in range(30, 36):
        images[i] = cv2.GaussianBlur(images[i], (0, 0), 6.0)
    folder = write_folder(tmp_path / "bad", images)
    proc = camdrift(
        "calibrate", "--source", f"dir:{folder}", "--frames", 120, "--out", tmp_path / "b.npz", *SMALL
    )
    assert proc.returncode == 0, proc.stderr
    assert "4 of 120 frames are black" in proc.stdout
    assert "6 of 116 frames are blurred" in proc.stdout
    assert load_baseline(tmp_path / "b.npz").frame_count == 116  # black frames left out


def test_static_scene_is_refused_unless_forced(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "still", frames(0, 1) * 120)
    out = tmp_path / "b.npz"
    proc = camdrift("calibrate", "--source", f"dir:{folder}", "--frames", 120, "--out", out, *SMALL)
    assert_clean_failure(proc, "static_scene", "calibration refused")
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
    assert_clean_failure(proc, "too_few_frames", "50 usable frames is less than 5 windows of 20")


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
    proc = camdrift("calibrate", "--config", cfg, "--frames", 120, "--out", tmp_path / "b.npz", *SMALL)
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
    # 250 frames at 25 fps are 10 s: at the agent's 5 fps that is 50 analysed frames, too few for the window
    assert_clean_failure(proc, "50 usable frames")
