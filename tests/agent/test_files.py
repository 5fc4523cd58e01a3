"""The atomic writer: a reader sees the old file or the new one, never a part, and a written file is durable."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from camdrift.agent import files
from camdrift.agent.files import atomic_write_bytes


def test_new_file_replaces_the_old_and_no_temp_file_is_left(tmp_path: Path) -> None:
    path = tmp_path / "state.npz"
    atomic_write_bytes(path, b"old")
    atomic_write_bytes(path, b"new content")
    assert path.read_bytes() == b"new content"
    assert os.listdir(tmp_path) == ["state.npz"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # readable by the service user, not mkstemp's 0600


def test_a_failed_write_keeps_the_old_file_and_removes_the_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "baseline.npz"
    atomic_write_bytes(path, b"old")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["baseline.npz"]


def test_a_killed_writer_leaves_the_old_file_intact(tmp_path: Path) -> None:
    """SIGKILL between writing the bytes and renaming them over the file: the file still holds the old bytes."""
    path = tmp_path / "baseline.npz"
    path.write_bytes(b"old")
    code = (
        "import os, sys, time; from pathlib import Path; from camdrift.agent import files\n"
        "files.os.replace = lambda *a: time.sleep(60)  # stop just before the rename\n"
        "files.atomic_write_bytes(Path(sys.argv[1]), b'x' * 1_000_000)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code, str(path)])
    try:
        deadline = time.monotonic() + 30
        while not any(p.name.endswith(".tmp") and p.stat().st_size for p in tmp_path.iterdir()):
            assert time.monotonic() < deadline, "the writer never wrote its temp file"
            assert child.poll() is None, "the writer exited early"
            time.sleep(0.05)
        time.sleep(0.2)  # the temp file is fsync'ed and the writer sleeps in place of the rename
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert path.read_bytes() == b"old"


def test_the_file_and_then_its_folder_are_synced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Durable: the bytes are fsync'ed before the rename, and the folder after it (so the rename survives a power
    cut)."""
    path = tmp_path / "b.npz"
    synced: list[tuple[str, bool]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        synced.append(("fsync", stat.S_ISDIR(os.fstat(fd).st_mode)))
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        synced.append(("replace", False))
        real_replace(src, dst)

    monkeypatch.setattr(files.os, "fsync", fsync)
    monkeypatch.setattr(files.os, "replace", replace)
    atomic_write_bytes(path, b"data")
    assert synced == [("fsync", False), ("replace", False), ("fsync", True)]
    assert path.read_bytes() == b"data"


def test_open_regular_file_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(files.NotRegularFileError) as info:
        files.open_regular_file(fifo)  # a plain open() would wait for a writer forever
    assert info.value.strerror == "is a FIFO, want a regular file"
    (tmp_path / "plain").write_bytes(b"abc")
    with files.open_regular_file(tmp_path / "plain") as f:
        assert f.read() == b"abc"
    with pytest.raises(FileNotFoundError):
        files.open_regular_file(tmp_path / "missing")


def test_atomic_write_never_replaces_a_device_or_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "out.npz"
    os.mkfifo(fifo)
    with pytest.raises(files.NotRegularFileError, match="is a FIFO"):
        files.atomic_write_bytes(fifo, b"data")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert os.listdir(tmp_path) == ["out.npz"]  # no temporary file left
    if os.path.exists("/dev/full"):
        with pytest.raises(files.NotRegularFileError, match="is a character device"):
            files.atomic_write_bytes(Path("/dev/full"), b"data")
        assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
