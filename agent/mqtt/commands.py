"""The command topic: what a plant operator may ask an agent, and its replies.

``<prefix>/<camera>/command`` takes one JSON object (at most :data:`MAX_BYTES`, UTF-8)::

    {"schema": "camdrift.command/1", "id": "op-42", "command": "refresh"}
    {"schema": "camdrift.command/1", "id": "op-43", "command": "capture"}
    {"schema": "camdrift.command/1", "id": "op-44", "command": "ack", "episode_id": "9c09342f09d5107a"}

``refresh`` republishes the birth set (availability, status, state, Home Assistant's configs); ``capture`` saves
an evidence capture of the last analysed frame now (its ``evidence_id`` in the reply); ``ack`` acknowledges the
open episode (the retained state then says so). Every command gets one reply on ``.../command/reply`` (QoS 1,
not retained)::

    {"schema": "camdrift.command_reply/1", "camera_id": "line3-top", "id": "op-43", "command": "capture",
     "ok": true, "error": null, "evidence_id": "capture-f1203-t240600", "time": "2026-12-04T10:00:00.000Z"}

A payload that is not such an object, names another schema or an unknown command gets ``ok: false`` with the
reason (``id`` null when it could not be read); nothing a command topic carries can stop the agent.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from typing import Any, NamedTuple, Protocol, runtime_checkable

import paho.mqtt.client as mqtt

from camdrift.agent.output.messages import iso_utc

SCHEMA = "camdrift.command/1"
REPLY_SCHEMA = "camdrift.command_reply/1"
COMMANDS = ("refresh", "capture", "ack")
MAX_BYTES = 4096
MAX_PENDING = 16  # commands waiting for the agent's loop; more are refused as busy
MAX_REPLIES = 64  # replies waiting for a connection; the oldest go
_ID_CHARS = 128


class Command(NamedTuple):
    """One valid request: its ``id`` (echoed in the reply), the command, the episode an ``ack`` names."""

    id: str
    command: str
    episode_id: str | None = None


class CommandReply(NamedTuple):
    """The answer to one request; ``id``/``command`` None when the request could not be read."""

    id: str | None
    command: str | None
    ok: bool
    error: str | None = None
    evidence_id: str | None = None


def parse_command(payload: bytes) -> Command | CommandReply:
    """The command ``payload`` asks for, or the error reply it gets."""
    if len(payload) > MAX_BYTES:
        return CommandReply(None, None, False, f"command payload of {len(payload)} bytes exceeds {MAX_BYTES}")
    try:
        doc: Any = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return CommandReply(None, None, False, "command payload is not a JSON object")
    if not isinstance(doc, dict):
        return CommandReply(None, None, False, "command payload is not a JSON object")
    ident = doc.get("id")
    if not isinstance(ident, str) or not 0 < len(ident) <= _ID_CHARS:
        return CommandReply(None, None, False, f"'id' must be a string of 1..{_ID_CHARS} characters")
    name = doc.get("command")
    command = name if isinstance(name, str) and name in COMMANDS else None
    if doc.get("schema") != SCHEMA:
        return CommandReply(ident, command, False, f"'schema' must be {SCHEMA!r}, got {doc.get('schema')!r}")
    if command is None:
        return CommandReply(
            ident, None, False, f"unknown command {name!r}; expected one of {', '.join(COMMANDS)}"
        )
    episode = doc.get("episode_id")
    if command == "ack" and episode is None:
        return CommandReply(ident, command, False, "'ack' needs 'episode_id', the episode to acknowledge")
    if command == "ack" and (not isinstance(episode, str) or not 0 < len(episode) <= _ID_CHARS):
        return CommandReply(
            ident, command, False, f"'episode_id' must be a string of 1..{_ID_CHARS} characters"
        )
    return Command(ident, command, episode if command == "ack" else None)


def encode_reply(reply: CommandReply, camera_id: str, now: float) -> bytes:
    """The reply's JSON payload (``now``: Unix s)."""
    doc = {"schema": REPLY_SCHEMA, "camera_id": camera_id, **reply._asdict(), "time": iso_utc(now)}
    return json.dumps(doc, separators=(",", ":")).encode()


class CommandDesk:
    """Between the MQTT connection thread (:meth:`receive`, :meth:`flush`) and the agent's loop (:meth:`take`,
    :meth:`answer`): requests wait here to be carried out, replies to be published (thread-safe, bounded)."""

    def __init__(self, command_topic: str, camera_id: str) -> None:
        self.topic = command_topic
        self.reply_topic = f"{command_topic}/reply"
        self._camera = camera_id
        self._lock = threading.Lock()
        self._pending: deque[Command] = deque()
        self._replies: deque[CommandReply] = deque(maxlen=MAX_REPLIES)

    def receive(self, payload: bytes, retained: bool = False) -> None:
        """A message on the command topic: queued for the agent, or answered at once with its error. A retained
        command is refused: the broker would hand it over again on every reconnect and restart."""
        parsed = parse_command(payload)
        if retained and isinstance(parsed, Command):
            parsed = CommandReply(
                parsed.id,
                parsed.command,
                False,
                "a retained command is not carried out: "
                "publish it without the retain flag (and clear the retained one)",
            )
        with self._lock:
            if isinstance(parsed, CommandReply):
                self._replies.append(parsed)
            elif len(self._pending) >= MAX_PENDING:
                self._replies.append(
                    CommandReply(parsed.id, parsed.command, False, "busy: too many commands")
                )
            else:
                self._pending.append(parsed)

    def take(self) -> list[Command]:
        """The requests waiting, oldest first (the agent's loop carries them out)."""
        with self._lock:
            out = list(self._pending)
            self._pending.clear()
        return out

    def answer(self, reply: CommandReply) -> None:
        with self._lock:
            self._replies.append(reply)

    def flush(self, client: mqtt.Client) -> int:
        """Publish the replies waiting (connection thread, while connected); returns how many."""
        with self._lock:
            replies = list(self._replies)
            self._replies.clear()
        now = time.time()
        for reply in replies:
            client.publish(self.reply_topic, encode_reply(reply, self._camera, now), qos=1, retain=False)
        return len(replies)


@runtime_checkable
class Commanded(Protocol):
    """A sink that receives commands (the MQTT sink): its desk (None when commands are off), and a way to
    publish its birth set again (``refresh``)."""

    commands: CommandDesk | None

    def rebirth(self) -> None: ...
