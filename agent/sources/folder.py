"""Image folders: ``dir:PATH?fps=5&pattern=*.png&watch=1`` -- files in sorted name order, one frame each.

Frame ``k`` is the k-th file taken (rejected files included, so gaps stay visible) and its stream time is
``k / fps``: a folder replays as fast as possible, like a video file. Empty, unreadable and wrong-size files are
counted and skipped with their reason. In watch mode, once the files present are used up, the folder is
listed again every ``poll`` s and new files are taken once their size and mtime held still between two
listings (so a file still being written is not read half-way; writing to a temporary name and renaming it in
is better still). A watching folder that has delivered every file says so (:meth:`FolderSource.idle_waiting`):
it waits for new files, it is not a stalled source.

The source remembers the files it took (name, size and mtime) and the next frame index across ``close`` /
``open``: a reopen (after the folder vanished or could not be listed) resumes with the files it has not taken
yet, and frame indices and stream times keep increasing. A file replaced under a name already taken (another
size or mtime) counts as a new file.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import time

import cv2
import numpy as np

from camdrift.agent.frames import Frame, SourceCounters, SourceEnded, SourceError

log = logging.getLogger(__name__)

Signature = tuple[int, int]  # (size in bytes, mtime in ns) of a file when it was listed

FOLDER_FORMATS = ("bgr8", "rgb8", "gray8", "gray16")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pnm")


def decode_image(data: bytes, pixel_format: str) -> np.ndarray | None:
    """Decodes an image file's bytes into ``pixel_format``; None when OpenCV cannot decode it or the depth is
    wrong (gray16 needs a 16-bit file, the 8-bit formats an 8-bit one)."""
    buf = np.frombuffer(data, np.uint8)
    if pixel_format == "gray16":
        image = cv2.imdecode(buf, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_GRAYSCALE)
        return image if image is not None and image.dtype == np.uint16 else None
    flags = cv2.IMREAD_GRAYSCALE if pixel_format == "gray8" else cv2.IMREAD_COLOR
    image = cv2.imdecode(buf, flags)
    if image is not None and pixel_format == "rgb8":
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return image


class FolderSource:
    """Frames from the image files of a folder (see the module docstring).

    fps: stream-time spacing of the files (frames per second). pattern: shell pattern of the file names to
    take (default: common image suffixes). size: (width, height) every image must have; None takes the size
    of the first good image. poll: seconds between listings in watch mode.
    """

    def __init__(
        self,
        path: str,
        *,
        fps: float = 5.0,
        pattern: str | None = None,
        watch: bool = False,
        size: tuple[int, int] | None = None,
        pixel_format: str = "bgr8",
        poll: float = 0.5,
    ) -> None:
        if pixel_format not in FOLDER_FORMATS:
            raise ValueError(
                f"dir: pixel_format must be one of {', '.join(FOLDER_FORMATS)}, got {pixel_format!r}"
            )
        if not fps > 0:
            raise ValueError(f"dir: fps must be > 0, got {fps!r}")
        self.path = path
        self.fps = float(fps)
        self.pattern = pattern
        self.watch = watch
        self.size = size
        self.pixel_format = pixel_format
        self.poll = poll
        self.counters = SourceCounters()
        self._open = False
        self._pending: list[tuple[str, Signature]] = []
        self._taken: dict[str, Signature] = {}  # files taken (kept across reopens): name -> (size, mtime_ns)
        self._candidates: dict[str, Signature] = {}  # watch mode: not yet settled, at the last listing
        self._next_list = 0.0
        self._listed = False  # the last listing of the folder succeeded
        self._index = 0
        self._expected: tuple[int, int] | None = size

    def describe(self) -> str:
        pattern = f"?pattern={self.pattern}" if self.pattern else ""
        return f"dir:{self.path}{pattern}" + (" (watching)" if self.watch else "")

    def _wanted(self, name: str) -> bool:
        if name.startswith("."):
            return False
        if self.pattern:
            return fnmatch.fnmatchcase(name, self.pattern)
        return name.lower().endswith(IMAGE_SUFFIXES)

    def _listing(self) -> dict[str, Signature]:
        """The wanted files not taken yet (or replaced since they were taken) with their signatures."""
        self._listed = False
        try:
            entries = list(os.scandir(self.path))
        except OSError as exc:
            raise SourceError(f"dir:{self.path}: cannot list it: {exc.strerror or exc}") from None
        found = {}
        for entry in entries:
            if not self._wanted(entry.name):
                continue
            try:
                if entry.is_file():
                    st = entry.stat()
                    sig = (st.st_size, st.st_mtime_ns)
                    if self._taken.get(entry.name) != sig:
                        found[entry.name] = sig
            except OSError:
                continue  # vanished between listing and stat
        self._listed = True
        return found

    def open(self) -> None:
        """Lists the folder; after a reopen, only the files not taken before are queued (see the module)."""
        if not os.path.isdir(self.path):
            raise SourceError(f"dir:{self.path}: no such folder")
        self._pending = sorted(self._listing().items())
        self._candidates = {}
        self._next_list = 0.0
        self._open = True

    def close(self) -> None:
        self._open = False
        self._listed = False

    def idle_waiting(self) -> bool:
        """True while watching a folder it can list with every settled file delivered: no new file yet is not a
        stall (see :class:`~camdrift.agent.sources.reopen.IdleReporting`). A folder that vanishes or cannot be
        listed raises ``SourceError`` from ``read`` instead."""
        return self._open and self.watch and self._listed and not self._pending

    def set_request_interval(self, seconds: float) -> None:
        """Ignored: files are read as fast as they decode."""

    def _refill(self) -> None:
        """Watch mode: moves files whose size and mtime held still since the last listing to the queue."""
        listing = self._listing()
        settled = [n for n, sig in listing.items() if self._candidates.get(n) == sig]
        self._candidates = {n: sig for n, sig in listing.items() if n not in settled}
        self._pending = sorted((n, listing[n]) for n in settled)

    def read(self, timeout: float) -> Frame | None:
        if not self._open:
            raise SourceError(f"dir:{self.path}: not open")
        deadline = time.monotonic() + timeout
        while True:
            while self._pending:
                frame = self._take(*self._pending.pop(0))
                if frame is not None:
                    return frame
            if not self.watch:
                raise SourceEnded(f"dir:{self.path}: no more files after {self._index}")
            now = time.monotonic()
            if now >= self._next_list:
                self._next_list = now + self.poll
                self._refill()
                if self._pending:
                    continue
            if now >= deadline:
                return None
            time.sleep(max(0.0, min(self._next_list, deadline) - now))

    def _take(self, name: str, sig: Signature) -> Frame | None:
        """Reads one file: a Frame, or None after counting why it was skipped."""
        self._taken[name] = sig
        index = self._index
        self._index += 1
        where = os.path.join(self.path, name)
        try:
            with open(where, "rb") as f:
                data = f.read()
        except OSError as exc:
            self.counters.reject("unreadable", f"{where}: {exc.strerror or exc}", log)
            return None
        if not data:
            self.counters.reject("empty_file", f"{where}: zero bytes", log)
            return None
        image = decode_image(data, self.pixel_format)
        if image is None:
            self.counters.reject(
                "undecodable", f"{where}: not an image OpenCV can decode as {self.pixel_format}", log
            )
            return None
        got = (image.shape[1], image.shape[0])
        if self._expected is None:
            self._expected = got
        elif got != self._expected:
            want = "{}x{}".format(*self._expected)
            self.counters.reject("wrong_size", f"{where}: {got[0]}x{got[1]}, expected {want}", log)
            return None
        self.counters.frames_read += 1
        return Frame(image, index, index / self.fps, self.pixel_format)
