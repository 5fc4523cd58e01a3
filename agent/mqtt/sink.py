"""``MqttSink``: publishes camdrift messages from the durable outbox over one MQTT connection per camera.

One connection per camera because MQTT allows one last will per connection, and the will is what marks
``<prefix>/<camera>/availability`` ``offline`` when the agent dies.

Flow: :meth:`MqttSink.send` serialises a message (``camdrift.agent.output.events``) and writes it to the
:class:`~camdrift.agent.outbox.Outbox`; nothing else. One thread owns the paho client: it connects, runs the
network loop, hands outbox rows to paho in order (at most ``inflight`` unacknowledged), and deletes a row when
its PUBACK arrives (``on_publish``; for QoS 0 metrics, when written to the socket). While the broker is away the
rows wait on disk; paho resends the ones it already holds when the connection returns, then the rest follow.

Why not ``loop_start``/``connect_async``: paho's own reconnect loop reports a failed connection attempt through
``on_connect_fail`` without its cause, so an untrusted certificate would look like a broker that is down. This
thread calls ``connect()`` itself (the exception says what went wrong), backs off (doubling from
``reconnect_min_s`` to ``reconnect_max_s``), rebuilds the TLS context and re-reads the password file on each
attempt (an operator's fix takes effect without a restart), and logs an error once per change of state.

paho's pitfalls, handled: a refused CONNACK (``reason_code.is_failure``) is not "connected"; an exception in a
callback is caught, logged with its traceback, counted, makes :attr:`MqttSink.healthy` false for the watchdog
and resets the connection, instead of silently ending the network thread.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from camdrift.agent.mqtt.outbox import Outbox, OutboxRow
from camdrift.agent.mqtt.settings import MqttConfigError, MqttSettings, read_secret
from camdrift.agent.mqtt.tls import build_ssl_context, describe_connect_error
from camdrift.agent.mqtt.topics import topic, validate_camera_id
from camdrift.agent.mqtt.window import InflightWindow
from camdrift.agent.output.events import MESSAGE_TYPES, Envelope, Message, Sequencer, encode, mark_replayed

log = logging.getLogger("camdrift.agent.mqtt")

# topic kind -> (qos, retain)
DELIVERY: dict[str, tuple[int, bool]] = {
    "events": (1, False),
    "status": (1, True),
    "state": (1, True),
    "metrics": (0, False),
}
_SCHEMA_OF_KIND = {cls.TOPIC_KIND: cls.SCHEMA for cls in MESSAGE_TYPES}
_LOOP_TIMEOUT_S = 0.05  # select() timeout: bounds the delay between send() and publish when idle
_STALL_S = 10.0  # no loop iteration for this long: the thread is stuck (healthy turns false)


class MqttSink:
    """Publishes one camera's messages; the daemon calls :meth:`start`, :meth:`send` and :meth:`stop`.

    ``outbox`` and ``sequencer`` are owned by the caller (one outbox per camera; one sequencer per agent).
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
        self._clock = clock
        self.availability_topic = topic(settings.prefix, camera_id, "availability")
        self.client_id = settings.client_id or f"camdrift-{camera_id}-{uuid.uuid4().hex[:8]}"
        self._client: mqtt.Client | None = None
        self._thread: threading.Thread | None = None
        self._stop_requested = threading.Event()
        self._drain_s = 0.0
        self._connected = threading.Event()
        self._connected_since = 0.0  # wall clock of the current connection: older rows are "replayed"
        self._acked: list[tuple[int, bool]] = []  # (mid, rejected) from on_publish, processed by the loop
        self._window = InflightWindow(settings.inflight)
        self._heartbeat = time.monotonic()
        self._error: str | None = None
        self._reset_requested = False
        self.faults = 0
        self.last_fault: str | None = None
        self.published = 0
        self.delivered = 0

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
        return self.outbox.put(
            topic(self.settings.prefix, self.camera_id, kind), payload, qos, retain, kind, expiry_s=expiry
        )

    def stop(self, drain_s: float = 5.0, timeout_s: float = 10.0) -> None:
        """Stop cleanly: deliver what is queued for up to ``drain_s``, publish ``offline``, disconnect.

        What is not delivered stays in the outbox for the next start.
        """
        self._drain_s = drain_s
        self._stop_requested.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    @property
    def connected(self) -> bool:
        """True once the broker accepted the connection (CONNACK success), until it is lost."""
        return self._connected.is_set()

    @property
    def healthy(self) -> bool:
        """For the watchdog: the thread runs, is not stuck, and no callback or loop raised unexpectedly.

        Broker outages and refused logins are not faults (see :attr:`last_error`); a fault is sticky.
        """
        alive = self._thread is not None and self._thread.is_alive()
        return alive and self.faults == 0 and time.monotonic() - self._heartbeat < _STALL_S

    @property
    def last_error(self) -> str | None:
        """Why the sink is not connected (None when connected or never tried)."""
        return self._error

    # -- the connection thread ------------------------------------------------------------------------------

    def _main(self) -> None:
        delay = self.settings.reconnect_min_s
        while not self._stop_requested.is_set():
            accepted = False
            try:
                try:
                    client: mqtt.Client | None = self._client or self._make_client()
                    self._connect(client)
                except (
                    MqttConfigError,
                    OSError,
                    ValueError,
                ) as exc:  # an outage or a setting: say why, retry
                    self._set_error(describe_connect_error(exc, self.settings))
                    client = None
                if client is not None:
                    accepted = self._run_connection(client)
            except Exception as exc:  # a bug, not an outage: record it for the watchdog and start afresh
                self._fault("MQTT connection thread", exc)
                self._reset_requested = True
            self._connected.clear()
            if self._reset_requested:
                self._reset_client()
            if self._stop_requested.is_set():
                break
            if accepted:
                delay = self.settings.reconnect_min_s
            self._sleep(delay)
            delay = min(2 * delay, self.settings.reconnect_max_s)
        self._connected.clear()

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        v5 = s.protocol == "5"
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else True,
        )
        client.enable_logger(log.getChild("paho"))
        client.suppress_exceptions = True  # second net: our callbacks already catch everything
        client.max_inflight_messages_set(s.inflight)
        client.max_queued_messages_set(0)
        client.will_set(self.availability_topic, b"offline", qos=1, retain=True)
        client.on_connect = self._guard("on_connect", self._on_connect)
        client.on_disconnect = self._guard("on_disconnect", self._on_disconnect)
        client.on_publish = self._guard("on_publish", self._on_publish)
        if s.use_tls:
            client.tls_set_context(build_ssl_context(s))
        self._client = client
        return client

    def _connect(self, client: mqtt.Client) -> None:
        s = self.settings
        if s.username:
            client.username_pw_set(
                s.username, read_secret(s.password_file, s.password_credential, "mqtt password")
            )
        if s.protocol == "5":
            client.connect(s.host, s.broker_port, s.keepalive_s, clean_start=True)
        else:
            client.connect(s.host, s.broker_port, s.keepalive_s)

    def _run_connection(self, client: mqtt.Client) -> bool:
        """Run the network loop until the connection ends; True if the broker accepted it."""
        accepted = False
        while True:
            rc = client.loop(timeout=_LOOP_TIMEOUT_S)
            self._heartbeat = time.monotonic()
            self._process_acks()
            accepted = accepted or self._connected.is_set()
            if rc != mqtt.MQTT_ERR_SUCCESS or self._reset_requested:
                self._lost(client, rc)
                return accepted
            if not self._connected.is_set():
                continue
            if self._stop_requested.is_set():
                self._close(client)
                return accepted
            self._pump(client)

    def _pump(self, client: mqtt.Client) -> None:
        """Hand the next outbox rows to paho, oldest first, while the window has room."""
        if self._window.room <= 0:
            return
        rows = self.outbox.peek_batch(limit=self._window.scan_limit, after_id=self._window.cursor)
        now = self._clock()
        expired: list[int] = []
        for row in self._window.candidates(rows):
            if row.expiry_s is not None and now - row.created >= row.expiry_s:
                expired.append(row.id)
                self._window.passed(row)
                continue
            payload = mark_replayed(row.payload) if row.created < self._connected_since else row.payload
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
            self.outbox.discard(expired, "expired")

    def _properties(self, row: OutboxRow, now: float) -> Properties | None:
        if self.settings.protocol != "5":
            return None
        props = Properties(PacketTypes.PUBLISH)
        props.PayloadFormatIndicator = 1  # UTF-8 text
        props.ContentType = "application/json"
        props.UserProperty = [("schema", _SCHEMA_OF_KIND.get(row.kind, "")), ("camera", self.camera_id)]
        if row.expiry_s is not None:
            props.MessageExpiryInterval = max(1, int(row.expiry_s - (now - row.created)))
        return props

    def _process_acks(self) -> None:
        if not self._acked:
            return
        acked, self._acked = self._acked, []
        done: list[int] = []
        rejected: list[int] = []
        for mid, is_rejected in acked:
            row_id = self._window.acked(mid)
            if row_id is not None:  # availability messages are not outbox rows
                (rejected if is_rejected else done).append(row_id)
        self.delivered += self.outbox.ack(*done)
        if rejected:
            log.error(
                "MQTT broker %s rejected %d message(s); discarded", self.settings.address, len(rejected)
            )
            self.outbox.discard(rejected, "rejected")

    def _lost(self, client: mqtt.Client, rc: mqtt.MQTTErrorCode) -> None:
        self._connected.clear()
        self._window.connection_lost()
        if self._error is None and rc != mqtt.MQTT_ERR_SUCCESS:
            self._set_error(f"MQTT broker {self.settings.address}: connection lost ({mqtt.error_string(rc)})")

    def _close(self, client: mqtt.Client) -> None:
        deadline = time.monotonic() + self._drain_s
        while self.outbox.pending and self._connected.is_set() and time.monotonic() < deadline:
            if client.loop(timeout=_LOOP_TIMEOUT_S) != mqtt.MQTT_ERR_SUCCESS:
                return
            self._process_acks()
            self._pump(client)
        info = client.publish(self.availability_topic, b"offline", qos=1, retain=True)
        deadline = time.monotonic() + 2.0
        while not info.is_published() and time.monotonic() < deadline:
            if client.loop(timeout=_LOOP_TIMEOUT_S) != mqtt.MQTT_ERR_SUCCESS:
                return
        self._process_acks()
        client.disconnect()
        for _ in range(20):  # let the loop write DISCONNECT and see the socket close
            if client.socket() is None or client.loop(timeout=_LOOP_TIMEOUT_S) != mqtt.MQTT_ERR_SUCCESS:
                break
        log.info(
            "MQTT: disconnected cleanly from %s (%d message(s) left queued)",
            self.settings.address,
            self.outbox.pending,
        )

    def _reset_client(self) -> None:
        """After a fault: forget paho's queue and ours; every row not yet acknowledged is sent again."""
        client, self._client = self._client, None
        if client is not None:
            try:
                client.drop_out_messages()
                client.disconnect()
                for _ in range(10):
                    if (
                        client.socket() is None
                        or client.loop(timeout=_LOOP_TIMEOUT_S) != mqtt.MQTT_ERR_SUCCESS
                    ):
                        break
            except Exception:  # the socket may be gone already; the client is dropped either way
                log.debug("MQTT: error while dropping the old client", exc_info=True)
        self._window.clear()
        self._acked.clear()
        self._reset_requested = False

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._stop_requested.is_set() and time.monotonic() < end:
            self._heartbeat = time.monotonic()  # backing off is not being stuck
            self._stop_requested.wait(min(0.2, max(0.0, end - time.monotonic())))

    # -- callbacks (run inside client.loop(), on this thread) -----------------------------------------------

    def _guard(self, name: str, callback: Callable[..., None]) -> Callable[..., None]:
        def guarded(*args: Any) -> None:
            try:
                callback(*args)
            except Exception as exc:
                self._fault(f"MQTT callback {name}", exc)
                self._reset_requested = True

        return guarded

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        if reason_code.is_failure:
            self._connected.clear()
            hint = ""
            if reason_code.value in (0x86, 0x87, 4, 5):  # bad user name or password / not authorized
                hint = "; check the username and the password file"
            self._set_error(
                f"MQTT broker {self.settings.address} refused the connection: {reason_code}{hint}"
            )
            return
        self._connected_since = self._clock()
        self._window.rescan()
        self._connected.set()
        if self._error is not None:
            log.warning(
                "MQTT: connected to %s again (%d message(s) queued)",
                self.settings.address,
                self.outbox.pending,
            )
        else:
            log.info("MQTT: connected to %s", self.settings.address)
        self._error = None
        client.publish(self.availability_topic, b"online", qos=1, retain=True)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        if was and not self._stop_requested.is_set():
            self._set_error(f"MQTT broker {self.settings.address}: connection lost ({reason_code})")

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason_code: Any, properties: Any
    ) -> None:
        # Called with paho's message lock held: only record it; the loop updates the outbox afterwards.
        self._acked.append((mid, bool(getattr(reason_code, "is_failure", False))))

    # -- reporting ------------------------------------------------------------------------------------------

    def _set_error(self, text: str) -> None:
        """Log an error once per change of state; repeats of the same error go to debug."""
        if text != self._error:
            log.error("%s (messages wait in the outbox; retrying with backoff)", text)
        else:
            log.debug("%s (still)", text)
        self._error = text

    def _fault(self, where: str, exc: BaseException) -> None:
        self.faults += 1
        self.last_fault = f"{where}: {type(exc).__name__}: {exc}"
        log.exception("%s raised; the connection is reset and the watchdog will see healthy=false", where)
