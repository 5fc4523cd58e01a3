"""Sparkplug B payloads, built with the ``protobuf`` runtime from Eclipse Tahu's definition (never by hand).

The message classes come from ``data/sparkplug_b.desc``, the compiled descriptor of Tahu's ``sparkplug_b.proto``
(see ``data/NOTICE.md``), loaded into a private descriptor pool, so no generated code ties camdrift to one
protobuf version. Metric data types are the Sparkplug B codes (the specification's ``DataType`` enumeration).
"""

from __future__ import annotations

import time
from functools import lru_cache
from importlib import resources
from typing import Any, NamedTuple

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

NAMESPACE = "spBv1.0"
# Sparkplug B DataType codes used here
UINT64 = 8
DOUBLE = 10
BOOLEAN = 11
STRING = 12
_VALUE_FIELD = {
    UINT64: "long_value",
    DOUBLE: "double_value",
    BOOLEAN: "boolean_value",
    STRING: "string_value",
}
REBIRTH = "Node Control/Rebirth"
BDSEQ = "bdSeq"


@lru_cache(maxsize=1)
def payload_class() -> type:
    """The ``org.eclipse.tahu.protobuf.Payload`` message class."""
    data = (resources.files("camdrift.agent.mqtt") / "data" / "sparkplug_b.desc").read_bytes()
    pool = descriptor_pool.DescriptorPool()
    pool.Add(descriptor_pb2.FileDescriptorProto.FromString(data))
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("org.eclipse.tahu.protobuf.Payload"))


class MetricValue(NamedTuple):
    """One metric: its name, Sparkplug data type code and value (None: the metric is null)."""

    name: str
    datatype: int
    value: Any


def now_ms() -> int:
    return int(time.time() * 1000)


def encode(metrics: list[MetricValue], seq: int | None, timestamp_ms: int | None = None) -> bytes:
    """A payload with ``metrics`` and ``seq`` (None: no seq, as in NDEATH), serialised."""
    payload = payload_class()()
    payload.timestamp = now_ms() if timestamp_ms is None else timestamp_ms
    if seq is not None:
        payload.seq = seq
    for m in metrics:
        metric = payload.metrics.add()
        metric.name = m.name
        metric.datatype = m.datatype
        metric.timestamp = payload.timestamp
        if m.value is None:
            metric.is_null = True
        else:
            setattr(metric, _VALUE_FIELD[m.datatype], m.value)
    return payload.SerializeToString()


def decode(data: bytes) -> tuple[int | None, dict[str, Any]]:
    """(seq or None, {metric name: value}) of a serialised payload (the host's side, for tests and tools)."""
    payload = payload_class().FromString(data)
    values = {}
    for m in payload.metrics:
        field = _VALUE_FIELD.get(m.datatype)
        values[m.name] = None if m.is_null or field is None else getattr(m, field)
    return (payload.seq if payload.HasField("seq") else None), values


def topic(group_id: str, message_type: str, edge_node_id: str, device_id: str | None = None) -> str:
    """``spBv1.0/<group>/<type>/<edge node>[/<device>]``."""
    parts = [NAMESPACE, group_id, message_type, edge_node_id]
    return "/".join([*parts, device_id] if device_id else parts)
