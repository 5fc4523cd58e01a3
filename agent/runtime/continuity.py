"""A stream time that never goes back, across source restarts and agent restarts.

A reopened camera or stream restarts its clock at 0, an app restarting restarts its timestamps, and a restored
engine state continues from where the agent stopped. The engine refuses frames earlier than the last one, so a
jump back is absorbed by an offset added to every later frame's time: the engine keeps its windows instead of
refusing every frame. The source's own events (``source.lost``, ...) are put on the same timeline, and a reload
keeps it: what the agent publishes never goes back within a boot.

That holds for one source only: the saved state records which source it came from (:func:`source_identity`),
and a start on another source (another recording) begins with fresh windows and its own stream time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from pathlib import Path

from camdrift.agent.files import atomic_write_bytes
from camdrift.agent.frames import Frame

log = logging.getLogger("camdrift.agent")


class StreamTimeline:
    """The offset (s) added to the source's stream time; it grows at each jump back, never shrinks.

    The timeline also remembers the last stream time it placed a frame at (:attr:`last`), so the stream time the
    agent publishes never goes back within a boot, not even when the engine behind it is replaced (a reload with
    another baseline starts fresh windows, not a fresh clock). The daemon keeps one timeline for its life."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.last = -math.inf  # s: the latest frame placed

    def place(self, frame: Frame, last: float, step: float) -> Frame:
        """``frame`` on the continuous stream time, given the engine's ``last`` stream time (s; -inf before the
        first frame; a restored state's). A frame that would land before ``last`` or the last frame placed
        lands ``step`` s after it (one analysis period) and moves the offset; each such jump is logged once."""
        last = max(last, self.last)
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
        self.last = t
        return frame if t == frame.stream_time else frame._replace(stream_time=t)

    def at(self, stream_time: float | None) -> float | None:
        """A time (s) of the source's clock on the continuous stream time; None (or NaN: not known) stays None.

        For the source's events, which name the last frame the source read: place that frame first, then this
        is its placed time. Never later than the last frame placed (an event of a frame read before a restart
        moved the offset lands on the newest frame, not after it), so nothing published runs ahead."""
        if stream_time is None or stream_time != stream_time:
            return None
        t = stream_time + self.offset
        return t if self.last == -math.inf else min(t, self.last)


# -- which source a saved engine state belongs to ---------------------------------------------------------------


def source_identity(uri: str) -> str:
    """What names one source across restarts: the URI, with a file or folder by its resolved path (a video
    file also by its size and modification time, so another recording at the same path is another source)."""
    for scheme in ("video:", "dir:"):
        if uri.startswith(scheme):
            path, sep, query = uri[len(scheme) :].partition("?")
            where = Path(path).expanduser().resolve()
            ident = f"{scheme}{where}{sep}{query}"
            if scheme == "video:":
                try:
                    st = where.stat()
                except OSError:
                    return ident
                ident += f" ({st.st_size} bytes, mtime_ns {st.st_mtime_ns})"
            return ident
    return uri


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def record_state_source(state: Path, record: Path, source_id: str) -> None:
    """Writes beside the saved engine ``state`` which source it belongs to, with the state file's SHA-256 (so a
    record that does not describe the state beside it, e.g. after a kill between the two writes, is ignored)."""
    doc = {"source": source_id, "state_sha256": _digest(state)}
    atomic_write_bytes(record, json.dumps(doc, sort_keys=True).encode())


def state_source_problem(state: Path, record: Path, source_id: str) -> str | None:
    """Why the saved engine ``state`` must not be restored for ``source_id`` (it belongs to another source, or
    nothing says which), or None when it belongs to this source."""
    try:
        doc = json.loads(record.read_bytes()[:65536])
    except (OSError, ValueError):
        return f"no record of its source in {record}"
    if not isinstance(doc, dict) or not isinstance(doc.get("source"), str):
        return f"{record} does not name a source"
    try:
        if doc.get("state_sha256") != _digest(state):
            return f"{record} describes another state file"
    except OSError as exc:
        return f"cannot read it: {exc}"
    if doc["source"] != source_id:
        return f"it belongs to the source {doc['source']}, not {source_id}"
    return None
