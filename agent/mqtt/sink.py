"""``MqttSink``: publishes camdrift messages from the durable outbox over one MQTT connection per camera.

One connection per camera because MQTT allows one last will per connection, and the will is what marks
``<prefix>/<camera>/availability`` ``offline`` when the agent dies (:mod:`camdrift.agent.mqtt.availability`).

Flow: :meth:`MqttSink.send` serialises a message (``camdrift.agent.output.events``) and writes it to the
:class:`~camdrift.agent.mqtt.outbox.Outbox`; nothing else. One thread owns the paho client
(:class:`~camdrift.agent.mqtt.connection.Connection`): it connects, runs the network loop, hands outbox rows
to paho in order (:class:`~camdrift.agent.mqtt.delivery.Delivery`, at most ``inflight`` unacknowledged), and
deletes a row when its PUBACK arrives (for QoS 0 metrics, when written to the socket). While the broker is away
the rows wait on disk; paho resends the ones it already holds when the connection returns, then the rest follow.

The client id is fixed per site and camera by default (``camdrift-<site>-<camera>``,
:func:`~camdrift.agent.mqtt.settings.default_client_id`), so after a power cut that left the broker's side of
the old TCP connection open, the restarted agent takes the session over: the broker fires the stale will at
once, before the new birth set, instead of ~1.5 keepalives later over the live agent.

On every accepted connection the birth set goes out: ``online``, then the newest status and state (see
:mod:`camdrift.agent.mqtt.availability`), then Home Assistant's discovery configs when enabled
(:mod:`camdrift.agent.mqtt.homeassistant`). The sink subscribes to its camera's command topic and holds the
requests for the daemon's loop in :attr:`MqttSink.commands` (:mod:`camdrift.agent.mqtt.commands`). The thread calls ``connect()`` itself (the exception says what went
wrong) and backs off between attempts, doubling from ``reconnect_min_s`` to ``reconnect_max_s`` with jitter
(:func:`~camdrift.agent.mqtt.settings.backoff_delays`; back to the minimum after an accepted connection).
An exception in a callback or in the thread is caught, logged, counted, makes :attr:`MqttSink.healthy` false
for the watchdog and resets the connection, instead of silently ending the thread.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator

import paho.mqtt.client as mqtt

from camdrift.agent.mqtt.availability import Availability, LatestCopies
from camdrift.agent.mqtt.commands import CommandDesk
from camdrift.agent.mqtt.connection import Connection, Health
from camdrift.agent.mqtt.delivery import Delivery
from camdrift.agent.mqtt.homeassistant import Discovery
from camdrift.agent.mqtt.outbox import Outbox
from camdrift.agent.mqtt.settings import MqttSettings, backoff_delays, default_client_id
from camdrift.agent.mqtt.snapshot import safe_snapshot
from camdrift.agent.mqtt.topics import topic, validate_camera_id
from camdrift.agent.output.events import Envelope, Event, Message, Sequencer, encode
from camdrift.agent.output.sinks import Backlog

log = logging.getLogger("camdrift.agent.mqtt")

# topic kind -> (qos, retain)
DELIVERY: dict[str, tuple[int, bool]] = {
    "snapshot": (1, True),
    "events": (1, False),
    "status": (1, True),
    "state": (1, True),
    "metrics": (0, False),
}
_OFFLINE_WAIT_S = 2.0  # on a clean stop: how long to wait for the broker to acknowledge "offline"


class MqttSink:
    """Publishes one camera's messages; the daemon calls :meth:`start`, :meth:`send`, :meth:`stop` and
    :meth:`close` (the :class:`~camdrift.agent.output.sinks.Sink` protocol).

    ``outbox`` and ``sequencer`` are made by the caller (one outbox per camera; one sequencer per agent);
    :meth:`close` closes the outbox.
    ``clock`` is the wall clock (s) the outbox rows are compared with (expiry, replay marks).
    """

    def __init__(
        self,
        settings: MqttSettings,
        camera_id: str,
        outbox: Outbox,
        sequencer: Sequencer,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.camera_id = validate_camera_id(camera_id)
        self.outbox = outbox
        self.sequencer = sequencer
        availability = Availability(settings.prefix, camera_id)
        self.availability_topic = availability.topic
        self.client_id = settings.client_id or default_client_id(settings.site, self.camera_id)
        self._availability = availability
        self._clock = clock
        self._latest = LatestCopies()
        self._thread: threading.Thread | None = None
        self._stop_requested = threading.Event()
        self._rebirth = threading.Event()
        self._drain_s = 0.0
        self._health = Health()
        self._delivery = Delivery(outbox, settings, self.camera_id, clock)
        self._discovery = Discovery(settings, self.camera_id)
        self.commands = (
            CommandDesk(topic(settings.prefix, self.camera_id, "command"), self.camera_id)
            if settings.commands
            else None
        )
        self._connection = Connection(
            settings,
            self.client_id,
            availability,
            self._health,
            self._stop_requested,
            clock=clock,
            on_connected=self._delivery.new_connection,
            queued=lambda: outbox.pending,
            on_message=self._on_message,
        )

    # -- the daemon's side ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the connection thread (returns at once; the broker may be down, messages then wait)."""
        if self._thread is not None:
            raise RuntimeError("MqttSink already started")
        self._thread = threading.Thread(
            target=self._main, name=f"camdrift-mqtt-{self.camera_id}", daemon=True
        )
        self._thread.start()

    def send(self, message: Message, envelope: Envelope | None = None) -> int | None:
        """Serialise ``message`` and queue it durably; returns the outbox row id (None: dropped, outbox full).

        ``envelope``: the one the agent assigned (so every sink carries the same ``event_id`` and ``seq``);
        None takes the next from this sink's sequencer."""
        if message.camera_id != self.camera_id:
            raise ValueError(
                f"message for camera {message.camera_id!r} sent to the sink of {self.camera_id!r}"
            )
        kind = message.TOPIC_KIND
        qos, retain = DELIVERY[kind]
        expiry = self.settings.metrics_expiry_s if kind == "metrics" else None
        payload = encode(message, envelope) if envelope is not None else self.sequencer.encode(message)
        name = topic(self.settings.prefix, self.camera_id, kind)
        row = self.outbox.put(name, payload, qos, retain, kind, expiry_s=expiry)
        if retain:
            self._latest.record(name, payload, kind, self._clock())
        if isinstance(message, Event) and message.kind == "drift.started" and message.evidence_id:
            self._snapshot(message.evidence_id)
        return row

    def _snapshot(self, evidence_id: str) -> None:
        """The episode's evidence JPEG, retained on ``.../snapshot`` (with ``snapshot_dir`` set)."""
        jpeg = safe_snapshot(self.settings.snapshot_dir, evidence_id, self.settings.snapshot_max_bytes)
        if jpeg is not None:
            name = topic(self.settings.prefix, self.camera_id, "snapshot")
            self.outbox.put(name, jpeg, 1, True, "snapshot")
            self._latest.record(name, jpeg, "snapshot", self._clock())

    def rebirth(self) -> None:
        """Publish ``online`` and Home Assistant's configs again at the next turn of the connection thread (the
        ``refresh`` command; the status and state go out through :meth:`send` as usual)."""
        self._rebirth.set()

    def stop(self, drain_s: float = 5.0, timeout_s: float = 10.0) -> None:
        """Stop cleanly: deliver what is queued for up to ``drain_s``, publish ``offline``, disconnect.

        What is not delivered stays in the outbox for the next start.
        """
        self._drain_s = drain_s
        self._stop_requested.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def close(self) -> None:
        """After :meth:`stop`: close the outbox; what is undelivered stays on disk for the next start."""
        self.outbox.close()

    @property
    def backlog(self) -> Backlog:
        """Messages waiting in the outbox, and those the full outbox dropped per kind (for the status)."""
        return Backlog(self.outbox.pending, self.outbox.dropped)

    @property
    def connected(self) -> bool:
        """True once the broker accepted the connection (CONNACK success), until it is lost."""
        return self._connection.connected

    @property
    def healthy(self) -> bool:
        """For the watchdog: the thread runs, is not stuck, and no callback or loop raised unexpectedly.

        Broker outages and refused logins are not faults (see :attr:`last_error`); a fault is sticky.
        """
        alive = self._thread is not None and self._thread.is_alive()
        return alive and self._health.ok()

    @property
    def last_error(self) -> str | None:
        """Why the sink is not connected (None when connected or never tried)."""
        return self._connection.error

    @property
    def faults(self) -> int:
        """Exceptions caught in callbacks or in the thread since start (bugs, not outages)."""
        return self._health.faults

    @property
    def last_fault(self) -> str | None:
        """Where and what the last fault was (None: none so far)."""
        return self._health.last_fault

    @property
    def published(self) -> int:
        """Outbox rows handed to paho (a row resent after a reset counts again)."""
        return self._delivery.published

    @property
    def delivered(self) -> int:
        """Outbox rows acknowledged by the broker and deleted from the outbox."""
        return self._delivery.delivered

    # -- the connection thread ------------------------------------------------------------------------------

    def _backoff(self) -> Iterator[float]:
        return backoff_delays(self.settings.reconnect_min_s, self.settings.reconnect_max_s, random.random)

    def _main(self) -> None:
        delays = self._backoff()
        while not self._stop_requested.is_set():
            accepted = False
            try:
                client = self._connection.open()
                if client is not None:
                    accepted = self._run_connection(client)
            except Exception as exc:  # a bug, not an outage: record it for the watchdog and start afresh
                self._connection.fault("MQTT connection thread", exc)
            self._connection.mark_down()
            if self._connection.reset_requested:
                self._connection.reset()
                self._delivery.clear()
            if self._stop_requested.is_set():
                break
            if accepted:
                delays = self._backoff()
            self._sleep(next(delays))
        self._connection.mark_down()

    def _run_connection(self, client: mqtt.Client) -> bool:
        """Run the network loop until the connection ends; True if the broker accepted it."""
        connection = self._connection
        accepted = False
        while True:
            rc = connection.step(client)
            self._health.beat()
            self._delivery.settle(connection.take_acks())
            if connection.connected and not accepted:  # CONNACK: "online" went out; the rest of the birth set
                accepted = True
                self._delivery.birth(client, self._latest)
                self._discovery.connected(client, client.subscribe)
                if self.commands is not None:
                    client.subscribe(self.commands.topic, qos=1)
            if rc != mqtt.MQTT_ERR_SUCCESS or connection.reset_requested:
                connection.lost(rc)
                self._delivery.connection_lost()
                return accepted
            if not connection.connected:
                continue
            if self._stop_requested.is_set():
                self._close(client)
                return accepted
            self._delivery.pump(client)
            if self._rebirth.is_set():
                self._rebirth.clear()
                self._availability.online(client)
                self._discovery.publish(client)
            if self.commands is not None:
                self.commands.flush(client)

    def _on_message(self, client: mqtt.Client, msg: mqtt.MQTTMessage) -> None:
        """A message of a subscription: a command for this camera, or Home Assistant's status."""
        if self.commands is not None and msg.topic == self.commands.topic:
            self.commands.receive(msg.payload, retained=bool(msg.retain))
        else:
            self._discovery.message(client, msg)

    def _close(self, client: mqtt.Client) -> None:
        """Drain the outbox for up to ``drain_s``, say ``offline``, disconnect cleanly."""
        connection = self._connection
        deadline = time.monotonic() + self._drain_s
        while self.outbox.pending and connection.connected and time.monotonic() < deadline:
            if connection.step(client) != mqtt.MQTT_ERR_SUCCESS:
                return
            self._delivery.settle(connection.take_acks())
            self._delivery.pump(client)
        info = self._availability.offline(client)
        deadline = time.monotonic() + _OFFLINE_WAIT_S
        while not info.is_published() and time.monotonic() < deadline:
            if connection.step(client) != mqtt.MQTT_ERR_SUCCESS:
                return
        self._delivery.settle(connection.take_acks())
        connection.disconnect(client)
        log.info(
            "MQTT: disconnected cleanly from %s (%d message(s) left queued)",
            self.settings.address,
            self.outbox.pending,
        )

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._stop_requested.is_set() and time.monotonic() < end:
            self._health.beat()  # backing off is not being stuck
            self._stop_requested.wait(min(0.2, max(0.0, end - time.monotonic())))
