"""OpenCV ``VideoCapture`` sources: video files (replayed as fast as possible on their own timestamps) and live
streams (RTSP, HTTP(S) MJPEG, V4L2 devices) read by a grabber thread that keeps only the newest frame."""

from __future__ import annotations

import logging
import math
import threading

import cv2
import numpy as np

from camdrift.agent.frames import Frame, SourceCounters, SourceEnded, SourceError, image_problem

log = logging.getLogger(__name__)

# What VideoCapture (always BGR) can be converted to.
VIDEO_FORMATS = ("bgr8", "rgb8", "gray8")


def convert_bgr(image: np.ndarray, pixel_format: str) -> np.ndarray:
    """A BGR8 (H, W, 3) image in ``pixel_format`` (one of :data:`VIDEO_FORMATS`)."""
    if pixel_format == "bgr8":
        return image
    if pixel_format == "rgb8":
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


class _StreamClock:
    """Stream time of each frame: the container's timestamp (CAP_PROP_POS_MSEC, read after the frame) while it
    moves forward, else the previous time plus one frame period (1 / CAP_PROP_FPS, 25 fps if unknown)."""

    def __init__(self, fps: float) -> None:
        self.period = 1.0 / fps if math.isfinite(fps) and fps > 0 else 1.0 / 25.0
        self.last_ms: float | None = None
        self.last_t = -self.period

    def tick(self, pos_ms: float) -> float:
        if math.isfinite(pos_ms) and pos_ms >= 0 and (self.last_ms is None or pos_ms > self.last_ms):
            self.last_ms = pos_ms
            self.last_t = pos_ms / 1000.0
        else:
            self.last_t += self.period
        return self.last_t


class _Capture:
    """One opened VideoCapture with its own frame count and clock (a stalled grabber keeps its own)."""

    def __init__(self, cap: cv2.VideoCapture) -> None:
        self.cap = cap
        self.clock = _StreamClock(cap.get(cv2.CAP_PROP_FPS))
        self.index = 0
        self.stop = threading.Event()


class VideoSource:
    """A ``cv2.VideoCapture`` source.

    target: a file path, a stream URL, or a device path; api: a ``cv2.CAP_*`` backend (CAP_ANY lets OpenCV pick).
    live: False for files (every frame read in order, ``SourceEnded`` at the end); True for streams and devices
        (a grabber thread reads continuously and keeps only the newest frame; the end of the stream or a read
        failure is a ``SourceError``, so a ``ReopeningSource`` reconnects).
    """

    def __init__(
        self, target: str, *, label: str, live: bool, api: int = cv2.CAP_ANY, pixel_format: str = "bgr8"
    ) -> None:
        if pixel_format not in VIDEO_FORMATS:
            raise ValueError(
                f"{label}: pixel_format must be one of {', '.join(VIDEO_FORMATS)}, got {pixel_format!r}"
            )
        self.target = target
        self.label = label
        self.live = live
        self.api = api
        self.pixel_format = pixel_format
        self.counters = SourceCounters()
        self._capture: _Capture | None = None
        # Live mode: the grabber thread publishes the newest frame, or the error that stopped it.
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._error: str | None = None
        self._thread: threading.Thread | None = None

    def describe(self) -> str:
        return self.label

    def set_request_interval(self, seconds: float) -> None:
        """Ignored: a file is read as fast as it decodes, a camera at its own rate."""

    def open(self) -> None:
        self.close()
        if self.live:
            # FFmpeg's default open/read timeouts (~30 s) exceed the unit's TimeoutStopSec: a stop request during a
            # reconnect to an unreachable camera would end in SIGKILL, without the engine state saved.
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 5000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 5000]
            cap = cv2.VideoCapture(self.target, self.api, params)
        else:
            cap = cv2.VideoCapture(self.target, self.api)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"{self.label}: OpenCV cannot open it")
        self._capture = capture = _Capture(cap)
        if self.live:
            with self._cond:
                self._latest, self._error = None, None
            self._thread = threading.Thread(target=self._grab_loop, args=(capture,), daemon=True)
            self._thread.start()

    def _next(self, capture: _Capture) -> Frame | None:
        """Reads one frame; None when the capture has no more. Frames that fail validation are counted."""
        while True:
            ok, image = capture.cap.read()
            if not ok or image is None:
                return None
            t = capture.clock.tick(capture.cap.get(cv2.CAP_PROP_POS_MSEC))
            index = capture.index
            capture.index += 1
            problem = image_problem(image, "bgr8")
            if problem is not None:
                self.counters.reject(problem[0], f"{self.label} frame {index}: {problem[1]}", log)
                continue
            self.counters.frames_read += 1
            return Frame(convert_bgr(image, self.pixel_format), index, t, self.pixel_format)

    def _grab_loop(self, capture: _Capture) -> None:
        try:
            while not capture.stop.is_set():
                frame = self._next(capture)
                with self._cond:
                    if capture.stop.is_set():  # closed while we were blocked in read: publish nothing
                        break
                    if frame is None:
                        self._error = f"{self.label}: stream ended or read failed"
                        self._cond.notify_all()
                        break
                    self._latest = frame  # newest wins: an unread older frame is dropped here
                    self._cond.notify_all()
        finally:
            capture.cap.release()  # by the thread that reads it, even after close() stopped waiting for it

    def read(self, timeout: float) -> Frame | None:
        capture = self._capture
        if capture is None:
            raise SourceError(f"{self.label}: not open")
        if not self.live:
            frame = self._next(capture)
            if frame is None:
                raise SourceEnded(f"{self.label}: end of file after {capture.index} frames")
            return frame
        with self._cond:
            if self._latest is None and self._error is None:
                self._cond.wait(timeout)
            frame, self._latest = self._latest, None
            if frame is None and self._error is not None:
                raise SourceError(self._error)
            return frame

    def close(self) -> None:
        """Stops the grabber, waiting at most 0.5 s for a stalled read (the thread then releases the capture)."""
        capture, self._capture = self._capture, None
        if capture is None:
            return
        capture.stop.set()
        if self._thread is not None:
            self._thread.join(timeout=0.5)
            self._thread = None
        else:
            capture.cap.release()
