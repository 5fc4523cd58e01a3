"""Value checks: the messages a person fixing a config file reads."""

from __future__ import annotations

import pytest

from camdrift.agent.config import ConfigError, parse_config
from camdrift.agent.config.checks import in_range, nonempty, pattern, source_uri, via_topics


def test_ranges_say_which_bounds_are_open():
    assert in_range(0, 1, lo_open=True)(0.0) == "must be in (0, 1], got 0.0"
    assert in_range(1, 64)(0) == "must be in [1, 64], got 0"
    assert in_range(4096, 16 << 20)(1) == "must be in [4096, 16777216], got 1"  # integers as integers
    assert in_range(0, 1, lo_open=True)(1.0) is None and in_range(1, 64)(64) is None


def test_nan_is_out_of_every_range():
    assert in_range(0, 1e6)(float("nan")) == "must be in [0, 1e+06], got nan"
    with pytest.raises(ConfigError, match=r"analysis.cpu_budget: must be in \(0, 1\], got nan"):
        parse_config({"source": {"uri": "shm:a"}, "analysis": {"cpu_budget": float("nan")}})


def test_patterns_and_empty_strings():
    assert pattern(r"[a-z]+", "lower-case letters")("A1") == "must be lower-case letters, got 'A1'"
    assert pattern(r"[a-z]+", "lower-case letters")("ab") is None
    assert nonempty("  ") == "must not be empty" and nonempty("x") is None


def test_source_uris_are_built_not_opened():
    assert source_uri("dir:/no/such/folder") is None  # opening it is the daemon's business
    assert "unknown scheme" in source_uri("ftp://x")
    assert "pixel_format must be one of" in source_uri("video:a.avi", "nv12")


def test_topic_rules_come_from_the_mqtt_topics():
    assert via_topics("validate_camera_id")("press-1") is None
    assert "is not valid" in via_topics("validate_camera_id")("cam 1")
