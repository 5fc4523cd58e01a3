"""Kernel version 2 changed what a stride > 1 computes; a baseline made under version 1 at stride > 1 is refused
with "recalibrate", while stride-1 baselines (the same statistics in both versions) load and hash as before."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from camdrift.agent.reference.archive import content_digest, pack_npz
from camdrift.agent.reference.baseline import Baseline, BaselineError, _to_parts, load_baseline, save_baseline
from camdrift.kernels import KERNEL_VERSION, KernelParams, frame_stats
from tests.agent.drift_fixtures import small_baseline
from tests.kernels.naive import naive_frame_stats


def _strided(stride: int, version: int) -> Baseline:
    """small_baseline, as if calibrated at ``stride`` with kernel ``version``."""
    b = small_baseline(n=120)
    return dataclasses.replace(b, kernel=dataclasses.replace(b.kernel, stride=stride, kernel_version=version))


def _write_as_v1(b: Baseline, path: Path) -> None:
    """Write ``b`` as camdrift before kernel versions did: no ``kernel_version`` key in the header."""
    header, arrays = _to_parts(b)
    header.pop("kernel_version", None)
    header["sha256"] = content_digest(header, arrays)
    path.write_bytes(pack_npz(header, arrays))


def test_v1_stride2_baseline_is_refused_with_recalibrate(tmp_path: Path) -> None:
    path = tmp_path / "old.npz"
    _write_as_v1(_strided(2, 1), path)
    with pytest.raises(BaselineError) as refused:
        load_baseline(path)
    assert str(refused.value).startswith(f"{path}: recalibrate: made with kernel v1 stride 2")


def test_v1_stride1_baseline_loads_as_current_and_keeps_its_id(tmp_path: Path) -> None:
    b = _strided(1, 1)
    path = tmp_path / "old.npz"
    _write_as_v1(b, path)
    loaded = load_baseline(path)
    assert loaded.kernel.kernel_version == KERNEL_VERSION and loaded.kernel.outdated() is None
    save_baseline(loaded, tmp_path / "again.npz")
    with np.load(tmp_path / "again.npz", allow_pickle=False) as f:
        assert "kernel_version" not in json.loads(f["header"].tobytes())  # stride 1: the file is as before
    assert load_baseline(tmp_path / "again.npz").baseline_id == loaded.baseline_id


def test_current_stride2_baseline_records_its_version_and_loads(tmp_path: Path) -> None:
    b = _strided(2, KERNEL_VERSION)
    save_baseline(b, tmp_path / "new.npz")
    with np.load(tmp_path / "new.npz", allow_pickle=False) as f:
        assert json.loads(f["header"].tobytes())["kernel_version"] == KERNEL_VERSION
    assert load_baseline(tmp_path / "new.npz").kernel == b.kernel


def test_future_kernel_version_is_refused(tmp_path: Path) -> None:
    b = _strided(3, KERNEL_VERSION + 1)
    save_baseline(b, tmp_path / "future.npz")
    with pytest.raises(BaselineError, match=f"recalibrate: made with kernel v{KERNEL_VERSION + 1} stride 3"):
        load_baseline(tmp_path / "future.npz")


def test_new_params_are_current() -> None:
    assert KernelParams().kernel_version == KERNEL_VERSION and KernelParams(stride=4).outdated() is None


def test_stride2_laplacian_is_on_the_sampled_grid() -> None:
    """Stride 2 equals stride 1 on the decimated frame: every statistic, the Laplacian included, sees only the
    sampled quarter of the pixels (a pattern visible only at full resolution is invisible at stride 2)."""
    rng = np.random.default_rng(5)
    frame = rng.integers(0, 256, (61, 83, 3)).astype(np.uint8)
    got = frame_stats(frame, stride=2, thumb_size=(8, 8), grid=4)
    decimated = frame_stats(np.ascontiguousarray(frame[::2, ::2]), thumb_size=(8, 8), grid=4)
    for name, value in decimated._asdict().items():
        np.testing.assert_allclose(getattr(got, name), value, rtol=1e-12, err_msg=name)
    want = naive_frame_stats(frame, stride=2, thumb_size=(8, 8), grid=4)
    assert got.sharpness == pytest.approx(want["sharpness"], rel=1e-12)
    # a one-pixel checkerboard: sharp at stride 1, flat on the stride-2 grid
    checker = (np.indices((40, 40)).sum(axis=0) % 2 * 255).astype(np.uint8)
    board = np.repeat(checker[:, :, None], 3, axis=2)
    assert frame_stats(board).sharpness > 1e5
    assert frame_stats(board, stride=2).sharpness == 0.0
