"""Typed records that cross from frame sources to the pipeline: :class:`Frame`, :class:`SourceEvent`, and the
:class:`FrameSource` protocol every source implements.

This module imports only numpy and the standard library: the frame tap (``camdrift.agent.tap``) uses it and is
imported by the inference app, which must not pay for numba or OpenCV.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, Protocol, runtime_checkable

import numpy as np

# The formats camdrift.kernels.frame_stats understands (a test keeps them equal; not imported: see above).
PIXEL_FORMATS = ("bgr8", "rgb8", "gray8", "gray16", "nv12")

SourceEventKind = Literal["source.lost", "source.restored", "source.ended"]


class Frame(NamedTuple):
    """One image read from a source.

    image: bgr8/rgb8 (H, W, 3) uint8, gray8 (H, W) uint8, gray16 (H, W) uint16, nv12 (H*3/2, W) uint8.
    frame_index: frames read from the source since it was (re)opened, starting at 0; for the frame tap, the
        producer's count of ``offer()`` calls since it started (so gaps show frames the agent did not take).
    stream_time: the frame's timestamp in seconds (file position for video files, producer's ``ts`` for
        the tap).
    pixel_format: one of :data:`PIXEL_FORMATS`.
    flag: the app's reason when it flagged this frame as a production failure (``FrameTap.flag``), else None.
    activations: optional (N,) float32 model activations passed along by the app, else None.
    """

    image: np.ndarray
    frame_index: int
    stream_time: float
    pixel_format: str
    flag: str | None = None
    activations: np.ndarray | None = None


@dataclass(frozen=True)
class SourceEvent:
    """A change in a source's health: ``source.lost`` (with why), ``source.restored``, ``source.ended`` (EOF).

    frame_index / stream_time (s): of the last frame read before the event; None when none was read yet.
    """

    kind: SourceEventKind
    reason: str
    frame_index: int | None = None
    stream_time: float | None = None


class SourceError(RuntimeError):
    """The source failed (cannot open, stream broke, producer gone); a :class:`ReopeningSource` reopens it."""


class SourceEnded(Exception):
    """A finite source (video file, image folder, synthetic scenario) has no more frames."""


@dataclass
class SourceCounters:
    """What a source read and what it refused, by reason kind; each kind is logged once (the first time)."""

    frames_read: int = 0
    frames_rejected: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    def reject(self, kind: str, detail: str, logger: logging.Logger | None = None) -> None:
        """Counts one refused frame under ``kind`` (a short stable key); logs ``detail`` the first time."""
        self.frames_rejected += 1
        self.rejected[kind] += 1
        if self.rejected[kind] == 1 and logger is not None:
            logger.warning("frame rejected (%s): %s; further %s frames are only counted", kind, detail, kind)


@runtime_checkable
class FrameSource(Protocol):
    """Where frames come from. ``read`` never queues: it returns the next frame, or None after ``timeout`` s.

    ``read`` raises :class:`SourceError` when the source broke and :class:`SourceEnded` at the end of a finite
    source; :class:`~camdrift.agent.sources.ReopeningSource` turns these into :class:`SourceEvent` s.
    """

    counters: SourceCounters

    def open(self) -> None: ...

    def read(self, timeout: float) -> Frame | None: ...

    def close(self) -> None: ...

    def describe(self) -> str: ...


def image_problem(image: object, pixel_format: str) -> tuple[str, str] | None:
    """Why ``image`` does not fit ``pixel_format`` (see :class:`Frame`): ``(kind, detail)``, or None.

    kind is a short stable key for counting ("not_array", "unknown_format", "wrong_dtype", "wrong_shape",
    "empty"); detail says what was expected and what came.
    """
    if not isinstance(image, np.ndarray):
        return "not_array", f"not a numpy array but {type(image).__name__}"
    if pixel_format not in PIXEL_FORMATS:
        return "unknown_format", f"unknown pixel format {pixel_format!r} (known: {', '.join(PIXEL_FORMATS)})"
    want = np.uint16 if pixel_format == "gray16" else np.uint8
    if image.dtype != want:
        return "wrong_dtype", f"{pixel_format} needs dtype {np.dtype(want).name}, got {image.dtype}"
    shape = image.shape
    if pixel_format in ("bgr8", "rgb8"):
        if image.ndim != 3 or shape[2] != 3:
            return "wrong_shape", f"{pixel_format} needs shape (H, W, 3), got {shape}"
    elif image.ndim != 2:
        return "wrong_shape", f"{pixel_format} needs shape (H, W), got {shape}"
    if shape[0] < 1 or shape[1] < 1:
        return "empty", f"empty image of shape {shape}"
    if pixel_format == "nv12" and (shape[0] % 3 or shape[1] % 2 or (shape[0] * 2 // 3) % 2):
        return "wrong_shape", f"nv12 needs shape (H*3/2, W) with even H and W, got {shape}"
    return None
