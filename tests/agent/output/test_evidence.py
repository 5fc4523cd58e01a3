"""Evidence spool: captures appear whole, stay under the cap, are rate-limited, and carry their version."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from camdrift.agent.output.evidence import (
    EVIDENCE_VERSION,
    CaptureContext,
    EvidenceError,
    EvidenceSpool,
    read_manifest,
)
from camdrift.agent.predictions.flags import flag_note
from camdrift.agent.predictions.outputs import classification
from tests.agent.output.helpers import capture


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


def test_flagged_frame_is_kept_with_its_note_outputs_and_context(tmp_path: Path, photo: np.ndarray) -> None:
    spool = EvidenceSpool(tmp_path)
    context = CaptureContext("b1", "cam1-ep7", "lighting", ("shift.brightness",), ("ok", "scratch"))
    rec = spool.capture_flag(
        camera_id="cam1",
        frame_index=7,
        stream_time=1.4,
        created_at=1.0,
        frame=photo,
        note=flag_note("operator_corrected", frame_id=99, prediction="scratch", corrected="ok"),
        outputs=classification([0.3, 0.7]),
        context=context,
    )
    assert rec.kind == "flag" and rec.reason == "operator_corrected"
    assert (rec.episode_id, rec.baseline_id, rec.cause) == ("cam1-ep7", "b1", "lighting")
    assert (tmp_path / rec.evidence_id / "frame_00.jpg").stat().st_size > 1000
    doc = json.loads((tmp_path / rec.evidence_id / "decision.json").read_text())
    assert (doc["reason_kind"], doc["frame_id"], doc["prediction"], doc["corrected"]) == (
        "operator_corrected",
        "99",
        "scratch",
        "ok",
    )
    assert doc["outputs"][0]["label"] == 1 and doc["class_names"] == ["ok", "scratch"]
    assert doc["context"] == {
        "baseline_id": "b1",
        "episode_id": "cam1-ep7",
        "cause": "lighting",
        "cause_code": None,
        "in_drift": ["shift.brightness"],
    }
    assert spool.records() == [rec]


def test_a_version_1_spool_still_loads(tmp_path: Path, photo: np.ndarray) -> None:
    capture(EvidenceSpool(tmp_path), photo, "ep1", 1, 1.0)
    manifest = tmp_path / "manifest.jsonl"
    old = json.loads(manifest.read_text())
    for key in ("baseline_id", "cause"):  # added by version 2
        del old[key]
    manifest.write_text(json.dumps({**old, "version": 1}) + "\n")
    assert [r.baseline_id for r in EvidenceSpool(tmp_path).records()] == [None]


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


def test_manifest_lines_and_decisions_carry_their_version(tmp_path: Path, photo: np.ndarray) -> None:
    spool = EvidenceSpool(tmp_path)
    rec = capture(spool, photo, "ep1", 1, 1.0)
    line = json.loads((tmp_path / "manifest.jsonl").read_text().splitlines()[0])
    assert line["version"] == EVIDENCE_VERSION == 2 and line["evidence_id"] == rec.evidence_id
    assert json.loads((tmp_path / rec.evidence_id / "decision.json").read_text())["version"] == 2


def test_a_manifest_from_before_versions_still_loads(tmp_path: Path, photo: np.ndarray) -> None:
    capture(EvidenceSpool(tmp_path), photo, "ep1", 1, 1.0)
    manifest = tmp_path / "manifest.jsonl"
    old = json.loads(manifest.read_text())
    del old["version"]  # what agents before the versioned manifest wrote
    manifest.write_text(json.dumps(old) + "\n")
    spool = EvidenceSpool(tmp_path)
    assert [r.evidence_id for r in spool.records()] == ["ep1-f1"]
    assert (tmp_path / "ep1-f1").is_dir()  # not swept as unlisted


def test_a_manifest_of_an_unknown_version_is_refused_and_its_captures_kept(
    tmp_path: Path, photo: np.ndarray
) -> None:
    capture(EvidenceSpool(tmp_path), photo, "ep1", 1, 1.0)
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text(manifest.read_text().replace('"version": 2', '"version": 3'))
    with pytest.raises(
        EvidenceError, match=r"manifest.jsonl: line 1: evidence manifest version 3 is not one"
    ):
        EvidenceSpool(tmp_path)
    assert (tmp_path / "ep1-f1").is_dir()  # a newer agent's capture is not swept away


def test_writes_leave_no_temporary_files(tmp_path: Path, photo: np.ndarray) -> None:
    spool = EvidenceSpool(tmp_path, max_bytes=1 << 30, min_interval_s=0)
    for i in range(3):
        capture(spool, photo, f"ep{i}", i, float(i))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    assert len(read_manifest(tmp_path / "manifest.jsonl")) == 3


def test_a_damaged_manifest_line_is_named_and_its_capture_kept(tmp_path: Path, photo: np.ndarray) -> None:
    spool = EvidenceSpool(tmp_path)
    for i in range(3):
        capture(spool, photo, f"ep{i}", i, float(i))
    manifest = tmp_path / "manifest.jsonl"
    lines = manifest.read_text().splitlines()
    lines[1] = lines[1][:40]  # damaged in place (a disk error, a hand edit)
    manifest.write_text("\n".join(lines) + "\n")
    damaged: list[int] = []
    assert [r.evidence_id for r in read_manifest(manifest, damaged)] == ["ep0-f0", "ep2-f2"] and damaged == [
        2
    ]
    EvidenceSpool(tmp_path)  # the start-up sweep: the folder the damaged line named is not deleted
    assert (tmp_path / "ep1-f1").is_dir()


def test_flags_between_two_offers_each_keep_their_own_capture(tmp_path: Path, photo: np.ndarray) -> None:
    # A burst of flags names the same last-offered frame at the same stream time: none may overwrite another.
    spool = EvidenceSpool(tmp_path)
    reasons = ["false_positive", "uncertain", "dust on the part"]
    records = [
        spool.capture_flag(
            camera_id="cam1",
            frame_index=41,
            stream_time=8.2,
            created_at=1.0 + i,
            frame=photo,
            note=flag_note(reason, frame_id=f"part-{i}"),
        )
        for i, reason in enumerate(reasons)
    ]
    ids = [r.evidence_id for r in records]
    assert ids == ["flag-f41-t8200", "flag-f41-t8200-2", "flag-f41-t8200-3"]
    assert [r.reason for r in spool.records()] == reasons
    for r in records:
        assert json.loads((tmp_path / r.evidence_id / "decision.json").read_text())["reason"] == r.reason
