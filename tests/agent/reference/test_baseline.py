"""Baseline file: round trip, refusals with a reason, atomic write, and the golden v1 file.

Regenerate the golden file only on purpose: ``CAMDRIFT_REGEN_GOLDEN=1 pytest tests/agent/reference/test_baseline.py``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest

from camdrift.agent.reference.baseline import (
    FORMAT_VERSION,
    Baseline,
    BaselineError,
    load_baseline,
    pack_npz,
    save_baseline,
)
from camdrift.calibration.calibrate.build import reference_frames
from tests.agent.drift_fixtures import small_baseline, stats_of

GOLDEN = Path(__file__).parent / "data" / "baseline_v1.npz"


def _equal(a: Baseline, b: Baseline) -> None:
    for f in dataclasses.fields(Baseline):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "thresholds":
            for g in dataclasses.fields(x):
                xv, yv = getattr(x, g.name), getattr(y, g.name)
                if isinstance(xv, np.ndarray):
                    np.testing.assert_array_equal(xv, yv)
                else:
                    assert xv == yv, g.name
        elif isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)
            assert x.dtype == y.dtype
        else:
            assert x == y, f.name


def test_round_trip(tmp_path: Path) -> None:
    b = small_baseline()
    path = tmp_path / "b.npz"
    save_baseline(b, path)
    back = load_baseline(path)
    _equal(b, back)
    assert back.baseline_id == b.baseline_id
    assert os.listdir(tmp_path) == ["b.npz"]  # the temp file was renamed, none left behind


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path: Path) -> None:
    b = small_baseline()
    path = tmp_path / "b.npz"
    save_baseline(b, path)
    before = path.read_bytes()
    bad = dataclasses.replace(b, edges=object())  # cannot be serialised
    with pytest.raises((TypeError, ValueError)):
        save_baseline(bad, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["b.npz"]


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "b.npz"
    save_baseline(small_baseline(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BaselineError, match="truncated"):
        load_baseline(path)


def _rewrite(path: Path, edit) -> None:
    with np.load(path, allow_pickle=False) as z:
        header = json.loads(z["header"].tobytes())
        arrays = {k: z[k] for k in z.files if k != "header"}
    edit(header, arrays)
    path.write_bytes(pack_npz(header, arrays))


def test_altered_content_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "b.npz"
    save_baseline(small_baseline(), path)

    def nudge(header: dict, arrays: dict) -> None:
        arrays["scalar_mean"] = arrays["scalar_mean"] + 1e-9

    _rewrite(path, nudge)
    with pytest.raises(BaselineError, match="hash mismatch"):
        load_baseline(path)


def test_future_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "b.npz"
    save_baseline(small_baseline(), path)
    _rewrite(path, lambda h, a: h.update(version=FORMAT_VERSION + 1))
    with pytest.raises(BaselineError, match=f"version {FORMAT_VERSION + 1} is not supported"):
        load_baseline(path)


def test_not_a_baseline_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.npz"
    np.savez(other, x=np.arange(3))
    with pytest.raises(BaselineError, match="no header"):
        load_baseline(other)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(BaselineError, match="not a readable"):
        load_baseline(text)
    foreign = tmp_path / "foreign.npz"
    foreign.write_bytes(pack_npz({"format": "something-else", "version": 1}, {"x": np.zeros(2)}))
    with pytest.raises(BaselineError, match="not a baseline file"):
        load_baseline(foreign)


def test_check_frames_refuses_a_mismatch() -> None:
    b = small_baseline()
    b.check_frames(b.pixel_format, b.resolution, b.roi)
    with pytest.raises(BaselineError, match="resolution 320x240 differs"):
        b.check_frames(b.pixel_format, (320, 240), b.roi)
    with pytest.raises(BaselineError, match="pixel format"):
        b.check_frames("gray8", b.resolution, b.roi)
    with pytest.raises(BaselineError, match="roi"):
        b.check_frames(b.pixel_format, b.resolution, (0, 0, 10, 10))


def test_golden_v1_file_loads() -> None:
    if os.environ.get("CAMDRIFT_REGEN_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        save_baseline(small_baseline(seed=3, n=120), GOLDEN)
    b = load_baseline(GOLDEN)
    assert b.format_version == 1
    assert b.camera_id == "cam-test"
    assert b.thumbnail.shape == (16, 16)
    assert b.thresholds.names[0] == "psi.blue"
    assert b.thresholds.method == "chi2"  # 120 frames is below the bootstrap's minimum
    assert np.isclose(b.ref_props.sum(axis=1), 1.0).all()


def test_golden_v1_file_saves_back_unchanged(tmp_path: Path) -> None:
    """Loading and saving keeps the file's content: the same header (kernel parameters as top-level keys),
    the same arrays, the same content hash."""
    b = load_baseline(GOLDEN)
    assert b.kernel.resolution == b.resolution and b.kernel.thumb_size == (16, 16)
    save_baseline(b, tmp_path / "again.npz")
    with (
        np.load(GOLDEN, allow_pickle=False) as old,
        np.load(tmp_path / "again.npz", allow_pickle=False) as new,
    ):
        assert json.loads(old["header"].tobytes()) == json.loads(new["header"].tobytes())
        assert sorted(old.files) == sorted(new.files)
        for name in old.files:
            np.testing.assert_array_equal(old[name], new[name])
    assert load_baseline(tmp_path / "again.npz").baseline_id == b.baseline_id


def test_check_source_names_what_the_configuration_changes() -> None:
    b = small_baseline()
    b.check_source(b.pixel_format, 1, None)  # stride 1 and no roi: the baseline's own
    b.check_source(b.pixel_format, b.stride, b.roi)
    with pytest.raises(BaselineError, match="was calibrated on bgr8 frames but source.pixel_format is gray8"):
        b.check_source("gray8", 1, None)
    with pytest.raises(BaselineError, match="stride 1 but analysis.stride is 2"):
        b.check_source(b.pixel_format, 2, None)
    with pytest.raises(BaselineError, match=r"roi None but source.roi is \(0, 0, 8, 8\)"):
        b.check_source(b.pixel_format, 1, (0, 0, 8, 8))


def test_the_id_is_the_files_whether_or_not_its_frames_are_loaded(tmp_path: Path) -> None:
    # the agent loads without the per-frame features; its baseline.loaded and saved states must name the file
    # by the id calibrate and verify print
    frames = reference_frames(stats_of(3, 120))
    with_frames = dataclasses.replace(small_baseline(), reference_frames=frames)
    path = tmp_path / "b.npz"
    save_baseline(with_frames, path)
    full, lean = load_baseline(path), load_baseline(path, with_frames=False)
    assert full.reference_frames is not None and lean.reference_frames is None
    assert full.baseline_id == lean.baseline_id == with_frames.baseline_id
