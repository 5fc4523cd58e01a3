"""MQTT topic names: the documented layout per camera and site, and names refused before anything is sent."""

from __future__ import annotations

import pytest

from camdrift.agent.config import ConfigError, parse_config
from camdrift.agent.mqtt.topics import (
    KINDS,
    default_prefix,
    parse_topic,
    subscription,
    topic,
    validate_camera_id,
    validate_prefix,
)


def test_topics() -> None:
    assert topic("camdrift/plant-1", "cam-1", "events") == "camdrift/plant-1/cam-1/events"
    assert subscription("camdrift/+") == "camdrift/+/+/+"
    assert parse_topic("camdrift/+", "camdrift/p1/cam-1/state") == ("camdrift/p1", "cam-1", "state")
    assert parse_topic("camdrift/p1", "camdrift/p2/cam-1/state") is None
    assert parse_topic("camdrift/p1", "camdrift/p1/cam-1/other") is None
    for bad, match in (
        ("", "empty"),
        ("a/", "empty level"),
        ("/a", "empty level"),
        ("a//b", "empty level"),
        ("a/#", "wildcard"),
        ("a/b+", "wildcard"),
        ("$SYS/x", r"\$"),
        ("a\x00", "NUL"),
    ):
        with pytest.raises(ValueError, match=match):
            validate_prefix(bad)
    with pytest.raises(ValueError, match="wildcard"):
        validate_prefix("a/#", allow_wildcards=True)
    for bad in ("", "a/b", "+", "#", "-x", "x" * 65, "caméra"):
        with pytest.raises(ValueError, match="camera id"):
            validate_camera_id(bad)
    with pytest.raises(ValueError, match="topic kind"):
        topic("p", "c", "event")


def test_every_camera_of_every_site_has_its_own_seven_topics() -> None:
    layout = {
        (site, camera): [topic(default_prefix(site), camera, kind) for kind in KINDS]
        for site in ("plant-1", "plant-2")
        for camera in ("line3-top", "line3-side")
    }
    assert layout["plant-1", "line3-top"] == [
        "camdrift/plant-1/line3-top/availability",
        "camdrift/plant-1/line3-top/status",
        "camdrift/plant-1/line3-top/state",
        "camdrift/plant-1/line3-top/events",
        "camdrift/plant-1/line3-top/metrics",
        "camdrift/plant-1/line3-top/command",
        "camdrift/plant-1/line3-top/snapshot",
    ]
    names = [name for names in layout.values() for name in names]
    assert len(set(names)) == len(names) == 4 * 7  # no two cameras or sites share a topic
    # A dashboard subscribed to every site gets each topic back as (site prefix, camera, kind).
    every_site = subscription("camdrift/+")
    assert every_site == "camdrift/+/+/+"
    for (site, camera), names in layout.items():
        for kind, name in zip(KINDS, names, strict=True):
            assert parse_topic("camdrift/+", name) == (f"camdrift/{site}", camera, kind)
    assert parse_topic("camdrift/plant-1", "camdrift/plant-1/line3-top") is None  # too short


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [("camera", "id", "line3/top"), ("mqtt", "prefix", "camdrift/#"), ("mqtt", "prefix", "$SYS/camdrift")],
)
def test_config_refuses_names_that_cannot_be_topics_naming_the_key(
    section: str, key: str, value: str
) -> None:
    table = {"source": {"uri": "synthetic:stationary"}, section: {key: value}}
    if section == "mqtt":
        table["mqtt"]["host"] = "mqtt.plant.local"
    with pytest.raises(ConfigError, match=f"{section}.{key}"):
        parse_config(table)


def test_default_prefix_refuses_a_site_that_is_not_one_level() -> None:
    assert default_prefix("plant-1") == "camdrift/plant-1"
    for bad in ("+", "#", "", "a//b"):
        with pytest.raises(ValueError, match="MQTT prefix"):
            default_prefix(bad)
    assert validate_prefix("camdrift/+", allow_wildcards=True) == "camdrift/+"
    assert validate_camera_id("cam.0_a-b") == "cam.0_a-b"
