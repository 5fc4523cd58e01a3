"""Consumer side of the frame tap: :class:`TapReader`, the agent's ``shm:NAME`` frame source."""

from __future__ import annotations

import logging
import math
import mmap
import os
import time

from camdrift.agent.frames import PIXEL_FORMATS, Frame, SourceCounters, SourceError, image_problem
from camdrift.agent.tap.layout import (
    FLAG,
    FRAME,
    LAYOUT_VERSION,
    MAGIC,
    PAGE,
    S_COUNT,
    S_SEQ,
    SLOT_WORDS,
    W_FLAG_TAKEN,
    W_GENERATION,
    W_HEADER,
    W_MAGIC,
    W_PID,
    W_RETIRED,
    W_VERSION,
    W_WANT,
    Segment,
    segment_path,
)
from camdrift.agent.tap.slot import copy_slot, decode_extras, read_header

log = logging.getLogger(__name__)

# Longest sleep between two looks at the segment while no frame is requested (s): how late a flagged frame or a
# replaced segment may be seen.
IDLE_POLL = 0.05


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def _segment_problem(seg: Segment, size: int, check_pid: bool) -> str | None:
    """Why a mapped segment of ``size`` bytes cannot be read (completing "<path> ..."), or None."""
    w = seg.words
    if w[W_MAGIC] != MAGIC:
        return "is not a camdrift tap segment (bad magic)"
    if w[W_VERSION] != LAYOUT_VERSION:
        return f"has layout version {w[W_VERSION]}, this agent reads {LAYOUT_VERSION}"
    if w[W_HEADER] != PAGE or size < PAGE + 2 * seg.capacity:
        return f"is truncated ({size} bytes for capacity {seg.capacity})"
    if w[W_RETIRED]:
        return "was retired by its producer"
    if check_pid and not _pid_alive(w[W_PID]):
        return f"was left by producer pid {w[W_PID]}, which has exited"
    return None


class TapReader:
    """Consumer side of a frame tap: a :class:`~camdrift.agent.frames.FrameSource` for ``shm:NAME``.

    pixel_format: the format the agent expects; frames the producer declares in another format are rejected.
        None accepts the producer's declared format.
    check_pid: treat a segment whose producer pid no longer exists as broken (off across pid namespaces).
    poll: seconds between looks at the segment while a requested frame is awaited (else up to ``IDLE_POLL``).
    take_flags: take the flagged frames (the agent). A technician's tool reading the same tap beside the agent
        (calibrate, verify) passes False: a flag is taken once, and taken by the tool it would never reach the
        agent's evidence.
    request_interval: least wall-clock seconds between two frame requests (0: ask again as soon as a frame is
        taken). Each request makes the app copy one frame, so the agent sets this to ``1 / sampler.fps``
        (:meth:`set_request_interval`) rather than asking for frames its sampler would drop. Flagged frames
        ignore it.

    Counters beyond ``counters``: ``torn_reads`` (copies discarded because the producer wrote meanwhile),
    ``flags_read``, ``flags_overwritten`` (flags replaced by a newer one before the reader took them),
    ``reattaches`` (new segment generations seen).
    """

    def __init__(
        self,
        name: str,
        *,
        pixel_format: str | None = None,
        directory: str = "/dev/shm",
        check_pid: bool = True,
        poll: float = 0.002,
        request_interval: float = 0.0,
        take_flags: bool = True,
    ) -> None:
        self.name = name
        self.take_flags = take_flags
        self.path = segment_path(name, directory)
        if pixel_format is not None and pixel_format not in PIXEL_FORMATS:
            raise ValueError(f"pixel_format must be one of {', '.join(PIXEL_FORMATS)}, got {pixel_format!r}")
        if not poll > 0:
            raise ValueError(f"poll must be > 0 s, got {poll!r}")
        self.pixel_format = pixel_format
        self.check_pid = check_pid
        self.poll = float(poll)
        self.set_request_interval(request_interval)
        self._last_request_at = -math.inf
        self.counters = SourceCounters()
        self.torn_reads = 0
        self.flags_read = 0
        self.flags_overwritten = 0
        self.reattaches = 0
        self._seg: Segment | None = None
        self._tried_ino: tuple[int, int] | None = None  # (st_dev, st_ino) of the last segment opened
        self._pending: int | None = None  # want value we are waiting on
        self._last_count = 0
        self._pid = 0
        self._next_pid_check = 0.0

    def describe(self) -> str:
        return f"shm:{self.name} ({self.path})"

    def set_request_interval(self, seconds: float) -> None:
        """Ask for a frame at most every ``seconds`` (wall clock, >= 0); the agent sets ``1 / sampler.fps``."""
        if not seconds >= 0:
            raise ValueError(f"request_interval must be >= 0 s, got {seconds!r}")
        self.request_interval = float(seconds)

    @property
    def generation(self) -> int:
        """Creation time (ns) of the attached segment; changes when the producer restarts or grows it."""
        return 0 if self._seg is None else self._seg.words[W_GENERATION]

    def open(self) -> None:
        """Attaches to the segment; SourceError if it is missing, foreign, or left by a dead producer."""
        self.close()
        self._seg = self._attach()

    def _attach(self) -> Segment:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            raise SourceError(f"no tap segment {self.path}: is the producer running?") from None
        except PermissionError:
            raise SourceError(
                f"permission denied opening {self.path}: the agent's user must be in the segment's group"
            ) from None
        try:
            st = os.fstat(fd)
            self._tried_ino = (st.st_dev, st.st_ino)
            if st.st_size < PAGE:
                raise SourceError(f"{self.path} is not a camdrift tap segment ({st.st_size} bytes)")
            mm = mmap.mmap(fd, st.st_size)
        finally:
            os.close(fd)
        seg = Segment(mm, (st.st_dev, st.st_ino))
        w = seg.words
        problem = _segment_problem(seg, st.st_size, self.check_pid)
        if problem:
            seg.close()
            raise SourceError(f"{self.path} {problem}")
        self._pid = w[W_PID]
        self._last_count = w[SLOT_WORDS[FRAME] + S_COUNT]
        self._pending = None
        return seg

    def reopen_hint(self) -> bool:
        """Whether a segment other than the last one tried now sits at the path (the app restarted and created
        a new one): :class:`~camdrift.agent.sources.reopen.ReopeningSource` then reopens at once."""
        try:
            st = os.stat(self.path)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) != self._tried_ino

    def close(self) -> None:
        seg, self._seg = self._seg, None
        if seg is not None:
            seg.close()

    def _check_segment(self, now: float) -> None:
        """Reattaches when the producer replaced the segment; raises SourceError when it is gone."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise SourceError(f"tap segment {self.path} was removed: the producer stopped") from None
        if (st.st_dev, st.st_ino) != self._seg.ino:
            old = self._seg
            self._seg = None
            old.close()
            self._seg = self._attach()
            self.reattaches += 1
            log.info("tap %s: attached to a new segment (producer pid %d)", self.path, self._pid)
            return
        if self._seg.words[W_RETIRED]:
            raise SourceError(f"tap segment {self.path} was retired by producer pid {self._pid}")
        if self.check_pid and now >= self._next_pid_check:
            self._next_pid_check = now + 1.0
            if not _pid_alive(self._pid):
                raise SourceError(f"tap producer pid {self._pid} has exited")

    def read(self, timeout: float) -> Frame | None:
        """Asks the producer for its next frame and waits up to ``timeout`` s; a flagged frame comes first."""
        if self._seg is None:
            raise SourceError(f"tap {self.path} is not open")
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            self._check_segment(now)
            w = self._seg.words
            flag_base = SLOT_WORDS[FLAG]
            taken = w[W_FLAG_TAKEN]
            flags = w[flag_base + S_COUNT]
            if flags != taken and self.take_flags:
                settled, frame = self._copy(FLAG)
                if settled:
                    self.flags_overwritten += max(0, flags - taken - 1)
                    w[W_FLAG_TAKEN] = flags
                    self.flags_read += 1
                    if frame is not None and self._accept(frame):
                        return frame
            if self._pending is None and now >= self._last_request_at + self.request_interval:
                self._pending = w[W_WANT] + 1
                w[W_WANT] = self._pending
                self._last_request_at = now
            if w[SLOT_WORDS[FRAME] + S_COUNT] != self._last_count:
                settled, frame = self._copy(FRAME)
                if settled:
                    self._pending = None
                    if frame is not None and self._accept(frame):
                        return frame
                    continue
            if now >= deadline:
                return None
            # With nothing asked for only a flag can arrive: sleep towards the next request, not poll (at 5 fps
            # beside a 30 fps app this cut the reader's wake-ups from ~400 to ~60 a second).
            idle = now + IDLE_POLL if self._pending is None else now
            wake = max(now + self.poll, min(self._last_request_at + self.request_interval, idle))
            time.sleep(max(0.0, min(wake, deadline) - now))

    def _accept(self, frame: Frame) -> bool:
        if self.pixel_format is not None and frame.pixel_format != self.pixel_format:
            self.counters.reject(
                "format_mismatch",
                f"{self.describe()}: producer declares {frame.pixel_format}, "
                f"agent expects {self.pixel_format}",
                log,
            )
            return False
        problem = image_problem(frame.image, frame.pixel_format)
        if problem is not None:
            self.counters.reject(problem[0], f"{self.describe()}: {problem[1]}", log)
            return False
        self.counters.frames_read += 1
        return True

    def _copy(self, slot: int) -> tuple[bool, Frame | None]:
        """Seqlock read of one slot -> (settled, frame).

        settled is False when the producer kept writing through three attempts (try again later); frame is
        None when the slot read consistently but its header is corrupt (counted as rejected).
        """
        seg = self._seg
        w = seg.words
        base = SLOT_WORDS[slot]
        for _ in range(3):
            seq = w[base + S_SEQ]
            if seq & 1:
                time.sleep(0.0002)
                continue
            head = read_header(seg, base, slot == FLAG)
            if head.sane:
                raw = copy_slot(seg, seg.data_offset(slot), head)
            if w[base + S_SEQ] != seq:
                self.torn_reads += 1
                continue
            if slot == FRAME:
                self._last_count = head.count
            if not head.sane:
                self.counters.reject("corrupt_header", f"{self.describe()}: slot header is inconsistent", log)
                return True, None
            try:
                outputs, note = decode_extras(raw, head.extras, head.reason)
            except ValueError as exc:
                self.counters.reject("corrupt_outputs", f"{self.describe()}: {exc}", log)
                return True, None
            return True, Frame(raw.image, head.index, head.ts, head.fmt, note, raw.activations, outputs)
        return False, None

    def __enter__(self) -> TapReader:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
