"""``camdrift run`` that SIGKILLs itself between two sinks: when the second of the MQTT and JSON-lines sinks
is handed the first event (a test helper, run as a subprocess; arguments are ``camdrift run``'s).

Whichever order the agent uses, the process dies after the first sink took the event and before the second
did, so the test sees what a kill between the two leaves behind.
"""

from __future__ import annotations

import os
import signal
import sys

from camdrift.agent.mqtt.sink import MqttSink
from camdrift.agent.output.events import Envelope, Message
from camdrift.agent.output.sinks import JsonlSink

_handed: dict[str, int] = {}


def _watched(send):  # type: ignore[no-untyped-def]
    def send_then_maybe_die(self, message: Message, envelope: Envelope | None = None):  # type: ignore[no-untyped-def]
        if envelope is not None and message.TOPIC_KIND == "events":
            _handed[envelope.event_id] = _handed.get(envelope.event_id, 0) + 1
            if _handed[envelope.event_id] == 2:
                os.kill(os.getpid(), signal.SIGKILL)
        return send(self, message, envelope)

    return send_then_maybe_die


MqttSink.send = _watched(MqttSink.send)  # type: ignore[method-assign]
JsonlSink.send = _watched(JsonlSink.send)  # type: ignore[method-assign]

if __name__ == "__main__":
    from camdrift.agent.cli import main

    sys.exit(main(["run", *sys.argv[1:]]))
