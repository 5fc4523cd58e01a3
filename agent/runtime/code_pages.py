"""Returning the pages of LLVM's code that only loading a kernel needs to the kernel once the kernels are loaded.

numba links every kernel it loads from its cache through LLVM, which runs ~65 MiB of ``libllvmlite``'s machine
code once; those pages then stay in the agent's resident set (measured: RSS 211 MiB with them, ~145 MiB
without) although analysing a frame never runs them. They are clean file-backed pages, so dropping this
process's mapping of them (``madvise(MADV_DONTNEED)``) loses nothing: if a kernel is ever loaded or compiled
again, the pages are read back from the page cache or the file. Only mappings that are not writable and hold no
private (copy-on-write) page are touched: the relocated data of the library is private memory and stays.
"""

from __future__ import annotations

import ctypes
import logging
import re
import sys
from collections.abc import Callable
from typing import NamedTuple

log = logging.getLogger(__name__)

_MADV_DONTNEED = 4
_HEADER = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \S+\s*(.*)$")
LIBRARY = "libllvmlite"


class Mapping(NamedTuple):
    """One mapping of ``/proc/<pid>/smaps``: addresses [start, end), sizes in KiB."""

    start: int
    end: int
    perms: str
    path: str
    rss_kib: int
    anonymous_kib: int


def parse_smaps(text: str) -> list[Mapping]:
    """The mappings of an ``smaps`` file's text, in file order (a mapping without Rss/Anonymous lines: 0)."""
    rows: list[list] = []
    for line in text.splitlines():
        m = _HEADER.match(line)
        if m:
            rows.append([int(m[1], 16), int(m[2], 16), m[3], m[4].strip(), 0, 0])
        elif rows and line.startswith("Rss:"):
            rows[-1][4] = int(line.split()[1])
        elif rows and line.startswith("Anonymous:"):
            rows[-1][5] = int(line.split()[1])
    return [Mapping(*r) for r in rows]


def droppable(mappings: list[Mapping], library: str = LIBRARY) -> list[Mapping]:
    """The mappings of ``library`` (file name starting with it) whose resident pages can be dropped: not
    writable, no private page, something resident."""
    return [
        m
        for m in mappings
        if m.path.rsplit("/", 1)[-1].startswith(library)
        and "w" not in m.perms
        and m.anonymous_kib == 0
        and m.rss_kib > 0
    ]


def _madvise() -> Callable[[int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


def release_loader_pages(smaps: str = "/proc/self/smaps", library: str = LIBRARY) -> int:
    """Drops this process's resident pages of ``library``'s read-only mappings; returns the KiB dropped (0
    where the platform has no ``/proc`` or ``madvise``)."""
    madvise = _madvise()
    if madvise is None:
        return 0
    try:
        with open(smaps, encoding="ascii", errors="replace") as f:
            mappings = parse_smaps(f.read())
    except OSError:
        return 0
    dropped = 0
    for m in droppable(mappings, library):
        if madvise(m.start, m.end - m.start, _MADV_DONTNEED) == 0:
            dropped += m.rss_kib
    return dropped


class LoaderPages:
    """Releases the loader's pages again whenever more kernel specialisations are loaded than at the last
    release. ``loaded``: how many are loaded now (:func:`camdrift.kernels.warm.loaded_specialisations`);
    ``enabled``: False where the process is not the agent's own (an in-process agent's host: its memory is the
    host's to manage, and reading a large host's smaps costs its CPU and GIL)."""

    def __init__(
        self,
        loaded: Callable[[], int],
        release: Callable[[], int] = release_loader_pages,
        enabled: bool = True,
    ) -> None:
        self._loaded = loaded
        self._release = release
        self.enabled = enabled
        self._released_at = 0
        self.released_kib = 0

    def update(self) -> int:
        """Releases if kernels were loaded since the last call that released; returns the KiB dropped now."""
        if not self.enabled:
            return 0
        count = self._loaded()
        if count <= self._released_at:
            return 0
        self._released_at = count
        kib = self._release()
        self.released_kib += kib
        if kib:
            log.debug(
                "%d numba specialisations loaded: %.0f MiB of LLVM code pages released", count, kib / 1024
            )
        return kib
