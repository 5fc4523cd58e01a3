"""Home Assistant discovery (mqtt/homeassistant.py): the configs follow Home Assistant's documented discovery
schema and topic layout, their templates (rendered by Jinja2, as Home Assistant does) read the right values out
of the agent's real payloads, and against a real mosquitto the configs appear retained, come back after Home
Assistant's birth message, and are removed by an agent that has discovery off."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import jinja2.sandbox
import jsonschema
import paho.mqtt.client as mqtt
import pytest

from camdrift.agent.mqtt.homeassistant import ENTITIES, Discovery, node_id
from camdrift.agent.mqtt.outbox import Outbox
from camdrift.agent.mqtt.settings import MqttSettings
from camdrift.agent.mqtt.sink import MqttSink
from camdrift.agent.output.events import (
    EpisodeState,
    GroupMetric,
    GroupState,
    Metrics,
    Sequencer,
    State,
    Status,
)
from tests.agent.mqtt.broker import Mosquitto
from tests.agent.mqtt.collector import Collector

SCHEMA = json.loads((Path(__file__).parent / "data" / "ha_discovery.schema.json").read_text())
TOPIC = re.compile(r"^homeassistant/(binary_sensor|sensor|camera)/([a-zA-Z0-9_-]+)/([a-zA-Z0-9_-]+)/config$")


def _settings(port: int = 1883, enabled: bool = True, snapshot_dir: Path | None = None) -> MqttSettings:
    return MqttSettings(
        snapshot_dir=snapshot_dir,
        host="127.0.0.1",
        port=port,
        prefix="camdrift/plant-1",
        site="plant-1",
        homeassistant=enabled,
        reconnect_min_s=0.1,
        reconnect_max_s=0.2,
    )


def _state(overall: str, episode: EpisodeState | None) -> State:
    verdict = {"drift": "drift", "ok": "ok", "unknown": "warming_up"}[overall]
    return State(
        "line3.top",
        40,
        8.0,
        (GroupState("shift.brightness", verdict, episode.id if episode else None, 9.0, 4.0, 2.0),),
        "bl",
        episode,
    )


def _status(fps: float) -> Status:
    return Status("line3.top", 40, 8.0, "1.0", "cfg", 1.7e9, "streaming", analysis_fps=fps)


def _render(template: str, message) -> str:
    """What Home Assistant shows for ``message``: the template rendered over its JSON payload."""
    payload = Sequencer().encode(message).decode()
    env = jinja2.sandbox.ImmutableSandboxedEnvironment()
    return env.from_string(template).render(value=payload, value_json=json.loads(payload)).strip()


def test_configs_follow_the_documented_discovery_schema_and_topics():
    configs = Discovery(_settings(), "line3.top").configs()
    assert len(configs) == len(ENTITIES) == 4
    node = node_id("plant-1", "line3.top")
    assert node == "camdrift_plant-1_line3_top"  # the '.' is not allowed in a node id
    for name, config in configs.items():
        component, got_node, object_id = TOPIC.match(name).groups()
        assert got_node == node and object_id in ENTITIES and ENTITIES[object_id][0] == component
        jsonschema.validate(config, {**SCHEMA, "$ref": f"#/$defs/{component}"})
        assert config["availability_topic"] == "camdrift/plant-1/line3.top/availability"
        assert config["device"]["identifiers"] == [node] and config["device"]["suggested_area"] == "plant-1"
        assert config["unique_id"] == f"{node}_{object_id}"
    assert len({c["unique_id"] for c in configs.values()}) == 4
    drift = configs[f"homeassistant/binary_sensor/{node}/drift/config"]
    assert drift["device_class"] == "problem" and drift["state_topic"] == "camdrift/plant-1/line3.top/state"
    with pytest.raises(jsonschema.ValidationError):  # the schema refuses what Home Assistant would refuse
        jsonschema.validate({**drift, "device_class": "drift"}, {**SCHEMA, "$ref": "#/$defs/binary_sensor"})
    # with snapshots on, the episode's picture is a camera entity reading the snapshot topic
    with_camera = Discovery(_settings(snapshot_dir=Path("/tmp")), "line3.top").configs()
    camera = with_camera.pop(f"homeassistant/camera/{node}/snapshot/config")
    jsonschema.validate(camera, {**SCHEMA, "$ref": "#/$defs/camera"})
    assert camera["topic"] == "camdrift/plant-1/line3.top/snapshot" and with_camera == configs


def test_templates_read_the_agents_own_payloads():
    configs = {t.split("/")[-2]: c for t, c in Discovery(_settings(), "line3.top").configs().items()}
    episode = EpisodeState("ep-1", 2.0, "lighting", "lighting changed: brightness -15 %")
    drift, cause = configs["drift"]["value_template"], configs["cause"]
    assert _render(drift, _state("drift", episode)) == "ON"
    assert _render(drift, _state("ok", None)) == "OFF"
    assert _render(drift, _state("unknown", None)) == "None"  # Home Assistant's unknown
    assert _render(cause["value_template"], _state("drift", episode)) == "lighting changed: brightness -15 %"
    assert _render(cause["value_template"], _state("ok", None)) == "none"
    restored = EpisodeState("ep-1", None)
    assert _render(cause["value_template"], _state("drift", restored)) == "drift, cause not named yet"
    attrs = json.loads(_render(cause["json_attributes_template"], _state("drift", episode)))
    assert attrs == {"episode_id": "ep-1", "cause": "lighting", "since": 2.0}
    none = json.loads(
        _render(cause["json_attributes_template"], _state("ok", None))
    )  # healthy, episode ended
    assert none == {"episode_id": None, "cause": None, "since": None}
    long = EpisodeState("ep-1", 2.0, "content", "x" * 400)
    assert len(_render(cause["value_template"], _state("drift", long))) == 255  # a sensor state's limit
    metrics = Metrics("line3.top", 40, 8.0, (GroupMetric("psi.luma", "psi", 0.3, 0.1),), 60.0)
    assert float(_render(configs["worst_ratio"]["value_template"], metrics)) == pytest.approx(3.0)
    warming = Metrics("line3.top", 40, 8.0, (GroupMetric("psi.luma", "psi", None, 0.1),), 60.0)
    assert _render(configs["worst_ratio"]["value_template"], warming) == "None"
    assert float(_render(configs["analysed_per_min"]["value_template"], _status(4.98))) == pytest.approx(
        298.8
    )


def _retained_configs(port: int) -> dict[str, bytes]:
    """What a client subscribing now gets retained under homeassistant/ (empty payloads are no messages)."""
    got = Collector(port, "homeassistant/+/+/+/config")
    time.sleep(0.5)
    got.close()
    return {m.topic: m.payload for m in got.messages if m.retain}


def test_configs_are_retained_come_back_after_ha_birth_and_are_removed_when_disabled(
    broker: Mosquitto, tmp_path: Path
) -> None:
    sink = MqttSink(_settings(broker.port), "line3.top", Outbox(tmp_path / "a.sqlite"), Sequencer())
    sink.start()
    try:
        watcher = Collector(broker.port, "homeassistant/#")
        watcher.wait_for(lambda ms: len([m for m in ms if m.topic.endswith("/config")]) >= 4)
        retained = _retained_configs(broker.port)
        assert set(retained) == set(Discovery(_settings(), "line3.top").configs())  # no camera: snapshots off
        for name, payload in retained.items():
            jsonschema.validate(json.loads(payload), {**SCHEMA, "$ref": f"#/$defs/{name.split('/')[1]}"})

        # Home Assistant restarted without the retained configs and announces itself: they are sent again.
        ha = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        ha.connect("127.0.0.1", broker.port)
        ha.loop_start()
        for name in retained:
            ha.publish(name, b"", qos=1, retain=True).wait_for_publish(5)
        assert _retained_configs(broker.port) == {}
        before = len(watcher.messages)
        ha.publish("homeassistant/status", b"online", qos=1).wait_for_publish(5)
        watcher.wait_for(lambda ms: len([m for m in ms[before:] if m.payload]) >= 4)
        assert set(_retained_configs(broker.port)) == set(retained)
        sent = len([m for m in watcher.messages if m.payload and m.topic.endswith("/config")])
        assert sent == 8  # at the connection, and again after the birth message
        ha.publish("homeassistant/status", b"offline", qos=1).wait_for_publish(5)  # not a reason to republish
        time.sleep(0.5)
        assert len([m for m in watcher.messages if m.payload and m.topic.endswith("/config")]) == sent
        assert sink.healthy and sink.faults == 0
        ha.loop_stop()
        ha.disconnect()
        watcher.close()
    finally:
        sink.stop()
        sink.close()

    # The same camera restarted with discovery off: its entities are removed from Home Assistant.
    off = MqttSink(
        _settings(broker.port, enabled=False), "line3.top", Outbox(tmp_path / "b.sqlite"), Sequencer()
    )
    off.start()
    try:
        deadline = time.monotonic() + 10
        while _retained_configs(broker.port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _retained_configs(broker.port) == {}
    finally:
        off.stop()
        off.close()
