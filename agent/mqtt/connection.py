"""The paho client of one MQTT sink: built, connected, driven one loop step at a time, and its callbacks.

Why not ``loop_start``/``connect_async``: paho's own reconnect loop reports a failed connection attempt through
``on_connect_fail`` without its cause, so an untrusted certificate would look like a broker that is down. The
sink's thread calls :meth:`Connection.open` itself (the exception says what went wrong), which re-reads the
password file on each attempt and builds the TLS context with each new client (an operator's fix takes effect
without a restart). Errors are logged once per change of state.

paho's pitfalls, handled: a refused CONNACK (``reason_code.is_failure``) is not "connected"; an exception in a
callback is caught, logged with its traceback and counted in :class:`Health` (the watchdog sees it), and asks
for the client to be reset, instead of silently ending the network thread.

Every callback runs inside ``client.loop()``, on the sink's thread; ``on_publish`` runs with paho's message lock
held, so it only records the acknowledgement and the thread settles it afterwards (:meth:`take_acks`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from camdrift.agent.mqtt.availability import Availability
from camdrift.agent.mqtt.settings import MqttConfigError, MqttSettings, read_secret
from camdrift.agent.mqtt.tls import build_ssl_context, describe_connect_error

log = logging.getLogger("camdrift.agent.mqtt")

LOOP_TIMEOUT_S = 0.05  # select() timeout: bounds the delay between send() and publish when idle
STALL_S = 10.0  # no loop iteration for this long: the thread is stuck (healthy turns false)
# CONNACK reason codes of a refused login: MQTT 5 "bad user name or password" / "not authorized", MQTT 3.1.1
# return codes 4 and 5 (paho maps both to ReasonCode values).
_LOGIN_REFUSED = (0x86, 0x87, 4, 5)


class Health:
    """What the watchdog needs of the connection thread: it iterates (``heartbeat``) and never raised.

    A fault (a bug, not an outage) is sticky: ``faults`` only grows.
    """

    def __init__(self) -> None:
        self.heartbeat = time.monotonic()
        self.faults = 0
        self.last_fault: str | None = None

    def beat(self) -> None:
        """The thread is alive and iterating (monotonic clock)."""
        self.heartbeat = time.monotonic()

    def fault(self, where: str, exc: BaseException) -> None:
        self.faults += 1
        self.last_fault = f"{where}: {type(exc).__name__}: {exc}"
        log.exception("%s raised; the connection is reset and the watchdog will see healthy=false", where)

    def ok(self) -> bool:
        """No fault so far and a loop iteration within the last ``STALL_S`` seconds."""
        return self.faults == 0 and time.monotonic() - self.heartbeat < STALL_S


class Connection:
    """The paho client of one camera and what its callbacks report: connected, acknowledgements, errors.

    ``on_connected(since)`` is called when the broker accepts a connection (``since``: ``clock()`` then);
    ``queued()`` says how many messages wait (for the log); ``on_message(client, message)``, if given, gets every
    message of the connection's subscriptions. ``stopping`` is the sink's stop request: a
    connection that ends while it is set is not an error.
    """

    def __init__(
        self,
        settings: MqttSettings,
        client_id: str,
        availability: Availability,
        health: Health,
        stopping: threading.Event,
        *,
        clock: Callable[[], float],
        on_connected: Callable[[float], None],
        queued: Callable[[], int],
        on_message: Callable[[mqtt.Client, mqtt.MQTTMessage], None] | None = None,
    ) -> None:
        self._settings = settings
        self._client_id = client_id
        self._availability = availability
        self._health = health
        self._stopping = stopping
        self._clock = clock
        self._on_connected = on_connected
        self._queued = queued
        self._on_message = on_message
        self._client: mqtt.Client | None = None
        self._connected = threading.Event()
        self._acked: list[tuple[int, bool]] = []  # (mid, rejected) from on_publish, settled by the thread
        self.error: str | None = None
        self.reset_requested = False

    @property
    def connected(self) -> bool:
        """True once the broker accepted the connection (CONNACK success), until it is lost."""
        return self._connected.is_set()

    def mark_down(self) -> None:
        """The connection is over (ended, failed or abandoned)."""
        self._connected.clear()

    # -- lifecycle ------------------------------------------------------------------------------------------

    def open(self) -> mqtt.Client | None:
        """Connect (building the client if there is none); None if that failed, with :attr:`error` saying why.

        Only the TCP/TLS connection is made here; the broker's answer (CONNACK) arrives in a later :meth:`step`.
        """
        try:
            client = self._client or self._make_client()
            self._connect(client)
        except (MqttConfigError, OSError, ValueError) as exc:  # an outage or a setting: say why, retry
            self.set_error(describe_connect_error(exc, self._settings))
            return None
        return client

    def step(self, client: mqtt.Client) -> mqtt.MQTTErrorCode:
        """One pass of paho's network loop (reads, writes, callbacks); waits at most ``LOOP_TIMEOUT_S``."""
        return client.loop(timeout=LOOP_TIMEOUT_S)

    def take_acks(self) -> list[tuple[int, bool]]:
        """The ``(mid, rejected)`` pairs paho reported done since the last call."""
        acked, self._acked = self._acked, []
        return acked

    def lost(self, rc: mqtt.MQTTErrorCode) -> None:
        """The network loop ended the connection with ``rc``."""
        self._connected.clear()
        if self.error is None and rc != mqtt.MQTT_ERR_SUCCESS:
            self.set_error(f"MQTT broker {self._settings.address}: connection lost ({mqtt.error_string(rc)})")

    def disconnect(self, client: mqtt.Client) -> None:
        """Send DISCONNECT and let the loop write it and see the socket close (the broker drops the will)."""
        client.disconnect()
        for _ in range(20):
            if client.socket() is None or self.step(client) != mqtt.MQTT_ERR_SUCCESS:
                break

    def reset(self) -> None:
        """After a fault: drop the client with paho's queue (the next :meth:`open` builds a new one)."""
        client, self._client = self._client, None
        if client is not None:
            try:
                client.drop_out_messages()
                # A clean DISCONNECT makes the broker drop the will, so say "offline" first: otherwise the
                # retained availability reads online while no connection is up (and for good, if we stop now).
                if client.socket() is not None:
                    self._availability.offline(client)
                    self.step(client)
                client.disconnect()
                for _ in range(10):
                    if client.socket() is None or self.step(client) != mqtt.MQTT_ERR_SUCCESS:
                        break
            except Exception:  # the socket may be gone already; the client is dropped either way
                log.debug("MQTT: error while dropping the old client", exc_info=True)
        self._acked.clear()
        self.reset_requested = False

    def fault(self, where: str, exc: BaseException) -> None:
        """A bug surfaced in ``where``: count it for the watchdog and start afresh with a new client."""
        self._health.fault(where, exc)
        self.reset_requested = True

    def set_error(self, text: str) -> None:
        """Log an error once per change of state; repeats of the same error go to debug."""
        if text != self.error:
            log.error("%s (messages wait in the outbox; retrying with backoff)", text)
        else:
            log.debug("%s (still)", text)
        self.error = text

    def _make_client(self) -> mqtt.Client:
        s = self._settings
        v5 = s.protocol == "5"
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self._client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else True,
        )
        client.enable_logger(log.getChild("paho"))
        client.suppress_exceptions = True  # second net: our callbacks already catch everything
        client.max_inflight_messages_set(s.inflight)
        client.max_queued_messages_set(0)
        self._availability.set_will(client)
        client.on_connect = self._guard("on_connect", self._on_connect)
        client.on_disconnect = self._guard("on_disconnect", self._on_disconnect)
        client.on_publish = self._guard("on_publish", self._on_publish)
        if self._on_message is not None:  # a subscriber (Home Assistant's birth message)
            on_message = self._on_message
            client.on_message = self._guard("on_message", lambda c, userdata, msg: on_message(c, msg))
        if s.use_tls:
            client.tls_set_context(build_ssl_context(s))
        self._client = client
        return client

    def _connect(self, client: mqtt.Client) -> None:
        s = self._settings
        if s.username:
            client.username_pw_set(
                s.username, read_secret(s.password_file, s.password_credential, "mqtt password")
            )
        if s.protocol == "5":
            client.connect(s.host, s.broker_port, s.keepalive_s, clean_start=True)
        else:
            client.connect(s.host, s.broker_port, s.keepalive_s)

    # -- callbacks (paho's VERSION2 signatures: a ReasonCode for every protocol) ----------------------------

    def _guard(self, name: str, callback: Callable[..., None]) -> Callable[..., None]:
        def guarded(*args: Any) -> None:
            try:
                callback(*args)
            except Exception as exc:
                self.fault(f"MQTT callback {name}", exc)

        return guarded

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self._connected.clear()
            hint = "; check the username and the password file" if reason_code.value in _LOGIN_REFUSED else ""
            self.set_error(
                f"MQTT broker {self._settings.address} refused the connection: {reason_code}{hint}"
            )
            return
        self._on_connected(self._clock())
        self._connected.set()
        if self.error is not None:
            log.warning(
                "MQTT: connected to %s again (%d message(s) queued)", self._settings.address, self._queued()
            )
        else:
            log.info("MQTT: connected to %s", self._settings.address)
        self.error = None
        self._availability.online(client)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        if was and not self._stopping.is_set():
            self.set_error(f"MQTT broker {self._settings.address}: connection lost ({reason_code})")

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason_code: ReasonCode, properties: Properties
    ) -> None:
        # Called with paho's message lock held: only record it; the thread settles it afterwards.
        self._acked.append((mid, reason_code.is_failure))
