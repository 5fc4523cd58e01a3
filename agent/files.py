"""Durable and safe file access: :func:`atomic_write_bytes`, the one atomic writer every saved file goes through,
and :func:`open_regular_file`, the one way a loader opens a file it was named (never a FIFO or a device)."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO


class NotRegularFileError(OSError):
    """A path that names a FIFO, a device, a socket or a folder where a regular file is wanted."""


def _kind(mode: int) -> str:
    kinds = (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    )
    for test, name in kinds:
        if test(mode):
            return name
    return "not a regular file"


def not_regular(path: str | Path, mode: int) -> NotRegularFileError:
    """The error for ``path`` whose ``st_mode`` is ``mode`` (its strerror says what it is)."""
    return NotRegularFileError(0, f"is {_kind(mode)}, want a regular file", str(path))


def open_regular_file(path: str | Path) -> BinaryIO:
    """``path`` opened for binary reading, or :class:`NotRegularFileError` if it is not a regular file.

    The file is opened non-blocking first and checked with ``fstat``, so a FIFO never blocks the caller (and no
    race swaps the file between the check and the read). FileNotFoundError and other OSErrors pass through."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise not_regular(path, mode)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def check_writable_target(path: str | Path) -> None:
    """Raise :class:`NotRegularFileError` if ``path`` exists and is not a regular file (a device such as
    ``/dev/full`` or a FIFO must never be replaced by a regular file); a new path or a regular file passes."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        raise not_regular(path, mode)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` all at once: readers see the old file or the new one, never a part.

    The bytes go to a temporary file in the same folder (a rename is only atomic within one file system),
    which is fsync'ed, renamed over ``path`` with :func:`os.replace`, and then the folder is fsync'ed so that
    the rename itself survives a power cut. On any failure the temporary file is removed and ``path`` keeps
    its old content. The new file is readable by others (mode 0644), not mkstemp's 0600, so a service user
    can read a file an operator wrote. A ``path`` that exists and is not a regular file (a device, a FIFO) is
    refused with :class:`NotRegularFileError` and left as it is.
    """
    path = Path(path)
    check_writable_target(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
