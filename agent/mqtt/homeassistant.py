"""Home Assistant MQTT discovery: each camera appears in Home Assistant as a device with four entities (five
with snapshots).

Off by default (``[mqtt.homeassistant] enabled = true``). The configs are published retained, QoS 1, on
``<prefix>/<component>/<node_id>/<object_id>/config`` (Home Assistant's discovery topic layout; ``prefix``
defaults to ``homeassistant``), with ``node_id`` = ``camdrift_<site>_<camera>``:

- ``binary_sensor`` ``drift`` (device class ``problem``): on while the camera's overall verdict is ``drift``, off
  when ``ok``, unknown otherwise (warming up), from the retained ``state``;
- ``sensor`` ``cause``: the open episode's top cause in plain words (``none`` without an episode), from ``state``,
  with the episode id, cause code and start as attributes;
- ``sensor`` ``worst_ratio``: the largest score over its drift threshold (1.0 = at the threshold), from ``metrics``;
- ``sensor`` ``analysed_per_min``: frames analysed per minute, from the retained ``status``;
- ``camera`` ``snapshot`` (with ``mqtt.snapshot`` on): the episode's picture from ``.../snapshot``.

Every entity reads the camdrift topics that exist anyway (``value_template`` over their JSON: no second copy of
any payload) and is available while the camera's availability topic says ``online``. The configs go out again on
every accepted connection and whenever Home Assistant announces itself on ``<prefix>/status`` with ``online`` (its
birth message, after a restart of Home Assistant that lost them), as zigbee2mqtt does. With discovery off, the
agent publishes empty retained payloads on the same topics once connected, which removes the entities a previous
enabled run created.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from camdrift.agent.mqtt.settings import MqttSettings
from camdrift.agent.mqtt.topics import topic
from camdrift.agent.version import agent_version

QOS = 1
HA_ONLINE = b"online"
_NOT_ID = re.compile(r"[^a-zA-Z0-9_-]")  # Home Assistant's node_id and object_id allow [a-zA-Z0-9_-] only

# object_id -> (component, entity config without topics): what each entity shows and how it reads it
ENTITIES: dict[str, tuple[str, dict[str, Any]]] = {
    "drift": (
        "binary_sensor",
        {
            "name": "Image drift",
            "device_class": "problem",
            "kind": "state",
            # "None" is Home Assistant's "unknown" (for sensors too): warming up is neither drift nor ok
            "value_template": "{{ {'drift': 'ON', 'ok': 'OFF'}.get(value_json.overall, 'None') }}",
        },
    ),
    "cause": (
        "sensor",
        {
            "name": "Drift cause",
            "icon": "mdi:camera-iris",
            "kind": "state",
            "value_template": "{% set e = value_json.episode %}"
            "{{ 'none' if not e else ((e.summary or 'drift, cause not named yet')[:255]) }}",
            # dict.get: without an episode the attributes are nulls (attribute access on {} is undefined,
            # which tojson cannot serialise)
            "json_attributes_template": "{% set e = value_json.episode or {} %}"
            '{{ {"episode_id": e.get("id"), "cause": e.get("cause"), "since": e.get("since")} | tojson }}',
        },
    ),
    "worst_ratio": (
        "sensor",
        {
            "name": "Worst score over threshold",
            "icon": "mdi:gauge",
            "kind": "metrics",
            "state_class": "measurement",
            "suggested_display_precision": 2,
            "value_template": "{{ value_json.worst_ratio if value_json.worst_ratio is not none else 'None' }}",
        },
    ),
    "analysed_per_min": (
        "sensor",
        {
            "name": "Frames analysed per minute",
            "icon": "mdi:speedometer",
            "kind": "status",
            "state_class": "measurement",
            "unit_of_measurement": "frames/min",
            "suggested_display_precision": 0,
            "value_template": "{{ (value_json.analysis_fps * 60) | round(1) }}",
        },
    ),
}


def node_id(site: str, camera: str) -> str:
    """The discovery node id of a camera: ``camdrift_<site>_<camera>`` with other characters as ``_``."""
    return _NOT_ID.sub("_", f"camdrift_{site}_{camera}")


class Discovery:
    """The discovery configs of one camera (see the module docstring) and when to (re)publish them.

    Called from the MQTT connection thread: :meth:`connected` on every accepted connection, :meth:`message`
    with each message received.
    """

    def __init__(self, settings: MqttSettings, camera_id: str) -> None:
        self.enabled = settings.homeassistant
        self.prefix = settings.homeassistant_prefix
        self.status_topic = f"{self.prefix}/status"
        self._settings = settings
        self._camera = camera_id
        self._node = node_id(settings.site, camera_id)
        self._removed = False

    def config_topic(self, object_id: str) -> str:
        component = ENTITIES[object_id][0]
        return f"{self.prefix}/{component}/{self._node}/{object_id}/config"

    def configs(self) -> dict[str, dict[str, Any]]:
        """Discovery topic -> config payload (as JSON-ready dicts), one per entity."""
        s, camera, ver = self._settings, self._camera, agent_version()
        device = {
            "identifiers": [self._node],
            "name": f"camdrift {s.site} {camera}",
            "manufacturer": "camdrift",
            "model": "camdrift image drift agent",
            "sw_version": ver,
            "suggested_area": s.site,
        }
        out = {}
        for object_id, (_, spec) in ENTITIES.items():
            config = {k: v for k, v in spec.items() if k != "kind"}
            source = topic(s.prefix, camera, spec["kind"])
            config |= {
                "unique_id": f"{self._node}_{object_id}",
                "object_id": f"{self._node}_{object_id}",
                "state_topic": source,
                "availability_topic": topic(s.prefix, camera, "availability"),
                "payload_available": "online",
                "payload_not_available": "offline",
                "qos": QOS,
                "device": device,
                "origin": {"name": "camdrift", "sw_version": ver},
            }
            if "json_attributes_template" in config:
                config["json_attributes_topic"] = source
            out[self.config_topic(object_id)] = config
        if s.snapshot_dir is not None:  # the episode's picture (mqtt.snapshot) as a camera entity
            out[self.camera_topic] = {
                "name": "Drift snapshot",
                "unique_id": f"{self._node}_snapshot",
                "object_id": f"{self._node}_snapshot",
                "topic": topic(s.prefix, camera, "snapshot"),
                "availability_topic": topic(s.prefix, camera, "availability"),
                "payload_available": "online",
                "payload_not_available": "offline",
                "device": device,
                "origin": {"name": "camdrift", "sw_version": ver},
            }
        return out

    @property
    def camera_topic(self) -> str:
        return f"{self.prefix}/camera/{self._node}/snapshot/config"

    @property
    def topics(self) -> list[str]:
        """Every config topic this camera may use (each gets a config or, when unused, an empty payload)."""
        return [*(self.config_topic(o) for o in ENTITIES), self.camera_topic]

    def publish(self, client: mqtt.Client) -> int:
        """Publish every config (enabled) or an empty payload on each config topic (disabled: removes what an
        earlier enabled run left), retained; returns how many messages went out."""
        payloads = dict.fromkeys(self.topics, b"")  # what is not configured now is removed
        if self.enabled:
            payloads |= {t: json.dumps(c, separators=(",", ":")).encode() for t, c in self.configs().items()}
        for name, payload in payloads.items():
            client.publish(name, payload, qos=QOS, retain=True)
        return len(payloads)

    def connected(self, client: mqtt.Client, subscribe: Callable[[str, int], Any]) -> None:
        """A connection was accepted: publish the configs and listen for Home Assistant's birth message when
        enabled; when disabled, remove the configs once per start (not on every reconnect)."""
        if self.enabled:
            subscribe(self.status_topic, QOS)
            self.publish(client)
        elif not self._removed:
            self.publish(client)
            self._removed = True

    def message(self, client: mqtt.Client, msg: mqtt.MQTTMessage) -> None:
        """Home Assistant said ``online`` on its status topic: it may have lost the configs, send them again."""
        if self.enabled and msg.topic == self.status_topic and msg.payload.strip() == HA_ONLINE:
            self.publish(client)
