"""The damaged baselines the issue lists, through the commands a technician and systemd run: ``verify`` and
``run --check-config`` exit 2 (could not run, never 1 "drift found") with one line naming the file and why."""

from __future__ import annotations

import os
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from camdrift.agent.reference.baseline import BaselineError, load_baseline
from tests.fuzz.damaged import GOLDEN, cases
from tests.fuzz.support import assert_one_line, no_hang, run_cli

CASES = cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_verify_refuses_a_damaged_baseline_with_exit_2_and_one_line(tmp_path: Path, name: str) -> None:
    data, reason = CASES[name]
    path = tmp_path / name
    path.write_bytes(data)
    code, _out, err = run_cli(
        ["verify", "--baseline", str(path), "--source", "synthetic:stationary", "--quiet"]
    )
    assert code == 2, err
    assert_one_line(err, str(path))
    assert reason in err


@pytest.mark.parametrize("name", ["lzma.npz", "shape-1e12.npz", "drift-nan.npz", "deep-header.npz"])
def test_run_check_config_refuses_a_damaged_baseline_with_exit_2(tmp_path: Path, name: str) -> None:
    data, _reason = CASES[name]
    path = tmp_path / name
    path.write_bytes(data)
    argv = ["run", "--source", "synthetic:stationary", "--baseline", str(path), "--state-dir", str(tmp_path)]
    code, _out, err = run_cli([*argv, "--check-config"])
    assert code == 2, err
    assert str(path) in err and "Traceback" not in err


def test_a_fifo_named_as_the_baseline_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "baseline.npz"
    os.mkfifo(fifo)
    with no_hang(5):
        code, _out, err = run_cli(["verify", "--baseline", str(fifo), "--source", "synthetic:stationary"])
    assert code == 2
    assert_one_line(err, str(fifo))
    assert "FIFO" in err
    with no_hang(5), pytest.raises(BaselineError, match="is a FIFO, want a regular file"):
        load_baseline(fifo)


def test_a_deflated_member_declaring_512_mib_is_refused_before_it_is_inflated(tmp_path: Path) -> None:
    """1.2 MB on disk, 512 MiB declared: refused from the declared size, with far less memory than it holds."""
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(GOLDEN) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
        with dst.open("padding.npy", "w") as f:  # a float64 .npy of 512 MiB zeros, streamed
            header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (67108864,), }"
            header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
            f.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header)
            chunk = bytes(1 << 20)
            for _ in range(512):
                f.write(chunk)
    assert path.stat().st_size < 2_000_000
    tracemalloc.start()
    try:
        with pytest.raises(BaselineError, match="over the .* byte limit"):
            load_baseline(path)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20


def test_out_dev_full_is_refused_and_the_device_stays(tmp_path: Path) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    before = os.stat("/dev/full")
    code, _out, err = run_cli(
        ["calibrate", "--source", "synthetic:stationary", "--frames", "30", "--out", "/dev/full", "--quiet"]
    )
    assert code == 2
    assert_one_line(err, "/dev/full")
    after = os.stat("/dev/full")
    assert (after.st_mode, after.st_rdev, after.st_ino) == (before.st_mode, before.st_rdev, before.st_ino)
