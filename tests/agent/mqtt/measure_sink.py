"""Measure the MQTT sink (a script, not a test): events/s to a local mosquitto, outbox size per 10,000 events
(realistic ``drift.updated`` payloads, ~3.2 kB of JSON each).

Usage: ``.venv/bin/python -m tests.agent.mqtt.measure_sink [N]`` from the repository root.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

from camdrift.agent.mqtt.outbox import Outbox
from camdrift.agent.mqtt.settings import MqttSettings
from camdrift.agent.mqtt.sink import MqttSink
from camdrift.agent.output.events import Event, Sequencer
from tests.agent.mqtt.broker import Mosquitto

_CAUSES = (
    ("lighting", "mean luma -15% since baseline, uniform across the frame: lighting"),
    (
        "gamma",
        "midtones -16%, shadows -16%, highlights -14% (tone curve exponent x1.02), black and white hold",
    ),
    ("smudge", "local sharpness down in 8 of 16 cells (worst cell -7 sd): smudge or partial occlusion"),
    ("white_balance", "R/G +4%, B/G -1.6%: warmer light / white balance"),
    (
        "content",
        "histograms moved (PSI up to 0.928) while the scene's low-level statistics hold: content changed",
    ),
    ("camera_moved", "image shifted 0 px right, 0 px up: camera moved"),
    ("defocus", "sharpness -19%, noise -11%, over 50% of the frame: defocus or dirty lens"),
    ("noise", "noise -11%, tones -15%: sensor noise / gain setting"),
)


_STATS = ("brightness", "contrast", "sharpness", "noise", "rg", "bg", "under_exposed", "over_exposed")
_STATS += tuple(f"luma_p{p}" for p in (10, 25, 50, 75, 90))
_NUMBERS = ["score", "threshold"]
_NUMBERS += [f"{d}.{c}" for c in ("blue", "green", "red", "luma") for d in ("psi", "js", "w1")]
_NUMBERS += [f"{k}.{s}" for s in _STATS for k in ("z", "rel")] + ["shift_x_px", "shift_y_px", "rotation_deg"]
_NUMBERS += [f"cusum.{s}" for s in _STATS]


def _event(i: int) -> Event:
    """A ``drift.updated`` as the agent publishes it: 8 causes and 55 numbers (full float precision)."""
    rng = random.Random(i)
    return Event(
        kind="drift.updated",
        camera_id="cam-1",
        frame_index=i,
        stream_time=i / 25,
        episode_id="b49cb66fc0de1ad2",
        group="shift.luma_p50",
        severity="critical",
        summary=_CAUSES[0][1],
        causes=tuple((code, text, rng.random() * 6) for code, text in _CAUSES),
        numbers={name: rng.gauss(0, 10) for name in _NUMBERS},
        evidence_id=None,
    )


def _wait(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.005)


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    work = Path(tempfile.mkdtemp(prefix="camdrift-measure-"))
    broker = Mosquitto(work / "broker").start()
    try:
        box = Outbox(work / "outbox.sqlite")
        sink = MqttSink(
            MqttSettings(host="127.0.0.1", port=broker.port, prefix="camdrift/m", inflight=100),
            "cam-1",
            box,
            Sequencer(),
        )
        sink.start()
        _wait(lambda: sink.connected, 5)
        t0 = time.perf_counter()
        for i in range(n):
            sink.send(_event(i))
        t_put = time.perf_counter() - t0
        _wait(lambda: box.pending == 0, 120)
        t_all = time.perf_counter() - t0
        print(
            f"{n} events, QoS 1, local mosquitto: put (fsync'd) {n / t_put:,.0f}/s; "
            f"sent and PUBACKed end to end {n / t_all:,.0f}/s"
        )
        sink.stop()
        box.close()
    finally:
        broker.kill()

    # Broker absent: 10,000 events wait in the outbox.
    path = work / "queued.sqlite"
    box = Outbox(path)
    seq = Sequencer()
    payload_bytes = 0
    for i in range(10_000):
        payload = seq.encode(_event(i))
        payload_bytes += len(payload)
        box.put("camdrift/m/cam-1/events", payload, qos=1, retain=False, kind="events")
    live = path.stat().st_size + Path(str(path) + "-wal").stat().st_size
    box.close()
    print(
        f"10,000 queued events: payload {payload_bytes / 1e6:.2f} MB; outbox file {path.stat().st_size / 1e6:.2f} MB "
        f"after checkpoint ({live / 1e6:.2f} MB with WAL while open)"
    )

    # The broker comes back: how fast the backlog drains (replayed, in order).
    broker = Mosquitto(work / "broker2").start()
    try:
        box = Outbox(path)
        sink = MqttSink(
            MqttSettings(host="127.0.0.1", port=broker.port, prefix="camdrift/m", inflight=100),
            "cam-1",
            box,
            Sequencer(),
        )
        t0 = time.perf_counter()
        sink.start()
        _wait(lambda: box.pending == 0, 120)
        print(f"backlog of 10,000 drained at {10_000 / (time.perf_counter() - t0):,.0f} events/s")
        sink.stop()
        box.close()
    finally:
        broker.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
