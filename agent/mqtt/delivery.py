"""Draining the outbox into paho: rows go out oldest first, at most ``inflight`` unacknowledged at a time.

Used by the sink's connection thread only (not thread-safe). A row leaves the outbox when its PUBACK arrives
(for QoS 0 metrics: when paho wrote it to the socket); a row the broker rejects (a failure reason code in the
PUBACK, MQTT 5) is discarded and logged; a metrics row older than its expiry is discarded unsent. Rows created
before the current connection was accepted are marked ``replayed`` (they waited through an outage or a
restart), so subscribers can tell a late message from a live one.

On each accepted connection :meth:`Delivery.birth` publishes the birth set's latest-value copies (see
:mod:`camdrift.agent.mqtt.availability`); they are not outbox rows, so their acknowledgements settle nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from camdrift.agent.mqtt.availability import LatestCopies
from camdrift.agent.mqtt.outbox import PRIORITY, Outbox, OutboxRow
from camdrift.agent.mqtt.settings import MqttSettings
from camdrift.agent.mqtt.window import InflightWindow
from camdrift.agent.output.events import MESSAGE_TYPES, mark_replayed

log = logging.getLogger("camdrift.agent.mqtt")

_SCHEMA_OF_KIND = {cls.TOPIC_KIND: cls.SCHEMA for cls in MESSAGE_TYPES}


class Delivery:
    """Hands ``outbox`` rows to a connected paho client and settles them when paho reports them done.

    ``clock`` is the wall clock (s) the outbox stamps rows with (``created``), for expiry and replay marks.
    ``published`` counts rows handed to paho, ``delivered`` rows acknowledged and deleted from the outbox.
    """

    def __init__(
        self, outbox: Outbox, settings: MqttSettings, camera_id: str, clock: Callable[[], float]
    ) -> None:
        self._outbox = outbox
        self._settings = settings
        self._camera_id = camera_id
        self._clock = clock
        self._window = InflightWindow(settings.inflight)
        self._connected_since = 0.0  # wall clock of the current connection: older rows are "replayed"
        self.published = 0
        self.delivered = 0

    def new_connection(self, since: float) -> None:
        """The broker accepted a connection at wall time ``since``: scan the outbox again from the oldest row."""
        self._connected_since = since
        self._window.rescan()

    def birth(self, client: mqtt.Client, copies: LatestCopies, qos: int = 1) -> int:
        """Publish (retained, at ``qos``) the newest copy of each latest-value topic that has no copy waiting
        in the outbox; returns how many. Copies older than the connection are marked ``replayed``."""
        waiting = self._outbox.retained_topics()
        now = self._clock()
        n = 0
        for topic, payload, kind, created in copies.items():
            if topic in waiting:
                continue  # a newer copy waits in the outbox and goes out next
            row = OutboxRow(0, topic, payload, qos, True, kind, PRIORITY.get(kind, 0), created, None)
            payload = self._as_sent(kind, payload, created)
            info = client.publish(topic, payload, qos=qos, retain=True, properties=self._properties(row, now))
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                break  # the connection went away again; the next connection publishes the birth set again
            n += 1
        return n

    def connection_lost(self) -> None:
        """QoS 0 rows paho had not written are gone with the socket; QoS 1 rows stay with paho."""
        self._window.connection_lost()

    def clear(self) -> None:
        """The paho client was dropped with its queue: every row not yet acknowledged is sent again."""
        self._window.clear()

    def pump(self, client: mqtt.Client) -> None:
        """Hand the next outbox rows to paho, oldest first, while the window has room."""
        if self._window.room <= 0:
            return
        rows = self._outbox.peek_batch(limit=self._window.scan_limit, after_id=self._window.cursor)
        now = self._clock()
        expired: list[int] = []
        for row in self._window.candidates(rows):
            if row.expiry_s is not None and now - row.created >= row.expiry_s:
                expired.append(row.id)
                self._window.passed(row)
                continue
            payload = self._as_sent(row.kind, row.payload, row.created)
            info = client.publish(
                row.topic, payload, qos=row.qos, retain=row.retain, properties=self._properties(row, now)
            )
            if info.rc == mqtt.MQTT_ERR_NO_CONN and row.qos == 0:
                break  # not queued by paho; the row is sent after the reconnect
            if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                raise RuntimeError(f"paho refused to queue outbox row {row.id}: {mqtt.error_string(info.rc)}")
            self._window.sent(info.mid, row)  # NO_CONN at QoS 1: paho keeps it and sends it on reconnect
            self.published += 1
        if expired:
            self._outbox.discard(expired, "expired")

    def settle(self, acks: Iterable[tuple[int, bool]]) -> None:
        """Paho reported messages done, as ``(mid, rejected)``: delete or discard their outbox rows."""
        done: list[int] = []
        rejected: list[int] = []
        for mid, is_rejected in acks:
            row_id = self._window.acked(mid)
            if row_id is not None:  # availability messages are not outbox rows
                (rejected if is_rejected else done).append(row_id)
        self.delivered += self._outbox.ack(*done)
        if rejected:
            log.error(
                "MQTT broker %s rejected %d message(s); discarded", self._settings.address, len(rejected)
            )
            self._outbox.discard(rejected, "rejected")

    def _as_sent(self, kind: str, payload: bytes, created: float) -> bytes:
        """``payload`` as it goes out: a JSON message older than this connection is marked ``replayed``; the
        episode's JPEG (``snapshot``) has no such field and goes as it is."""
        if created < self._connected_since and kind != "snapshot":
            return mark_replayed(payload)
        return payload

    def _properties(self, row: OutboxRow, now: float) -> Properties | None:
        """MQTT 5 properties of ``row``'s PUBLISH: content type, schema and camera, remaining expiry (s)."""
        if self._settings.protocol != "5":
            return None
        props = Properties(PacketTypes.PUBLISH)
        if row.kind == "snapshot":  # the episode's JPEG
            props.PayloadFormatIndicator = 0
            props.ContentType = "image/jpeg"
        else:
            props.PayloadFormatIndicator = 1  # UTF-8 text
            props.ContentType = "application/json"
        props.UserProperty = [("schema", _SCHEMA_OF_KIND.get(row.kind, "")), ("camera", self._camera_id)]
        if row.expiry_s is not None:
            props.MessageExpiryInterval = max(1, int(row.expiry_s - (now - row.created)))
        return props
