"""Keeps a source running: reopens it with exponential backoff and reports ``source.lost`` /
``source.restored`` / ``source.ended`` events."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from camdrift.agent.frames import Frame, SourceEnded, SourceError, SourceEvent
from camdrift.agent.sources.base import FrameSource

log = logging.getLogger(__name__)


@runtime_checkable
class IdleReporting(Protocol):
    """A source that can tell waiting for new input from a stall: a watched folder that has delivered every
    file (:class:`~camdrift.agent.sources.folder.FolderSource`). While ``idle_waiting`` is True the source is
    healthy, so :class:`ReopeningSource` does not count the time without frames as a stall."""

    def idle_waiting(self) -> bool: ...


@runtime_checkable
class ReopenHinting(Protocol):
    """A source that can tell cheaply that a reopen would now find something new: the frame tap, whose app
    re-creates its segment on restart (:class:`~camdrift.agent.tap.reader.TapReader`). While the source is
    down, :class:`ReopeningSource` looks every :data:`HINT_POLL_S` and reopens at once on a hint instead of
    waiting out its backoff, so the agent re-attaches within a second of the app's restart."""

    def reopen_hint(self) -> bool: ...


HINT_POLL_S = 0.1


class ReopeningSource:
    """Wraps a :class:`~camdrift.agent.sources.base.FrameSource` so that failures become events, never exceptions.

    The source is lost when ``open``/``read`` raise ``SourceError`` or when no frame came for ``stall_timeout``
    s; it is then closed and reopened after ``backoff_initial`` s, doubling after each failed attempt up to
    ``backoff_max`` s. It is restored with the first frame after a reopen (an open that yields no frame for
    ``stall_timeout`` s counts as a failed attempt). A source that says it is idle-waiting
    (:class:`IdleReporting`: a watched folder with every file delivered) is not stalled: the time it waits
    does not count, and after a reopen its saying so restores it. ``SourceEnded`` (end of a file) emits
    ``source.ended`` once; ``read`` then returns None and ``ended`` is True.

    clock / sleep: seconds; injectable for tests. on_event: called with each event as it happens; events are
    also kept until :meth:`drain_events`.
    """

    def __init__(
        self,
        source: FrameSource,
        *,
        stall_timeout: float = 10.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_event: Callable[[SourceEvent], None] | None = None,
    ) -> None:
        if not stall_timeout > 0:
            raise ValueError(f"stall_timeout must be > 0 s, got {stall_timeout!r}")
        if not 0 < backoff_initial <= backoff_max:
            raise ValueError(
                f"need 0 < backoff_initial <= backoff_max, got {backoff_initial!r}, {backoff_max!r}"
            )
        self.source = source
        self.counters = source.counters
        self.stall_timeout = stall_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._clock = clock
        self._sleep = sleep
        self._on_event = on_event
        self._events: list[SourceEvent] = []
        self.lost_reason: str | None = None  # why the source is down, None while it delivers
        self.ended = False
        self.losses = 0
        self.reopen_attempts = 0
        self._is_open = False
        self._backoff = backoff_initial
        self._retry_at = 0.0
        self._last_frame_at = 0.0
        self._last_index: int | None = None
        self._last_time: float | None = None

    def describe(self) -> str:
        state = "ended" if self.ended else f"lost: {self.lost_reason}" if self.lost_reason else "ok"
        return f"{self.source.describe()} [{state}]"

    def drain_events(self) -> list[SourceEvent]:
        """The events since the last call, oldest first."""
        events, self._events = self._events, []
        return events

    def _emit(self, kind: str, reason: str) -> None:
        event = SourceEvent(kind, reason, self._last_index, self._last_time)
        self._events.append(event)
        (log.info if kind != "source.lost" else log.warning)(
            "%s: %s (%s)", kind, self.source.describe(), reason
        )
        if self._on_event is not None:
            self._on_event(event)

    def _fail(self, reason: str, now: float) -> None:
        """Closes the source and schedules the next attempt; emits source.lost when it was delivering."""
        if self.lost_reason is None:
            self.losses += 1
            self._emit("source.lost", reason)
            self._backoff = self.backoff_initial
        else:
            self._backoff = min(self._backoff * 2, self.backoff_max)
        self.lost_reason = reason
        self._retry_at = now + self._backoff
        self._close_source()

    def _close_source(self) -> None:
        if self._is_open:
            self._is_open = False
            try:
                self.source.close()
            except Exception as exc:  # a broken source must not stop the agent; say why and go on
                log.warning("closing %s failed: %s", self.source.describe(), exc)

    def open(self) -> None:
        """Opens the source; a failure is reported as source.lost and retried by ``read``, never raised."""
        now = self._clock()
        self.reopen_attempts += 1
        try:
            self.source.open()
        except SourceError as exc:
            self._fail(str(exc), now)
            return
        self._is_open = True
        self._last_frame_at = now

    def read(self, timeout: float) -> Frame | None:
        """The next frame, or None (after at most about ``timeout`` s) while there is none or the source is down."""
        if self.ended:
            return None
        now = self._clock()
        if not self._is_open:
            hinting = isinstance(self.source, ReopenHinting)
            if now < self._retry_at and not (hinting and self.source.reopen_hint()):
                self._sleep(min(timeout, self._retry_at - now, HINT_POLL_S if hinting else timeout))
                return None
            self.open()
            if not self._is_open:
                return None
        try:
            frame = self.source.read(timeout)
        except SourceEnded as exc:
            self.ended = True
            self._emit("source.ended", str(exc))
            self._close_source()
            return None
        except SourceError as exc:
            self._fail(str(exc), self._clock())
            return None
        now = self._clock()
        if frame is None:
            if self._idle_waiting():
                self._last_frame_at = now
                self._restored("waiting for new input again after")
            elif now - self._last_frame_at >= self.stall_timeout:
                self._fail(f"no frame for {self.stall_timeout:g} s", now)
            return None
        self._last_frame_at = now
        self._last_index, self._last_time = frame.frame_index, frame.stream_time
        self._restored("frames again after")
        return frame

    @property
    def waiting_for_input(self) -> bool:
        """The source is open and healthy, waiting for new input (a watched folder with every file delivered):
        not a stall, for the watchdog either."""
        return self.lost_reason is None and self._idle_waiting()

    def _idle_waiting(self) -> bool:
        """The open source says it waits for new input, healthy (see :class:`IdleReporting`)."""
        return isinstance(self.source, IdleReporting) and self.source.idle_waiting()

    def _restored(self, what: str) -> None:
        """Emits source.restored (``what`` + the loss's reason) when the source was lost."""
        if self.lost_reason is not None:
            self._emit("source.restored", f"{what}: {self.lost_reason}")
            self.lost_reason = None

    def close(self) -> None:
        self._close_source()

    def set_request_interval(self, seconds: float) -> None:
        """Passed on to the wrapped source (it keeps the value across reopens)."""
        self.source.set_request_interval(seconds)
