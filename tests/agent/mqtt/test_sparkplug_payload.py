"""Sparkplug B payloads from Eclipse Tahu's definition: the descriptor is Tahu's Payload, values round-trip with
their data types, a null metric stays null, and the topics follow the spBv1.0 namespace."""

from __future__ import annotations

from camdrift.agent.mqtt.sparkplug_payload import (
    BOOLEAN,
    DOUBLE,
    STRING,
    UINT64,
    MetricValue,
    decode,
    encode,
    payload_class,
    topic,
)


def test_the_payload_is_tahus():
    descriptor = payload_class().DESCRIPTOR
    assert descriptor.full_name == "org.eclipse.tahu.protobuf.Payload"
    fields = {f.name: f.number for f in descriptor.fields}
    assert fields == {"timestamp": 1, "metrics": 2, "seq": 3, "uuid": 4, "body": 5}
    metric = {f.name: f.number for f in descriptor.nested_types_by_name["Metric"].fields}
    assert metric["name"] == 1 and metric["datatype"] == 4 and metric["is_null"] == 7
    assert metric["long_value"] == 11 and metric["double_value"] == 13 and metric["string_value"] == 15


def test_values_round_trip_with_their_types():
    metrics = [
        MetricValue("bdSeq", UINT64, 255),
        MetricValue("worst_ratio", DOUBLE, 1.25),
        MetricValue("drift", BOOLEAN, True),
        MetricValue("top_cause", STRING, "white_balance"),
        MetricValue("verdict", STRING, None),
    ]
    seq, values = decode(encode(metrics, seq=7, timestamp_ms=1_700_000_000_000))
    assert seq == 7
    assert values == {
        "bdSeq": 255,
        "worst_ratio": 1.25,
        "drift": True,
        "top_cause": "white_balance",
        "verdict": None,
    }
    assert decode(encode([MetricValue("bdSeq", UINT64, 3)], seq=None))[0] is None  # NDEATH carries no seq
    payload = payload_class().FromString(encode(metrics, seq=0, timestamp_ms=5))
    assert payload.timestamp == 5 and [m.datatype for m in payload.metrics] == [8, 10, 11, 12, 12]


def test_topics():
    assert topic("plant", "NBIRTH", "edge1") == "spBv1.0/plant/NBIRTH/edge1"
    assert topic("plant", "DDATA", "edge1", "cam1") == "spBv1.0/plant/DDATA/edge1/cam1"
