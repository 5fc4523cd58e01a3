"""Typed records that cross from frame sources to the pipeline: :class:`Frame`, :class:`SourceEvent` (the
:class:`~camdrift.agent.sources.base.FrameSource` protocol every source implements lives with the sources).

Pixel-format rules live here for the agent, on top of the kernels' (:mod:`camdrift.kernels.pixel_formats`:
the formats, and the dtype and shape an image of each must have): :func:`channels_of` and
:func:`image_resolution` (also :attr:`Frame.resolution`).

This module imports only numpy, the standard library and ``camdrift.kernels.pixel_formats`` (numpy only): the
frame tap (``camdrift.agent.tap``) uses it and is imported by the inference app, which must not pay for numba or
OpenCV.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np

from camdrift.agent.predictions.flags import FlagNote
from camdrift.agent.predictions.outputs import ModelOutputs
from camdrift.kernels.pixel_formats import PIXEL_FORMATS, image_problem

__all__ = [
    "PIXEL_FORMATS",
    "Frame",
    "SourceCounters",
    "SourceEnded",
    "SourceError",
    "SourceEvent",
    "SourceEventKind",
    "channels_of",
    "image_problem",
    "image_resolution",
]

SourceEventKind = Literal["source.lost", "source.restored", "source.ended"]


class Frame(NamedTuple):
    """One image read from a source.

    image: bgr8/rgb8 (H, W, 3) uint8, gray8 (H, W) uint8, gray16 (H, W) uint16, nv12 (H*3/2, W) uint8.
    frame_index: frames read from the source since it was (re)opened, starting at 0; for the frame tap, the
        producer's count of ``offer()`` calls since it started (so gaps show frames the agent did not take).
    stream_time: the frame's timestamp in seconds (file position for video files, producer's ``ts`` for
        the tap).
    pixel_format: one of :data:`PIXEL_FORMATS`.
    flag: the app's note when it flagged this frame as a production failure (``FrameTap.flag``), else None.
    activations: optional (N,) float32 model activations passed along by the app, else None.
    outputs: the model's outputs for this frame as the app handed them over, else None.
    """

    image: np.ndarray
    frame_index: int
    stream_time: float
    pixel_format: str
    flag: FlagNote | None = None
    activations: np.ndarray | None = None
    outputs: ModelOutputs | None = None

    @property
    def resolution(self) -> tuple[int, int]:
        """(width, height) of the picture in pixels (NV12: its luma plane), see :func:`image_resolution`."""
        return image_resolution(self.image, self.pixel_format)


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


def channels_of(pixel_format: str) -> int:
    """Colour channels the kernels report for ``pixel_format``: 3 (B, G, R) for bgr8, rgb8 and nv12, 1 for grey."""
    if pixel_format not in PIXEL_FORMATS:
        raise ValueError(f"unknown pixel_format {pixel_format!r} (known: {', '.join(PIXEL_FORMATS)})")
    return 1 if pixel_format.startswith("gray") else 3


def image_resolution(image: np.ndarray, pixel_format: str) -> tuple[int, int]:
    """(width, height) in pixels of the picture ``image`` holds in ``pixel_format``: an NV12 buffer of
    (H*3/2, W) rows is a W x H picture (its chroma rows follow the luma plane)."""
    h, w = image.shape[:2]
    return (w, h * 2 // 3) if pixel_format == "nv12" else (w, h)
