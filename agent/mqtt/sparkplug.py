"""Sparkplug B: the edge box as a Sparkplug edge node, its camera as a device (off by default).

``[mqtt.sparkplug] enabled = true`` adds a sink with its own MQTT connection (Sparkplug's death certificate is
that connection's last will, and MQTT allows one will per connection). Topics are
``spBv1.0/<group_id>/<type>/<edge_node_id>[/<camera>]``:

- **NBIRTH** on every accepted connection: ``bdSeq`` (the birth-death sequence of this connection, also in the
  will) and ``Node Control/Rebirth``; ``seq`` restarts at 0 with it;
- **DBIRTH** right after: the camera's metrics with their current values (``drift`` boolean, ``verdict``,
  ``top_cause``, ``worst_ratio``, ``frames_analysed``, ``source_state``);
- **DDATA** whenever one of them changes (from the agent's state, metrics and status messages);
- **NCMD** ``Node Control/Rebirth = true`` makes the node publish NBIRTH and DBIRTH again;
- **NDEATH** with the same ``bdSeq``: the will (the broker sends it when the agent dies) and, on a clean stop, sent
  by the agent itself after a **DDEATH** of the camera.

``seq`` runs 0-255 over every message after NBIRTH; ``bdSeq`` 0-255 over connections, kept in the state
directory so a restarted agent goes on counting. Values wait for the next birth while the broker is away (a
birth carries the current values): nothing queues.

With ``primary_host_id`` set (the primary host application's STATE rule, Sparkplug 3.0), the node subscribes to
``spBv1.0/STATE/<primary_host_id>`` and is born only while that host says ``{"online": true}``; when the host
says it went offline, the node publishes its deaths, disconnects and waits again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from camdrift.agent.files import atomic_write_bytes
from camdrift.agent.mqtt.settings import MqttSettings, read_secret
from camdrift.agent.mqtt.sparkplug_payload import (
    BDSEQ,
    BOOLEAN,
    DOUBLE,
    REBIRTH,
    STRING,
    UINT64,
    MetricValue,
    decode,
    encode,
    topic,
)
from camdrift.agent.mqtt.tls import build_ssl_context, describe_connect_error
from camdrift.agent.output.events import Envelope, Message, Metrics, State, Status
from camdrift.agent.output.sinks import Backlog

log = logging.getLogger("camdrift.agent.mqtt.sparkplug")

# the camera's metrics: name -> Sparkplug data type
DEVICE_METRICS = {
    "drift": BOOLEAN,
    "verdict": STRING,
    "top_cause": STRING,
    "worst_ratio": DOUBLE,
    "frames_analysed": UINT64,
    "source_state": STRING,
}


def _host_online(payload: bytes) -> bool | None:
    """The primary host's STATE payload ``{"online": true|false, "timestamp": ...}`` -> online, or None."""
    try:
        doc = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    online = doc.get("online") if isinstance(doc, dict) else None
    return online if isinstance(online, bool) else None


def read_bdseq(path: Path | None) -> int:
    """The bdSeq of the last connection of an earlier run (-1: none), from ``path``."""
    try:
        value = int(path.read_text().strip()) if path is not None else -1
    except (OSError, ValueError):
        return -1
    return value if 0 <= value <= 255 else -1


class SparkplugSink:
    """The Sink protocol over one Sparkplug edge node connection (see the module docstring).

    bdseq_path: where the last bdSeq is kept (None: start at 0 each run). clock: Unix s.
    """

    def __init__(
        self,
        settings: MqttSettings,
        camera_id: str,
        *,
        group_id: str,
        edge_node_id: str,
        bdseq_path: Path | None = None,
        primary_host_id: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.camera_id = camera_id
        self.group_id, self.edge_node_id = group_id, edge_node_id
        self._bdseq_path = bdseq_path
        self.primary_host_id = primary_host_id
        self.state_topic = f"spBv1.0/STATE/{primary_host_id}" if primary_host_id else None
        self._host_offline = threading.Event()  # the primary host said offline: end this connection
        self._host_online = False  # what the primary host's STATE said last
        self._refused = False  # the broker refused this connection (its CONNACK)
        self.bdseq = read_bdseq(bdseq_path)
        self._clock = clock
        self._lock = threading.Lock()  # seq and the values: the daemon thread sends, paho's thread births
        self._seq = 0
        self._values: dict[str, Any] = dict.fromkeys(DEVICE_METRICS)
        self._values["frames_analysed"] = 0
        self._born = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: mqtt.Client | None = None
        self.error: str | None = None

    # -- topics and payloads ---------------------------------------------------------------------------------

    def _topic(self, kind: str, device: bool = False) -> str:
        return topic(self.group_id, kind, self.edge_node_id, self.camera_id if device else None)

    def _next_seq(self) -> int:
        seq, self._seq = self._seq, (self._seq + 1) % 256
        return seq

    def _device_metrics(self, names: list[str]) -> list[MetricValue]:
        return [MetricValue(n, DEVICE_METRICS[n], self._values[n]) for n in names]

    def _death(self) -> bytes:
        return encode([MetricValue(BDSEQ, UINT64, self.bdseq)], seq=None)

    # -- the Sink protocol ---------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="camdrift-sparkplug", daemon=True)
        self._thread.start()

    def send(self, message: Message, envelope: Envelope | None = None) -> None:
        """Takes the values the camera's metrics are made of; publishes DDATA with those that changed."""
        update: dict[str, Any] = {}
        if isinstance(message, State):
            episode = message.episode
            update = {
                "drift": message.overall == "drift",
                "verdict": message.overall,
                "top_cause": None if episode is None else (episode.cause or None),
            }
        elif isinstance(message, Metrics):
            ratio = message.worst_ratio
            update = {"worst_ratio": None if ratio is None else float(ratio)}
        elif isinstance(message, Status):
            update = {"frames_analysed": int(message.frames_analysed), "source_state": message.source_state}
        with self._lock:
            changed = [k for k, v in update.items() if self._values[k] != v]
            self._values.update(update)
            if changed and self._born and self._client is not None:
                payload = encode(self._device_metrics(changed), self._next_seq())
                self._client.publish(self._topic("DDATA", device=True), payload, qos=0)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def close(self) -> None: ...

    @property
    def healthy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def backlog(self) -> Backlog:
        return Backlog()  # values wait for the next birth; nothing queues

    # -- the connection thread -------------------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"camdrift-spb-{self.group_id}-{self.edge_node_id}",
            protocol=mqtt.MQTTv311,
            clean_session=True,  # Sparkplug B: a clean session on every connection
        )
        if s.username:
            client.username_pw_set(
                s.username, read_secret(s.password_file, s.password_credential, "mqtt password")
            )
        if s.use_tls:
            client.tls_set_context(build_ssl_context(s))
        client.suppress_exceptions = True  # a callback's bug must not end the loop and the thread
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        client.on_disconnect = lambda *a: None
        return client

    def _main(self) -> None:
        delay = self.settings.reconnect_min_s
        while not self._stop.is_set():
            try:
                born = self._session()
            except Exception as exc:  # a bug or an unusable setting (password file, TLS): said, then retried
                log.exception("Sparkplug: the node's connection raised")
                self._set_error(f"Sparkplug: {type(exc).__name__}: {exc}")
                born = False
            if self._stop.is_set():
                return
            # Back off unless the node had been born: a broker that accepts TCP and then refuses or drops the
            # session (a wrong password, an ACL, a client id in use) must not be hammered.
            delay = self.settings.reconnect_min_s if born else min(delay * 2, self.settings.reconnect_max_s)
            self._stop.wait(self.settings.reconnect_min_s if born else delay)

    def _session(self) -> bool:
        """One connection: connect, loop until it ends, say goodbye when asked; whether the node was born."""
        client = self._make_client()
        self.bdseq = (self.bdseq + 1) % 256
        if self._bdseq_path is not None:
            try:
                atomic_write_bytes(self._bdseq_path, f"{self.bdseq}\n".encode())
            except OSError as exc:
                log.warning("Sparkplug: cannot keep bdSeq in %s: %s", self._bdseq_path, exc)
        client.will_set(self._topic("NDEATH"), self._death(), qos=1, retain=False)
        try:
            client.connect(self.settings.host, self.settings.broker_port, self.settings.keepalive_s)
        except (OSError, ValueError) as exc:
            self._set_error(describe_connect_error(exc, self.settings))
            return False
        self._client = client
        self._host_offline.clear()
        self._host_online = False  # until this connection reads the primary host's STATE
        self._refused = False
        was_born = False
        while (
            not self._stop.is_set()
            and not self._host_offline.is_set()
            and client.loop(timeout=0.2) == mqtt.MQTT_ERR_SUCCESS
        ):
            was_born = was_born or self._born
        born = self._born
        with self._lock:
            self._born = False
        if self._stop.is_set() or self._host_offline.is_set():
            self._goodbye(client, born)
            if not self._stop.is_set():
                log.warning("Sparkplug: primary host %s went offline; reconnecting", self.primary_host_id)
            return True  # not a failed connection: no backoff
        if not self._refused:  # a refusal was said already, once: not "lost" after it on every pass
            self._set_error(f"Sparkplug: connection to {self.settings.address} lost")
        return was_born

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        if reason_code.is_failure:
            self._refused = True
            self._set_error(
                f"Sparkplug: broker {self.settings.address} refused the connection: {reason_code}"
            )
            return
        self.error = None
        client.subscribe(self._topic("NCMD"), qos=1)
        if self.state_topic is not None:  # born when the primary host says it is online
            client.subscribe(self.state_topic, qos=1)
        else:
            self._birth(client)

    def _birth(self, client: mqtt.Client) -> None:
        """NBIRTH (seq 0, this connection's bdSeq) and the camera's DBIRTH with its current values."""
        with self._lock:
            self._seq = 0
            node = [MetricValue(BDSEQ, UINT64, self.bdseq), MetricValue(REBIRTH, BOOLEAN, False)]
            client.publish(self._topic("NBIRTH"), encode(node, self._next_seq()), qos=0)
            device = self._device_metrics(list(DEVICE_METRICS))
            client.publish(self._topic("DBIRTH", device=True), encode(device, self._next_seq()), qos=0)
            self._born = True
        log.info("Sparkplug: node %s/%s born (bdSeq %d)", self.group_id, self.edge_node_id, self.bdseq)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        """NCMD: a rebirth request from a host application; STATE: the primary host's; anything unreadable is
        ignored (and logged)."""
        if msg.topic == self.state_topic:
            online = _host_online(msg.payload)
            if online is not None:
                self._host_online = online
            if online and not self._born:
                self._birth(client)
            elif online is False and self._born:
                self._host_offline.set()
            return
        try:
            _, values = decode(msg.payload)
        except Exception as exc:  # a foreign payload must not stop the node
            log.warning("Sparkplug: unreadable NCMD ignored: %s", exc)
            return
        if values.get(REBIRTH) is True and (self.state_topic is None or self._host_online):
            self._birth(client)  # with a primary host: only while it says it is online

    def _goodbye(self, client: mqtt.Client, born: bool = True) -> None:
        """A clean end: DDEATH of the camera (if it was born), NDEATH of the node (the broker drops the will),
        disconnect. Without a connection there is nobody to tell: the will already says it."""
        if not client.is_connected():
            return
        with self._lock:
            if born:
                client.publish(self._topic("DDEATH", device=True), encode([], self._next_seq()), qos=0)
        info = client.publish(self._topic("NDEATH"), self._death(), qos=1)
        deadline = time.monotonic() + 2.0
        while client.is_connected() and not info.is_published() and time.monotonic() < deadline:
            if client.loop(timeout=0.1) != mqtt.MQTT_ERR_SUCCESS:
                break
        client.disconnect()
        client.loop(timeout=0.1)

    def _set_error(self, text: str) -> None:
        if text != self.error:
            log.error("%s (retrying)", text)
        self.error = text
