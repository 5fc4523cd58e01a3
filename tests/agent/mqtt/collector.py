"""An in-process MQTT subscriber for the tests: records every message it receives."""

from __future__ import annotations

import json
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    qos: int
    user_properties: tuple[tuple[str, str], ...]
    expiry: int | None

    @property
    def doc(self) -> Any:
        return json.loads(self.payload)


class Collector:
    """Subscribes ``filter`` at QoS 1 (re-subscribing on every connect) and keeps what arrives.

    ``persistent``: MQTT 3.1.1 with clean_session=False and a fixed client id, so a broker with persistence
    keeps the subscription and queues QoS 1 messages while this client or the broker is away.
    """

    def __init__(
        self,
        port: int,
        filter: str,
        *,
        persistent: bool = False,
        v5: bool = True,
        username=None,
        password=None,
        ca=None,
    ) -> None:
        self.filter = filter
        self.messages: list[Received] = []
        self._cond = threading.Condition()
        self.subscribed = threading.Event()
        if persistent:
            self.client = mqtt.Client(
                mqtt.CallbackAPIVersion.VERSION2,
                client_id=f"collector-{uuid.uuid4().hex[:8]}",
                protocol=mqtt.MQTTv311,
                clean_session=False,
            )
        elif v5:
            self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        else:
            self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self.client.reconnect_delay_set(0.1, 0.5)  # type: ignore[arg-type]
        if username:
            self.client.username_pw_set(username, password)
        if ca:
            self.client.tls_set(ca_certs=str(ca), cert_reqs=ssl.CERT_REQUIRED)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect_async("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        if not self.subscribed.wait(5):
            raise TimeoutError("collector did not subscribe")

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if not reason_code.is_failure:
            client.subscribe(self.filter, qos=1)

    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        props = getattr(msg, "properties", None)
        user = tuple(getattr(props, "UserProperty", []) or ()) if props is not None else ()
        expiry = getattr(props, "MessageExpiryInterval", None) if props is not None else None
        with self._cond:
            self.messages.append(Received(msg.topic, msg.payload, bool(msg.retain), msg.qos, user, expiry))
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 5.0) -> list[Received]:
        """Wait until ``predicate(messages)``; return a copy of the messages (raise TimeoutError after timeout)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.messages):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"condition not met after {timeout} s; got {len(self.messages)} messages: "
                        f"{[(m.topic, m.payload[:60]) for m in self.messages[-5:]]}"
                    )
                self._cond.wait(left)
            return list(self.messages)

    def on(self, suffix: str) -> list[Received]:
        with self._cond:
            return [m for m in self.messages if m.topic.endswith(suffix)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
