"""The :class:`FrameSource` protocol: what the daemon, calibration and the reopening wrapper use of a source.

Every source implements it: the OpenCV sources, image folders and synthetic scenarios here, the frame tap's
:class:`~camdrift.agent.tap.TapReader` and the in-process mailbox. The records that cross from a source to the
pipeline (:class:`~camdrift.agent.frames.Frame`, :class:`~camdrift.agent.frames.SourceEvent`) live in
:mod:`camdrift.agent.frames`, which the frame tap imports without OpenCV.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from camdrift.agent.frames import Frame, SourceCounters


@runtime_checkable
class FrameSource(Protocol):
    """Where frames come from. ``read`` never queues: it returns the next frame, or None after ``timeout`` s.

    ``read`` raises :class:`~camdrift.agent.frames.SourceError` when the source broke and
    :class:`~camdrift.agent.frames.SourceEnded` at the end of a finite source;
    :class:`~camdrift.agent.sources.ReopeningSource` turns these into
    :class:`~camdrift.agent.frames.SourceEvent` s.
    """

    counters: SourceCounters

    def open(self) -> None: ...

    def read(self, timeout: float) -> Frame | None: ...

    def close(self) -> None: ...

    def describe(self) -> str:
        """One line naming the source (and its state, for a wrapper), for logs and the status message."""
        ...

    def set_request_interval(self, seconds: float) -> None:
        """The least wall-clock seconds between two frame requests (the agent's analysis period).

        A source whose every frame costs its producer work (the frame tap: each request makes the app copy a
        frame) asks no faster than this; sources that read on their own (files, cameras) ignore it.
        """
        ...
