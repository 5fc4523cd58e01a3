"""Evidence spool: captures appear whole, stay under the cap, are rate-limited, and export for labelling."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from camdrift.agent.output.evidence import EvidenceSpool


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return np.ascontiguousarray(data.chelsea()[:, :, ::-1])


def capture(spool: EvidenceSpool, photo: np.ndarray, episode: str, frame_index: int, t: float):
    return spool.capture_episode(
        camera_id="cam1",
        episode_id=episode,
        frame_index=frame_index,
        stream_time=t,
        created_at=1_700_000_000.0 + t,
        frames=[photo, photo[::-1].copy()],
        histograms={"luma_window": np.arange(10), "luma_reference": np.ones(10)},
        reference_thumbnail=np.full((8, 8), 100.0),
        window_thumbnail=np.full((8, 8), 80.0),
        decision={"psi": 0.4, "threshold": np.float64(0.12), "causes": ("lighting",)},
    )


def test_episode_capture_holds_frames_histograms_and_numbers(tmp_path: Path, photo: np.ndarray) -> None:
    spool = EvidenceSpool(tmp_path)
    rec = capture(spool, photo, "ep1", 100, 20.0)
    assert rec is not None and rec.evidence_id == "ep1-f100"
    d = tmp_path / rec.evidence_id
    frame = cv2.imread(str(d / "frame_00.jpg"))
    assert frame.shape == photo.shape
    assert np.abs(frame.astype(int) - photo).mean() < 4  # JPEG q90 of the real frame
    with np.load(d / "histograms.npz", allow_pickle=False) as h:
        np.testing.assert_array_equal(h["luma_window"], np.arange(10))
    assert '"threshold": 0.12' in (d / "decision.json").read_text()
    assert [r.evidence_id for r in spool.records()] == ["ep1-f100"]
    assert not list(tmp_path.glob(".capture-*"))


def test_one_episode_is_captured_at_a_bounded_rate(tmp_path: Path, photo: np.ndarray) -> None:
    spool = EvidenceSpool(tmp_path, min_interval_s=60.0)
    assert capture(spool, photo, "ep1", 100, 20.0) is not None
    assert capture(spool, photo, "ep1", 110, 50.0) is None  # 30 s later: too soon
    assert capture(spool, photo, "ep2", 111, 50.0) is not None  # another episode
    assert capture(spool, photo, "ep1", 500, 80.0) is not None


def test_size_cap_removes_oldest_first(tmp_path: Path, photo: np.ndarray) -> None:
    probe = capture(EvidenceSpool(tmp_path / "probe"), photo, "p", 0, 0.0)
    spool = EvidenceSpool(tmp_path / "spool", max_bytes=int(probe.bytes * 2.5), min_interval_s=0)
    for i in range(5):
        capture(spool, photo, f"ep{i}", i, float(i))
    kept = [r.evidence_id for r in spool.records()]
    assert kept == ["ep3-f3", "ep4-f4"]
    assert spool.removed == 3
    assert sorted(p.name for p in (tmp_path / "spool").iterdir() if p.is_dir()) == kept


def test_flagged_frame_is_kept_with_its_reason(tmp_path: Path, photo: np.ndarray) -> None:
    spool = EvidenceSpool(tmp_path)
    rec = spool.capture_flag(
        camera_id="cam1",
        frame_index=7,
        stream_time=1.4,
        created_at=1.0,
        frame=photo,
        reason="operator override",
    )
    assert rec.kind == "flag" and rec.reason == "operator override"
    assert (tmp_path / rec.evidence_id / "frame_00.jpg").stat().st_size > 1000


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


def test_leftovers_of_a_crash_are_swept_at_start(tmp_path: Path, photo: np.ndarray) -> None:
    spool = EvidenceSpool(tmp_path)
    capture(spool, photo, "ep1", 1, 1.0)
    (tmp_path / ".capture-abc123").mkdir()  # killed mid-write
    (tmp_path / "ep9-f9").mkdir()  # renamed into place, killed before the manifest line
    (tmp_path / "ep9-f9" / "frame_00.jpg").write_bytes(b"x" * 1000)
    spool = EvidenceSpool(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["ep1-f1"]
    assert [r.evidence_id for r in spool.records()] == ["ep1-f1"]


def test_a_capture_larger_than_the_cap_is_not_named(tmp_path: Path, photo: np.ndarray) -> None:
    spool = EvidenceSpool(tmp_path, max_bytes=1000)
    assert capture(spool, photo, "ep1", 1, 1.0) is None
    assert spool.records() == []
