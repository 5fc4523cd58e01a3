"""The messages camdrift publishes, and the one place they become JSON.

Every message is a frozen dataclass (:class:`Event`, :class:`Status`, :class:`State`, :class:`Metrics`, defined
in :mod:`camdrift.agent.output.messages` and importable from here). :func:`encode` is the single serialisation
point: it adds the envelope assigned by a :class:`Sequencer` (``schema``, ``event_id``, ``boot_id``, ``seq``,
``time``, ``replayed``) and produces the UTF-8 JSON payload described by ``agent/schema/messages.schema.json``.

``seq`` counts from 1 per (boot, camera, message type): each topic is its own stream. On the events stream every
message is delivered, so a gap means a lost event; state and status are latest-value streams (the outbox keeps
only the newest waiting copy per topic), so their ``seq`` increases but may skip; metrics may skip too (QoS 0,
expiring). ``event_id`` (uuid4 hex) makes at-least-once duplicates harmless.

>>> seq = Sequencer(boot_id="b" * 32, clock=lambda: 0.0)
>>> ev = Event(kind="drift.started", camera_id="cam1", frame_index=42, stream_time=1.4, episode_id="e1",
...            group="exposure", severity="warning", summary="image darker than baseline")
>>> doc = json.loads(seq.encode(ev))
>>> doc["schema"], doc["seq"], doc["time"], doc["replayed"]
('camdrift.event/1', 1, '1970-01-01T00:00:00.000Z', False)
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from camdrift.agent.output.messages import (
    EVENT_KINDS,
    MESSAGE_TYPES,
    SEVERITIES,
    VERDICTS,
    Cause,
    EpisodeState,
    Event,
    GroupMetric,
    GroupState,
    Message,
    Metrics,
    State,
    Status,
    iso_utc,
)

__all__ = [
    "EVENT_KINDS",
    "MESSAGE_TYPES",
    "SEVERITIES",
    "VERDICTS",
    "Cause",
    "Envelope",
    "EpisodeState",
    "Event",
    "GroupMetric",
    "GroupState",
    "Message",
    "Metrics",
    "Sequencer",
    "State",
    "Status",
    "encode",
    "iso_utc",
    "mark_replayed",
]


@dataclass(frozen=True)
class Envelope:
    """Fields every payload carries besides the message's own; ``time`` is a Unix time in seconds."""

    schema: str
    event_id: str
    boot_id: str
    seq: int
    time: float
    replayed: bool = False


class Sequencer:
    """Assigns envelopes: one ``boot_id`` per agent start and a ``seq`` per (camera, message type).

    Thread-safe: the engine thread and the status timer may both publish.
    """

    def __init__(self, boot_id: str | None = None, clock: Callable[[], float] = time.time) -> None:
        self.boot_id = boot_id if boot_id is not None else uuid.uuid4().hex
        self._clock = clock
        self._lock = threading.Lock()
        self._seq: dict[tuple[str, str], int] = {}

    def next(self, message: Message) -> Envelope:
        """The envelope for ``message`` (advances its sequence)."""
        key = (message.camera_id, message.SCHEMA)
        with self._lock:
            seq = self._seq.get(key, 0) + 1
            self._seq[key] = seq
        return Envelope(message.SCHEMA, uuid.uuid4().hex, self.boot_id, seq, self._clock())

    def encode(self, message: Message) -> bytes:
        """``encode(message, self.next(message))``."""
        return encode(message, self.next(message))


def encode(message: Message, envelope: Envelope) -> bytes:
    """The JSON payload (UTF-8) of ``message`` with ``envelope``: the only place messages become JSON."""
    if not isinstance(message, MESSAGE_TYPES):
        raise TypeError(f"not a camdrift message: {type(message).__name__}")
    if envelope.schema != message.SCHEMA:
        raise ValueError(f"envelope schema {envelope.schema!r} does not match {message.SCHEMA!r}")
    doc: dict[str, Any] = {
        "schema": envelope.schema,
        "event_id": envelope.event_id,
        "boot_id": envelope.boot_id,
        "seq": envelope.seq,
        "time": iso_utc(envelope.time),
        "camera_id": message.camera_id,
        "frame_index": message.frame_index,
        "stream_time": message.stream_time,
        "replayed": envelope.replayed,
    }
    doc.update(message._body())
    # allow_nan=False: NaN/Infinity are not JSON; the constructors already reject them, this makes it certain.
    return json.dumps(doc, separators=(",", ":"), allow_nan=False, ensure_ascii=False).encode("utf-8")


def mark_replayed(payload: bytes) -> bytes:
    """``payload`` with ``replayed: true``: it waited in the outbox for the broker (outage or restart)."""
    doc = json.loads(payload)
    if doc.get("replayed") is True:
        return payload
    doc["replayed"] = True
    return json.dumps(doc, separators=(",", ":"), allow_nan=False, ensure_ascii=False).encode("utf-8")
