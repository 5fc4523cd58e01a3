"""Writes events into an outbox as fast as it can and reports each committed row id; tests SIGKILL it.

Usage: ``python outbox_writer.py PATH``. Prints ``<row id> <payload>`` after each ``put`` returned.
"""

from __future__ import annotations

import sys

from camdrift.agent.mqtt.outbox import Outbox


def main() -> int:
    box = Outbox(sys.argv[1])
    i = 0
    while True:
        i += 1
        payload = f"event-{i}".encode()
        row = box.put("p/cam/events", payload, qos=1, retain=False, kind="events")
        if i % 3 == 0:
            box.put("p/cam/metrics", b"metric", qos=0, retain=False, kind="metrics")
        if i % 5 == 0:
            box.ack(row - 1)  # acks interleave with puts, as in the sink
        sys.stdout.write(f"{row} {payload.decode()}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
