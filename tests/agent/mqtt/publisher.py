"""A stand-in for the daemon: ``Outbox`` + ``MqttSink`` exactly as ``camdrift run`` will use them.

Run as a separate process so tests can SIGKILL it. Usage: ``python publisher.py CONFIG.json``; the config holds
``settings`` (MqttSettings fields), ``camera``, ``outbox`` (path) and optional ``max_rows``/``max_bytes``.
Reads one JSON command per line on stdin and answers one JSON line on stdout:

- ``{"op": "events", "n": N, "start": F, "dt": S}``: N drift events, frame_index F.., stream_time step S;
  answers the event ids in order
- ``{"op": "status"}``, ``{"op": "state", "score": F}``, ``{"op": "metrics"}``: one message of that type;
  answers its event id
- ``{"op": "mixed", "n": N, "states": K}``: N rounds of one event then K states, as fast as the sink takes
  them; answers the event ids and the state ids in order
- ``{"op": "info"}``: connected, healthy, last_error, pending, dropped
- ``{"op": "stop", "drain": S}``: clean stop (publishes ``offline``), then exit
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

from camdrift.agent.drift.features import SCALARS
from camdrift.agent.drift.statistics import statistic_names
from camdrift.agent.mqtt.outbox import Outbox
from camdrift.agent.mqtt.settings import MqttSettings
from camdrift.agent.mqtt.sink import MqttSink
from camdrift.agent.output.events import (
    EpisodeState,
    Event,
    GroupMetric,
    GroupState,
    Metrics,
    Sequencer,
    State,
    Status,
)

PATH_FIELDS = ("password_file", "tls_ca", "tls_cert", "tls_key", "tls_key_password_file")


class RecordingSequencer(Sequencer):
    """Remembers the event_id of the last payload it encoded, so the test knows what to expect."""

    last_id = ""

    def encode(self, message):  # type: ignore[override]
        payload = super().encode(message)
        self.last_id = json.loads(payload)["event_id"]
        return payload


def _state(camera: str, frame: int, score: float) -> State:
    """A state as the agent publishes it: every statistic of the engine, brightness drifting in episode
    ep-1 since stream time 12 s with its cause named, the rest ok."""
    names = statistic_names(SCALARS) + tuple(f"cusum.{s}" for s in SCALARS)
    drifting = {"shift.brightness", "psi.luma"}
    return State(
        camera_id=camera,
        frame_index=frame,
        stream_time=float(frame),
        baseline_id="bl-1",
        groups=tuple(
            GroupState(n, "drift", "ep-1", score, 0.2, 12.0)
            if n in drifting
            else GroupState(n, "ok", None, 0.01, 0.2, 0.0)
            for n in names
        ),
        episode=EpisodeState(
            "ep-1", 12.0, "lighting", "mean luma -15% since baseline, uniform across the frame: lighting"
        ),
    )


def main() -> int:
    cfg = json.loads(Path(sys.argv[1]).read_text())
    logging.basicConfig(
        level=logging.DEBUG, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    fields = dict(cfg["settings"])
    for name in PATH_FIELDS:
        if fields.get(name):
            fields[name] = Path(fields[name])
    settings = MqttSettings(**fields)
    camera = cfg["camera"]
    outbox = Outbox(
        cfg["outbox"], max_rows=cfg.get("max_rows", 100_000), max_bytes=cfg.get("max_bytes", 2**26)
    )
    seq = RecordingSequencer()
    sink = MqttSink(settings, camera, outbox, seq)
    sink.start()
    started = time.time()
    frame = 0

    def answer(doc: dict) -> None:
        sys.stdout.write(json.dumps(doc) + "\n")
        sys.stdout.flush()

    answer({"ready": True, "boot_id": seq.boot_id})
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "events":
            ids = []
            if "start" in cmd:
                frame = cmd["start"] - 1
            for _ in range(cmd["n"]):
                frame += 1
                ev = Event(
                    kind=cmd.get("kind", "drift.updated"),
                    camera_id=camera,
                    frame_index=frame,
                    stream_time=frame * cmd.get("dt", 1.0),
                    episode_id="ep-1",
                    group="exposure",
                    severity="warning",
                    summary=f"event {frame}",
                    causes=(("mean_shift", "mean luminance moved", 2.5),),
                    numbers={"psi": 0.31},
                    evidence_id=None,
                )
                sink.send(ev)
                ids.append(seq.last_id)
            answer({"ids": ids})
        elif op == "status":
            sink.send(
                Status(
                    camera_id=camera,
                    frame_index=frame,
                    stream_time=float(frame),
                    agent_version="0.1.0",
                    config_hash="c0ffee",
                    started_at=started,
                    source_state="streaming",
                    baseline_id="bl-1",
                    baseline_age_s=3600.0,
                    analysis_fps=2.0,
                    cpu_budget_use=0.4,
                    frames_seen=frame,
                    frames_analysed=frame,
                    frames_dropped=0,
                    outbox_pending=outbox.pending,
                    outbox_dropped=outbox.dropped,
                )
            )
            answer({"ok": True, "id": seq.last_id})
        elif op == "state":
            sink.send(_state(camera, frame, cmd.get("score", 0.31)))
            answer({"ok": True, "id": seq.last_id})
        elif op == "mixed":
            ids, states = [], []
            for i in range(cmd["n"]):
                frame += 1
                sink.send(
                    Event(kind="drift.updated", camera_id=camera, frame_index=frame, stream_time=float(frame))
                )
                ids.append(seq.last_id)
                for k in range(cmd["states"]):
                    sink.send(_state(camera, frame, 0.3 + 0.001 * (i * cmd["states"] + k)))
                    states.append(seq.last_id)
            answer({"ids": ids, "states": states})
        elif op == "metrics":
            sink.send(
                Metrics(
                    camera_id=camera,
                    frame_index=frame,
                    stream_time=float(frame),
                    period_s=10.0,
                    groups=(
                        GroupMetric("exposure", "psi", 0.31, 0.2),
                        GroupMetric("focus", "psi", None, 0.2),
                    ),
                )
            )
            answer({"ok": True})
        elif op == "info":
            answer(
                {
                    "connected": sink.connected,
                    "healthy": sink.healthy,
                    "last_error": sink.last_error,
                    "pending": outbox.pending,
                    "dropped": outbox.dropped,
                }
            )
        elif op == "stop":
            sink.stop(drain_s=cmd.get("drain", 5.0))
            answer({"stopped": True, "pending": outbox.pending})
            outbox.close()
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
