"""A stream time that never goes back, across source restarts and agent restarts.

A reopened camera or stream restarts its clock at 0, an app restarting restarts its timestamps, and a restored
engine state continues from where the agent stopped. The engine refuses frames earlier than the last one, so a
jump back is absorbed by an offset added to every later frame's time: the engine keeps its windows instead of
refusing every frame.
"""

from __future__ import annotations

import logging

from camdrift.agent.frames import Frame

log = logging.getLogger("camdrift.agent")


class StreamTimeline:
    """The offset (s) added to the source's stream time; it grows at each jump back, never shrinks."""

    def __init__(self) -> None:
        self.offset = 0.0

    def place(self, frame: Frame, last: float, step: float) -> Frame:
        """``frame`` on the continuous stream time, given the engine's ``last`` stream time (s; -inf before the
        first frame). A frame that would land before ``last`` lands ``step`` s after it (one analysis period)
        and moves the offset; each such jump is logged once."""
        t = frame.stream_time + self.offset
        if t < last:
            self.offset += last + step - t
            log.info(
                "stream time went back from %.3f s to %.3f s (source restarted); continuing from %.3f s",
                last,
                frame.stream_time,
                last + step,
            )
            t = last + step
        return frame if t == frame.stream_time else frame._replace(stream_time=t)
