"""Durable file writes: :func:`atomic_write_bytes`, the one atomic writer every saved file goes through."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` all at once: readers see the old file or the new one, never a part.

    The bytes go to a temporary file in the same folder (a rename is only atomic within one file system),
    which is fsync'ed, renamed over ``path`` with :func:`os.replace`, and then the folder is fsync'ed so that
    the rename itself survives a power cut. On any failure the temporary file is removed and ``path`` keeps
    its old content. The new file is readable by others (mode 0644), not mkstemp's 0600, so a service user
    can read a file an operator wrote.
    """
    path = Path(path)
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
