"""The availability topic of one camera: the last will, the birth message and the clean goodbye.

``<prefix>/<camera>/availability`` carries ``online`` or ``offline``, retained at QoS 1, so a subscriber that
connects at any time sees whether the agent is there. Three moments write it:

- the **last will** (``offline``), handed to the broker with each connection: the broker publishes it when the
  agent dies or the network drops without a clean DISCONNECT;
- the **birth message** (``online``), published as soon as the broker accepts a connection;
- the **goodbye** (``offline``), published on a clean stop before disconnecting (a clean DISCONNECT makes the
  broker discard the will, so the agent says it itself).

The birth message opens the **birth set**: on every accepted connection the agent publishes ``online`` and then
the newest copy of each latest-value topic (``status``, ``state``) it has sent, unless a newer copy still waits
in the outbox (it goes out next anyway). So a broker that restarted without persistence (and lost its retained
messages) shows a late subscriber the whole truth again, not only the topics that happened to change since.
:class:`LatestCopies` keeps those copies.
"""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt

from camdrift.agent.mqtt.topics import topic

ONLINE = b"online"
OFFLINE = b"offline"
QOS = 1


class Availability:
    """Writes the availability topic of ``camera`` under ``prefix`` (names validated by :func:`topic`)."""

    def __init__(self, prefix: str, camera: str) -> None:
        self.topic = topic(prefix, camera, "availability")

    def set_will(self, client: mqtt.Client) -> None:
        """Register ``offline`` as the will of ``client``'s next connections (call before connecting)."""
        client.will_set(self.topic, OFFLINE, qos=QOS, retain=True)

    def online(self, client: mqtt.Client) -> mqtt.MQTTMessageInfo:
        """Publish the birth message (from ``on_connect``, once the broker accepted the connection)."""
        return client.publish(self.topic, ONLINE, qos=QOS, retain=True)

    def offline(self, client: mqtt.Client) -> mqtt.MQTTMessageInfo:
        """Publish the goodbye of a clean stop; wait for ``is_published()`` before disconnecting."""
        return client.publish(self.topic, OFFLINE, qos=QOS, retain=True)


class LatestCopies:
    """The newest payload sent per latest-value topic (``status``, ``state``), for the birth set (thread-safe:
    the engine thread records, the connection thread reads). ``created`` is the wall time (s) of the record.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._copies: dict[str, tuple[bytes, str, float]] = {}

    def record(self, topic: str, payload: bytes, kind: str, created: float) -> None:
        """``payload`` (of topic kind ``kind``) is now the newest truth of ``topic``."""
        with self._lock:
            self._copies[topic] = (payload, kind, created)

    def items(self) -> list[tuple[str, bytes, str, float]]:
        """``(topic, payload, kind, created)`` of every topic, in the order they were first recorded."""
        with self._lock:
            return [(t, p, k, c) for t, (p, k, c) in self._copies.items()]
