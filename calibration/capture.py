"""Read frames from a source for calibration or verification: kernel statistics per frame, a progress bar.

Frames are sampled exactly as the agent samples them (at most ``max_fps`` per second of stream time, see
:class:`~camdrift.agent.sampler.FrameSampler`), so the reference's autocorrelation is the agent's. The first frame
fixes the pixel format and resolution; later frames of another size or format are skipped and counted.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import NamedTuple, TextIO

import numpy as np

from camdrift.agent.frames import Frame, FrameSource, SourceEnded, SourceError
from camdrift.agent.runtime.sampler import FrameSampler
from camdrift.kernels import FrameStats, frame_stats


class CaptureError(RuntimeError):
    """The capture could not run (source failed, stalled, or gave frames the kernels refuse); names why."""


class Kernel(NamedTuple):
    """The kernel parameters frames are analysed with (recorded in the baseline): roi (x, y, w, h) px or None,
    stride px, thumb_size (th, tw) cells, grid G, under/over thresholds DN8."""

    pixel_format: str = "bgr8"
    roi: tuple[int, int, int, int] | None = None
    stride: int = 1
    thumb_size: tuple[int, int] = (64, 64)
    grid: int = 8
    under_threshold: int = 5
    over_threshold: int = 250

    def stats(self, image: np.ndarray) -> FrameStats:
        return frame_stats(
            image,
            pixel_format=self.pixel_format,
            roi=self.roi,
            stride=self.stride,
            thumb_size=self.thumb_size,
            grid=self.grid,
            under_threshold=self.under_threshold,
            over_threshold=self.over_threshold,
        )


class Capture(NamedTuple):
    """What a capture read. stats: per analysed frame; times: (R,) stream time s; resolution: (w, h) of the
    first frame; skipped: frames not used, by reason; first / last: the first and last analysed images;
    ended: the source ran out before the requested frames / duration; source: its description."""

    stats: list[FrameStats]
    times: np.ndarray
    resolution: tuple[int, int]
    pixel_format: str
    skipped: Counter[str]
    first: np.ndarray | None
    last: np.ndarray | None
    ended: bool
    source: str


class Progress:
    """A progress bar on ``stream``: ``\\r`` redraws on a terminal, one line per 10 % otherwise (logs, CI)."""

    def __init__(self, total: float, unit: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.total = max(float(total), 1e-9)
        self.unit = unit
        self.stream = sys.stderr if stream is None else stream
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.width = width
        self._next_line = 0.1
        self._last_draw = 0.0

    def update(self, done: float, note: str = "") -> Progress:
        frac = min(1.0, done / self.total)
        if self.tty:
            now = time.monotonic()
            if now - self._last_draw < 0.1 and frac < 1.0:
                return self
            self._last_draw = now
            bar = "#" * int(frac * self.width)
            self.stream.write(
                f"\r[{bar:<{self.width}}] {frac:4.0%} {done:.0f}/{self.total:.0f} {self.unit} {note}"
            )
            self.stream.flush()
        elif frac >= self._next_line - 1e-9:
            self.stream.write(f"{frac:4.0%} {done:.0f}/{self.total:.0f} {self.unit} {note}\n")
            self.stream.flush()
            while self._next_line <= frac + 1e-9:
                self._next_line += 0.1
        return self

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _resolution(image: np.ndarray, pixel_format: str) -> tuple[int, int]:
    h, w = image.shape[:2]
    return (w, h * 2 // 3) if pixel_format == "nv12" else (w, h)


def capture(
    source: FrameSource,
    kernel: Kernel,
    *,
    frames: int | None = None,
    duration: float | None = None,
    max_fps: float = 5.0,
    stall_timeout: float = 10.0,
    progress: Progress | None = None,
    check: Callable[[str, tuple[int, int]], None] | None = None,
    on_frame: Callable[[Frame], None] | None = None,
) -> Capture:
    """Read ``frames`` analysed frames, or ``duration`` s of stream time, from ``source`` (opened and closed here).

    Raises :class:`CaptureError` naming the source when it cannot be opened, fails, stalls for ``stall_timeout``
    s, or when the first frame does not fit the kernel parameters (e.g. an ROI outside the frame) or
    ``check(pixel_format, (w, h))`` (raising ValueError naming the mismatch, e.g. ``Baseline.check_frames``).
    ``on_frame(frame)`` sees every captured frame, in order (e.g. to run a vision model on it).
    """
    if (frames is None) == (duration is None):
        raise ValueError("give exactly one of frames and duration")
    name = source.describe()
    try:
        source.open()
    except (SourceError, OSError, ValueError) as exc:
        raise CaptureError(f"cannot open source {name}: {exc}") from None
    sampler = FrameSampler(max_fps)
    stats: list[FrameStats] = []
    times: list[float] = []
    skipped: Counter[str] = Counter()
    shape = fmt = None
    first = last = None
    t0: float | None = None
    ended = False
    waited = 0.0
    try:
        while True:
            if frames is not None and len(stats) >= frames:
                break
            if duration is not None and t0 is not None and times and times[-1] - t0 >= duration:
                break
            try:
                frame = source.read(0.5)
            except SourceEnded:
                ended = True
                break
            except SourceError as exc:
                raise CaptureError(f"source {name} failed: {exc}") from None
            if frame is None:
                waited += 0.5
                if waited >= stall_timeout:
                    raise CaptureError(f"source {name}: no frame for {stall_timeout:g} s")
                continue
            waited = 0.0
            if not sampler.offer(frame.stream_time):
                continue
            if shape is None:
                shape, fmt = frame.image.shape, frame.pixel_format
                t0 = frame.stream_time
                w, h = _resolution(frame.image, frame.pixel_format)
                try:
                    if check is not None:
                        check(frame.pixel_format, (w, h))
                    kernel.stats(frame.image)
                except (ValueError, TypeError) as exc:
                    raise CaptureError(
                        f"frames of {name} ({w}x{h} {frame.pixel_format}) cannot be analysed: {exc}"
                    ) from None
            if frame.image.shape != shape:
                skipped["size_changed"] += 1
                continue
            if frame.pixel_format != fmt:
                skipped["format_changed"] += 1
                continue
            stats.append(kernel.stats(frame.image))
            times.append(frame.stream_time)
            if on_frame is not None:
                on_frame(frame)
            if first is None:
                first = frame.image.copy()
            last = frame.image
            if progress is not None:
                done = len(stats) if frames is not None else times[-1] - t0
                progress.update(done)
    finally:
        source.close()
        if progress is not None:
            progress.close()
    for reason, n in source.counters.rejected.items():
        skipped[reason] += n
    resolution = _resolution(first, fmt) if first is not None else (0, 0)
    return Capture(
        stats=stats,
        times=np.asarray(times, np.float64),
        resolution=resolution,
        pixel_format=fmt or kernel.pixel_format,
        skipped=skipped,
        first=first,
        last=None if last is None else last.copy(),
        ended=ended,
        source=name,
    )
