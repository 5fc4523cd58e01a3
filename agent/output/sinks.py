"""Local sinks: a JSON-lines file and a human-readable console stream.

Every sink takes the agent's messages (:mod:`camdrift.agent.output.events`) through ``send(message, envelope)``; the MQTT
sink (:class:`camdrift.agent.mqtt.sink.MqttSink`) has the same shape. The agent assigns each message one envelope
and hands the same one to every sink, so a message keeps its ``event_id`` and ``seq`` whichever sink carried it.

Order (one rule for every message): the durable MQTT outbox first, then the JSON-lines file, then the console
(``camdrift.agent.runtime.assembly.build_sinks``). So a kill between two sinks can leave an event in the outbox
that the file lacks (it is still delivered), never a line in the file that never reaches MQTT.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple, Protocol, TextIO

from camdrift.agent.output.events import Envelope, Event, Message, Sequencer, State, encode


class Backlog(NamedTuple):
    """What a sink holds undelivered: ``pending`` messages waiting, and the messages ``dropped`` per kind
    (since its store was created) because the store was full. A sink that writes at once holds none."""

    pending: int = 0
    dropped: Mapping[str, int] = {}


NO_BACKLOG = Backlog()


class Sink(Protocol):
    """Where messages go. ``send`` must not block the analysis for long; ``healthy`` feeds the watchdog.

    The daemon stops a sink with ``stop()`` (flush, deliver what it can) and then ``close()`` (release what
    ``stop`` left open, e.g. the MQTT outbox's database: what is undelivered stays on disk); ``backlog`` goes
    into the status message.
    """

    def send(self, message: Message, envelope: Envelope | None = None) -> object: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...

    @property
    def healthy(self) -> bool: ...

    @property
    def backlog(self) -> Backlog: ...


class JsonlSink:
    """Appends each message's JSON payload as one line to ``path`` (flushed per line, fsynced on stop).

    Events and state changes only by default: metrics and status are periodic and belong on MQTT.
    """

    def __init__(self, path: str | Path, sequencer: Sequencer, *, kinds: tuple[type, ...] = (Event, State)):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._sequencer = sequencer
        self._kinds = kinds
        self._lock = threading.Lock()
        self._file: TextIO | None = open(self.path, "a", encoding="utf-8")  # closed in stop()
        self._error: str | None = None

    def send(self, message: Message, envelope: Envelope | None = None) -> None:
        if not isinstance(message, self._kinds):
            return
        payload = encode(message, envelope) if envelope is not None else self._sequencer.encode(message)
        line = payload.decode("utf-8")
        with self._lock:
            if self._file is None:
                raise RuntimeError(f"JSON-lines sink {self.path} is stopped")
            try:
                self._file.write(line + "\n")
                self._file.flush()
                self._error = None
            except OSError as exc:
                self._error = f"cannot write {self.path}: {exc}"
                raise

    @property
    def healthy(self) -> bool:
        return self._file is not None and self._error is None

    @property
    def backlog(self) -> Backlog:
        return NO_BACKLOG  # every line is written when sent

    def stop(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()
                self._file = None

    def close(self) -> None:
        """Nothing beyond :meth:`stop`, which closed the file."""


def describe(message: Message) -> str | None:
    """One readable line for a person watching a terminal, or None for messages not worth a line."""
    if not isinstance(message, Event):
        return None
    where = ""
    if message.frame_index is not None:
        where = f" at frame {message.frame_index}"
        if message.stream_time is not None:
            where += f", t={message.stream_time:.1f}s"
    head = f"[{message.camera_id}] {message.kind}"
    if message.group:
        head += f" {message.group}"
    if message.episode_id:
        head += f" (episode {message.episode_id})"
    lines = [head + where]
    if message.summary:
        lines.append(f"    {message.summary}")
    others = [c.text for c in message.causes[1:3] if c.text not in message.summary]
    if others:
        lines.append(f"    also possible: {'; '.join(others)}")
    if message.evidence_id:
        lines.append(f"    evidence: {message.evidence_id}")
    return "\n".join(lines)


class ConsoleSink:
    """Writes events to a stream (stdout by default): :func:`describe` lines for a person (``fmt="text"``), or
    each event's JSON payload on one line for a log collector (``fmt="json"``). ``kinds``: only these event
    kinds (None: all)."""

    def __init__(
        self, stream: TextIO | None = None, fmt: str = "text", kinds: tuple[str, ...] | None = None
    ) -> None:
        if fmt not in ("text", "json"):
            raise ValueError(f"console format must be 'text' or 'json', got {fmt!r}")
        self._stream = stream if stream is not None else sys.stdout
        self._fmt = fmt
        self._kinds = kinds
        self._sequencer = Sequencer()
        self._lock = threading.Lock()

    def send(self, message: Message, envelope: Envelope | None = None) -> None:
        if self._kinds is not None and not (isinstance(message, Event) and message.kind in self._kinds):
            return
        if self._fmt == "json":
            if not isinstance(message, Event):
                return
            payload = encode(message, envelope) if envelope is not None else self._sequencer.encode(message)
            text = payload.decode("utf-8")
        else:
            text = describe(message)
        if text is None:
            return
        with self._lock:
            print(text, file=self._stream, flush=True)

    @property
    def healthy(self) -> bool:
        return True

    @property
    def backlog(self) -> Backlog:
        return NO_BACKLOG

    def stop(self) -> None:
        with self._lock:
            self._stream.flush()

    def close(self) -> None:
        """Nothing: the stream belongs to the caller (stdout by default)."""


def read_jsonl(path: str | Path) -> list[dict]:
    """The messages a JSON-lines sink wrote (for tools and tests); a torn last line is skipped."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # only the last line can be torn (a crash mid-write)
    return out
