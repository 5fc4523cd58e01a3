"""MQTT topic names: built in one place, validated before anything is published.

Layout (per camera, under a configurable prefix, default ``camdrift/<site>``)::

    <prefix>/<camera>/availability   online / offline, retained, QoS 1 (also the last will)
    <prefix>/<camera>/status         retained JSON (camdrift.status/1), QoS 1
    <prefix>/<camera>/state          retained JSON (camdrift.state/1), QoS 1
    <prefix>/<camera>/events         JSON (camdrift.event/1), QoS 1, not retained
    <prefix>/<camera>/metrics        JSON (camdrift.metrics/1), QoS 0, not retained
    <prefix>/<camera>/command        JSON (camdrift.command/1) from operators, read by the agent
    <prefix>/<camera>/command/reply  JSON (camdrift.command_reply/1), QoS 1, not retained
    <prefix>/<camera>/snapshot       JPEG of the episode's evidence, retained, QoS 1 (mqtt.snapshot = true)
"""

from __future__ import annotations

import re

KINDS: tuple[str, ...] = ("availability", "status", "state", "events", "metrics", "command", "snapshot")

# Camera ids become one topic level and appear in dashboards and entity ids (Home Assistant, Node-RED), so
# they are kept to a conservative character set rather than "anything without a slash".
_CAMERA_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_MAX_TOPIC_BYTES = 65535


def default_prefix(site: str) -> str:
    """The default prefix ``camdrift/<site>`` (``site`` must be a single valid level)."""
    return validate_prefix(f"camdrift/{site}")


def validate_prefix(prefix: str, *, allow_wildcards: bool = False) -> str:
    """Return ``prefix`` if it is a usable topic prefix, else raise ``ValueError`` naming the problem.

    Rejected: empty prefix, empty levels (leading, trailing or doubled ``/``), wildcards ``+``/``#`` (``+``
    is allowed as a whole level with ``allow_wildcards``, for subscribers), a leading ``$`` (broker-reserved
    topics) and NUL characters.
    """
    if not isinstance(prefix, str):
        raise TypeError(f"MQTT prefix must be a str, got {type(prefix).__name__}")
    if not prefix:
        raise ValueError("MQTT prefix is empty")
    if prefix.startswith("$"):
        raise ValueError(f"MQTT prefix {prefix!r} starts with '$' (reserved for broker topics)")
    if "\x00" in prefix:
        raise ValueError(f"MQTT prefix {prefix!r} contains a NUL character")
    for level in prefix.split("/"):
        if not level:
            raise ValueError(f"MQTT prefix {prefix!r} has an empty level (leading, trailing or doubled '/')")
        if level == "+" and allow_wildcards:
            continue
        if "+" in level or "#" in level:
            raise ValueError(f"MQTT prefix {prefix!r} contains a wildcard ('+' or '#')")
    if len(prefix.encode("utf-8")) > _MAX_TOPIC_BYTES // 2:
        raise ValueError(f"MQTT prefix is too long ({len(prefix.encode('utf-8'))} bytes)")
    return prefix


def validate_camera_id(camera: str) -> str:
    """Return ``camera`` if it is a valid camera id (1-64 of ``A-Za-z0-9_.-``, starting alphanumeric)."""
    if not isinstance(camera, str):
        raise TypeError(f"camera id must be a str, got {type(camera).__name__}")
    if not _CAMERA_ID.fullmatch(camera):
        raise ValueError(
            f"camera id {camera!r} is not valid: use 1-64 characters from A-Z a-z 0-9 _ . - "
            "starting with a letter or digit (it becomes one MQTT topic level)"
        )
    return camera


def topic(prefix: str, camera: str, kind: str) -> str:
    """The topic ``<prefix>/<camera>/<kind>``; ``kind`` is one of :data:`KINDS`."""
    if kind not in KINDS:
        raise ValueError(f"unknown topic kind {kind!r}; expected one of {', '.join(KINDS)}")
    return f"{validate_prefix(prefix)}/{validate_camera_id(camera)}/{kind}"


def subscription(prefix: str) -> str:
    """The filter matching every camera's topics under ``prefix`` (which may hold ``+`` levels)."""
    return f"{validate_prefix(prefix, allow_wildcards=True)}/+/+"


def parse_topic(prefix: str, name: str) -> tuple[str, str, str] | None:
    """Split a received topic into ``(root, camera, kind)``; ``None`` if it is not a camdrift topic.

    ``root`` is the concrete prefix the message came under (it differs from ``prefix`` when ``prefix`` holds
    ``+`` levels, e.g. ``camdrift/+`` for every site).
    """
    want = validate_prefix(prefix, allow_wildcards=True).split("/")
    levels = name.split("/")
    if len(levels) != len(want) + 2 or levels[-1] not in KINDS:
        return None
    for got, pattern in zip(levels, want, strict=False):
        if pattern != "+" and got != pattern:
            return None
    return "/".join(levels[:-2]), levels[-2], levels[-1]
