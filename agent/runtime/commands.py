"""Carrying out the operators' commands (:mod:`camdrift.agent.mqtt.commands`) in the daemon's loop.

``refresh`` publishes the status and state afresh (through every sink) and asks the MQTT sinks for their birth
set again; ``capture`` saves the last analysed frame as evidence now; ``ack`` acknowledges the open episode.
The acknowledgement is kept in ``<state dir>/acknowledged.json`` so a restart does not take it back (it names
one episode, and means nothing once that episode has ended).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from camdrift.agent.files import atomic_write_bytes
from camdrift.agent.mqtt.commands import Command, Commanded, CommandReply
from camdrift.agent.predictions.flags import flag_note
from camdrift.agent.runtime.assembly import Assembly

log = logging.getLogger("camdrift.agent")
_MAX_FILE = 4096


def load_acknowledged(path: Path) -> str | None:
    """The episode id an operator acknowledged before the agent (re)started, or None."""
    try:
        if path.stat().st_size > _MAX_FILE:
            return None
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    episode = doc.get("episode_id") if isinstance(doc, dict) else None
    return episode if isinstance(episode, str) and episode else None


class CommandRunner:
    """Answers one command at a time against the running parts.

    acknowledged_path: where the acknowledgement is kept; publish_status: publishes a fresh status message;
    wall_clock: Unix s, for the capture's time.
    """

    def __init__(
        self, acknowledged_path: Path, publish_status: Callable[[], None], wall_clock: Callable[[], float]
    ) -> None:
        self.path = acknowledged_path
        self._publish_status = publish_status
        self._wall = wall_clock
        self._captured: tuple[tuple[int, float], str] | None = None  # (frame index, stream time), evidence id

    def take_and_run(self, parts: Assembly) -> None:
        """Carries out every command the sinks hold and hands each its reply (the daemon's loop calls this)."""
        for sink in parts.sinks:
            if isinstance(sink, Commanded) and sink.commands is not None:
                for command in sink.commands.take():
                    sink.commands.answer(self.run(command, parts))

    def restore(self, parts: Assembly) -> None:
        """After a start: the acknowledgement of the episode the engine restored, if there was one."""
        parts.pipeline.headline.acknowledged = load_acknowledged(self.path)

    def run(self, command: Command, parts: Assembly) -> CommandReply:
        try:
            if command.command == "refresh":
                return self._refresh(command, parts)
            if command.command == "capture":
                return self._capture(command, parts)
            return self._ack(command, parts)
        except (OSError, ValueError) as exc:  # a full disk, an unwritable state dir: said, never raised
            log.error("command %s (%s) failed: %s", command.command, command.id, exc)
            return CommandReply(command.id, command.command, False, f"failed: {exc}")

    def _refresh(self, command: Command, parts: Assembly) -> CommandReply:
        self._publish_status()
        parts.pipeline.publish(parts.pipeline.state())
        for sink in parts.sinks:
            if isinstance(sink, Commanded):
                sink.rebirth()
        return CommandReply(command.id, command.command, True)

    def _capture(self, command: Command, parts: Assembly) -> CommandReply:
        frame = parts.pipeline.last_frame
        if parts.evidence is None:
            return CommandReply(
                command.id, command.command, False, "evidence is off (evidence.max_bytes = 0)"
            )
        if frame is None:
            return CommandReply(command.id, command.command, False, "no frame analysed yet")
        key = (frame.frame_index, frame.stream_time)
        if self._captured is not None and self._captured[0] == key:
            # no new frame since the last capture (a stalled source, a double press): that capture is this one
            return CommandReply(command.id, command.command, True, evidence_id=self._captured[1])
        record = parts.evidence.capture_flag(
            camera_id=parts.pipeline.camera_id,
            frame_index=frame.frame_index,
            stream_time=frame.stream_time,
            created_at=self._wall(),
            frame=frame.image,
            note=flag_note(f"capture command {command.id}"),
            outputs=frame.outputs,
            context=parts.pipeline.capture_context(),
            prefix="capture",  # not the id of an app-flagged capture of the same frame
        )
        if record is None:
            return CommandReply(command.id, command.command, False, "the capture exceeds the evidence cap")
        self._captured = (key, record.evidence_id)
        return CommandReply(command.id, command.command, True, evidence_id=record.evidence_id)

    def _ack(self, command: Command, parts: Assembly) -> CommandReply:
        pipeline = parts.pipeline
        open_id = pipeline.engine.snapshot().episode_id
        if command.episode_id != open_id:
            now = f"episode {open_id} is open" if open_id else "no episode is open"
            return CommandReply(
                command.id, command.command, False, f"episode {command.episode_id} is not open ({now})"
            )
        atomic_write_bytes(self.path, json.dumps({"episode_id": open_id}).encode())
        pipeline.headline.acknowledged = open_id
        pipeline.publish(pipeline.state())
        log.info("episode %s acknowledged (command %s)", open_id, command.id)
        return CommandReply(command.id, command.command, True)
