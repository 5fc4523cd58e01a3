"""Read frames from a source for calibration or verification: kernel statistics per frame, a progress bar.

Frames are sampled exactly as the agent samples them (at most ``max_fps`` per second of stream time, see
:class:`~camdrift.agent.sampler.FrameSampler`), so the reference's autocorrelation is the agent's. The first frame
fixes the pixel format and resolution; later frames of another size or format are skipped and counted.
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import NamedTuple, TextIO

import numpy as np

from camdrift.agent.frames import Frame, SourceEnded, SourceError, image_resolution
from camdrift.agent.predictions.outputs import ModelOutputs
from camdrift.agent.runtime.sampler import FrameSampler
from camdrift.agent.sources.base import FrameSource
from camdrift.kernels import FrameStats, KernelParams


class CaptureError(RuntimeError):
    """The capture could not run (source failed, stalled, or gave frames the kernels refuse); names why."""


class Capture(NamedTuple):
    """What a capture read. stats: per analysed frame; times: (R,) stream time s; resolution: (w, h) of the
    first frame; skipped: frames not used, by reason; first / last: the first and last analysed images;
    ended: the source ran out before the requested frames / duration; source: its description;
    read: frames the source delivered (analysed or not); read_span: stream time s from the first to the last
    of them (their rate, :attr:`source_fps`, says what ``--max-fps`` analyses every frame); outputs: the model's
    outputs the app handed over with each analysed frame (empty when it handed none)."""

    stats: list[FrameStats]
    times: np.ndarray
    resolution: tuple[int, int]
    pixel_format: str
    skipped: Counter[str]
    first: np.ndarray | None
    last: np.ndarray | None
    ended: bool
    source: str
    read: int = 0
    read_span: float = 0.0
    outputs: tuple[ModelOutputs | None, ...] = ()

    @property
    def covered(self) -> float:
        """Stream time the analysed frames stand for (s): their span plus one mean interval, so N frames at
        ``f`` per second cover N / f s (a 100 s file analysed at 5 fps covers 100 s, not 99.8)."""
        return covered_time(self.times)

    @property
    def source_fps(self) -> float:
        """The source's own frame rate (frames / s of stream time, 0 if unknown)."""
        return (self.read - 1) / self.read_span if self.read > 1 and self.read_span > 0 else 0.0


def covered_time(times: np.ndarray | list[float]) -> float:
    """Stream time (s) that frames at ``times`` cover: span * n / (n - 1); 0 for fewer than 2 frames."""
    n = len(times)
    return float(times[-1] - times[0]) * n / (n - 1) if n > 1 else 0.0


class Progress:
    """A progress bar on ``stream``: ``\\r`` redraws on a terminal, one line per 10 % otherwise (logs, CI)."""

    def __init__(self, total: float, unit: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.total = max(float(total), 1e-9)
        self.unit = unit
        self.stream = sys.stderr if stream is None else stream
        self.tty = self.stream.isatty()
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


class _Taken:
    """The analysed frames of a capture so far; the first frame fixes the shape and format of the others."""

    def __init__(self, kernel: KernelParams, name: str, check: Callable[[str, tuple[int, int]], None] | None):
        self.kernel = kernel
        self.name = name
        self.check = check
        self.stats: list[FrameStats] = []
        self.times: list[float] = []
        self.outputs: list[ModelOutputs | None] = []
        self.skipped: Counter[str] = Counter()
        self.shape: tuple[int, ...] | None = None
        self.fmt: str | None = None
        self.first: np.ndarray | None = None
        self.last: np.ndarray | None = None
        self.read = 0
        self.read_times: list[float] = []  # first and last stream time the source delivered

    def offered(self, frame: Frame) -> None:
        """Counts a frame the source delivered, analysed or not."""
        self.read += 1
        if not self.read_times:
            self.read_times.append(frame.stream_time)
        self.read_times[1:] = [frame.stream_time]

    def enough(self, frames: int | None, duration: float | None) -> bool:
        """Whether ``frames`` analysed frames, or frames covering ``duration`` s of stream time, are taken."""
        if frames is not None:
            return len(self.stats) >= frames
        return covered_time(self.times) >= duration - 1e-9

    def done(self, frames: int | None) -> float:
        """Progress: frames taken, or stream time s covered."""
        return len(self.stats) if frames is not None else covered_time(self.times)

    def add(self, frame: Frame) -> bool:
        """Analyses ``frame`` (True) or counts why it is skipped (False)."""
        if self.shape is None:
            self._fix(frame)
        if frame.image.shape != self.shape:
            self.skipped["size_changed"] += 1
            return False
        if frame.pixel_format != self.fmt:
            self.skipped["format_changed"] += 1
            return False
        self.stats.append(self.kernel.stats(frame.image))
        self.times.append(frame.stream_time)
        self.outputs.append(frame.outputs)
        if self.first is None:
            self.first = frame.image.copy()
        self.last = frame.image
        return True

    def _fix(self, frame: Frame) -> None:
        """The first frame: its shape and format become the capture's, and it must fit the kernel and check."""
        self.shape, self.fmt = frame.image.shape, frame.pixel_format
        w, h = frame.resolution
        try:
            if self.check is not None:
                self.check(frame.pixel_format, (w, h))
            self.kernel.stats(frame.image)
        except (ValueError, TypeError) as exc:
            raise CaptureError(
                f"frames of {self.name} ({w}x{h} {frame.pixel_format}) cannot be analysed: {exc}"
            ) from None

    def result(self, source: FrameSource, ended: bool) -> Capture:
        for reason, n in source.counters.rejected.items():
            self.skipped[reason] += n
        fmt = self.fmt or self.kernel.pixel_format
        return Capture(
            stats=self.stats,
            times=np.asarray(self.times, np.float64),
            resolution=image_resolution(self.first, fmt) if self.first is not None else (0, 0),
            pixel_format=fmt,
            skipped=self.skipped,
            first=self.first,
            last=None if self.last is None else self.last.copy(),
            ended=ended,
            source=self.name,
            read=self.read,
            read_span=self.read_times[-1] - self.read_times[0] if self.read_times else 0.0,
            outputs=tuple(self.outputs) if any(o is not None for o in self.outputs) else (),
        )


def _read(source: FrameSource, name: str) -> Frame | None:
    """The next frame, or None if none came within 0.5 s; SourceEnded passes; a failure is a CaptureError."""
    try:
        return source.read(0.5)
    except SourceError as exc:
        raise CaptureError(f"source {name} failed: {exc}") from None


def capture(
    source: FrameSource,
    kernel: KernelParams,
    *,
    frames: int | None = None,
    duration: float | None = None,
    max_fps: float = 5.0,
    stall_timeout: float = 10.0,
    progress: Progress | None = None,
    check: Callable[[str, tuple[int, int]], None] | None = None,
    on_frame: Callable[[Frame], None] | None = None,
    check_outputs: Callable[[ModelOutputs], None] | None = None,
) -> Capture:
    """Read ``frames`` ANALYSED frames (after sampling at ``max_fps``), or analysed frames covering ``duration`` s
    of stream time (:func:`covered_time`), from ``source`` (opened and closed here). A source that ends first
    gives ``ended=True`` and what it had; the caller decides whether that is enough.

    Raises :class:`CaptureError` naming the source when it cannot be opened, fails, stalls for ``stall_timeout``
    s, or when the first frame does not fit the kernel parameters (e.g. an ROI outside the frame) or
    ``check(pixel_format, (w, h))`` (raising ValueError naming the mismatch, e.g. ``Baseline.check_frames``).
    ``on_frame(frame)`` sees every captured frame, in order (e.g. to run a vision model on it);
    ``check_outputs(outputs)`` the model outputs each carries (its ValueError: CaptureError). Frames the app
    flagged (``FrameTap.flag``) are skipped and counted as ``flagged``: a known failure is not reference, and
    the tap hands it over out of the stream's order.
    """
    if (frames is None) == (duration is None):
        raise ValueError("give exactly one of frames and duration")
    name = source.describe()
    try:
        source.open()
    except (SourceError, OSError, ValueError) as exc:
        raise CaptureError(f"cannot open source {name}: {exc}") from None
    sampler = FrameSampler(max_fps).follow(source.set_request_interval)  # the tap copies only frames taken
    taken = _Taken(kernel, name, check)
    ended = False
    waited = 0.0
    try:
        while not taken.enough(frames, duration):
            try:
                frame = _read(source, name)
            except SourceEnded:
                ended = True
                break
            if frame is None:
                waited += 0.5
                if waited >= stall_timeout:
                    raise CaptureError(f"source {name}: no frame for {stall_timeout:g} s")
                continue
            waited = 0.0
            if frame.flag is not None:  # the app's known failure: evidence for the agent, never reference
                taken.skipped["flagged"] += 1
                continue
            taken.offered(frame)
            if not sampler.offer(frame.stream_time) or not taken.add(frame):
                continue
            if check_outputs is not None and frame.outputs is not None:
                try:
                    check_outputs(frame.outputs)
                except ValueError as exc:
                    raise CaptureError(f"source {name}: {exc}") from None
            if on_frame is not None:
                on_frame(frame)
            if progress is not None:
                progress.update(taken.done(frames))
    finally:
        source.close()
        if progress is not None:
            progress.close()
    return taken.result(source, ended)


def shortfall(cap: Capture, *, frames: int | None, duration: float | None, max_fps: float) -> str | None:
    """One line when the source ended before what was asked (``frames`` analysed frames or ``duration`` s of
    stream time): what it got and how to ask for what it holds; None when the capture is complete."""
    got, covered = len(cap.stats), cap.covered
    if (
        not cap.ended
        or (frames is not None and got >= frames)
        or (duration is not None and covered >= duration)
    ):
        return None
    at = f"at --max-fps {max_fps:g}"
    if frames is not None:
        what = f"{got} of {frames} analysed frames ({covered:.1f} s of stream time {at})"
    else:
        what = f"{covered:.1f} of {duration:g} s of stream time ({got} analysed frames {at})"
    advice = [f"use --duration {math.floor(covered * 10) / 10:g}s to take all of it at this rate"]
    rate = cap.source_fps
    if rate > max_fps * 1.02:
        advice.append(
            f"--max-fps {math.ceil(rate - 0.01):g} to analyse every frame of this {rate:.3g} fps source "
            f"({cap.read} frames)"
        )
    return f"{cap.source} ended after {what}: {', or '.join(advice)}"
