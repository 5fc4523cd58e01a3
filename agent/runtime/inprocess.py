"""In-process mode: the inference app hands frames straight to an agent thread in its own process.

    agent = Agent(load_config("/etc/camdrift/cam1.toml"))
    agent.start()
    ...
    agent.submit(frame, ts)      # in the app's loop: returns at once, never blocks
    ...
    agent.stop()

``submit`` copies a frame only when the agent will analyse it (it is due under ``analysis.max_fps`` and the agent
thread is idle); otherwise it drops the frame and counts it. The kernels release the GIL, so the analysis runs
beside the app's own Python work. The agent thread is the daemon's loop (:class:`~camdrift.agent.daemon.Daemon`)
reading from a one-slot mailbox instead of a camera: same engine, sinks, evidence and state.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

from camdrift.agent.config import Config
from camdrift.agent.frames import Frame, SourceCounters, image_problem
from camdrift.agent.predictions.outputs import ModelOutputs, model_outputs
from camdrift.agent.runtime.daemon import Daemon
from camdrift.agent.runtime.notify import Notifier

log = logging.getLogger("camdrift.agent")


class Mailbox:
    """A :class:`~camdrift.agent.sources.base.FrameSource` holding at most one frame: the newest wins, nothing queues."""

    def __init__(self, pixel_format: str) -> None:
        self.pixel_format = pixel_format
        self.counters = SourceCounters()
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._busy = False
        self.submitted = 0
        self.dropped = 0

    def describe(self) -> str:
        return "in-process mailbox"

    def open(self) -> None:
        pass

    def set_request_interval(self, seconds: float) -> None:
        """Ignored: the app hands frames at its own rate, and ``submit`` drops those not due."""

    def close(self) -> None:
        with self._cond:
            self._frame = None
            self._cond.notify_all()

    def wants(self) -> bool:
        """True when the agent thread is idle and the slot is free."""
        return not self._busy and self._frame is None

    def put(self, frame: Frame) -> None:
        with self._cond:
            self._frame = frame
            self._cond.notify()

    def read(self, timeout: float) -> Frame | None:
        with self._cond:
            self._busy = False
            if self._frame is None:
                self._cond.wait(timeout)
            frame, self._frame = self._frame, None
            self._busy = frame is not None
            return frame


class Agent:
    """Runs one camera's agent on a background thread of the calling process (see the module docstring)."""

    def __init__(self, config: Config) -> None:
        self.mailbox = Mailbox(config.source.pixel_format)
        # Notifier(environ={}): the host app may itself be a systemd service; its NOTIFY_SOCKET is not ours.
        self.daemon = Daemon(lambda: config, source=self.mailbox, notifier=Notifier(environ={}))
        self._thread: threading.Thread | None = None
        self._index = 0
        self.rejected = 0
        self.error: BaseException | None = None  # what ended the agent thread, if it was not a stop

    def start(self) -> Agent:
        self.daemon.start()
        self._thread = threading.Thread(target=self._run, name="camdrift-agent", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        d = self.daemon
        failure: BaseException | None = None
        try:
            while not d.stop_requested:
                d.step()
        except BaseException as exc:  # kept, and raised to the app by the next submit()/stop()
            failure = self.error = exc
            log.error("camdrift agent thread stopped: %s: %s", type(exc).__name__, exc)
        finally:
            d.shutdown(failure)

    def submit(
        self, frame: np.ndarray, ts: float | None = None, outputs: ModelOutputs | dict | None = None
    ) -> bool:
        """Offers one frame (``ts``: its timestamp in seconds, default the monotonic clock) with the model's
        ``outputs`` for it, if the app has them (as for ``FrameTap.offer``; ValueError names a wrong field).
        Returns True if it was taken for analysis; False if it was dropped (agent busy, not due, or not a
        valid image)."""
        if self.error is not None:
            raise RuntimeError(f"the camdrift agent thread stopped: {self.error}") from self.error
        index = self._index
        self._index += 1
        t = time.monotonic() if ts is None else float(ts)
        mb = self.mailbox
        mb.submitted += 1
        d = self.daemon
        # The sampler runs on the daemon's continuous stream time (see StreamTimeline); a timestamp that went
        # back (the app restarted its clock) is let through for the daemon to re-offset.
        t_agent = t + d.time_offset
        due = d.parts.sampler.next_due
        went_back = t_agent < d.pipeline.stream_time
        if not mb.wants() or (due is not None and not went_back and t_agent < due - 1e-9):
            mb.dropped += 1
            return False
        problem = image_problem(frame, mb.pixel_format)
        if problem is not None:
            self.rejected += 1
            mb.counters.reject(problem[0], problem[1])
            return False
        out = None if outputs is None else model_outputs(outputs)
        mb.put(Frame(np.array(frame, copy=True), index, t, mb.pixel_format, outputs=out))
        return True

    def stop(self, timeout: float = 10.0) -> None:
        self.daemon.request_stop()
        self.mailbox.close()
        if self._thread is not None:
            self._thread.join(timeout)
