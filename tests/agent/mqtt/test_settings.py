"""MQTT sink settings: values checked when built, naming the field; the --mqtt parser; secrets from files."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from camdrift.agent.config import MqttConfig
from camdrift.agent.mqtt.settings import (
    CLIENT_ID_MAX,
    MqttConfigError,
    MqttSettings,
    backoff_delays,
    default_client_id,
    parse_broker,
    read_secret,
)


def test_parse_broker() -> None:
    assert parse_broker("mqtt.plant.local") == ("mqtt.plant.local", None)
    assert parse_broker("10.0.0.5:8883") == ("10.0.0.5", 8883)
    assert parse_broker("[fd00::1]:1884") == ("fd00::1", 1884)
    for bad in ("", "host:", "host:99999", "a b", "host:port"):
        with pytest.raises(ValueError, match="--mqtt"):
            parse_broker(bad)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"host": ""}, "host"),
        ({"port": 0}, "port"),
        ({"prefix": "a/+/b"}, "wildcard"),
        ({"prefix": "a//b"}, "empty level"),
        ({"protocol": "4"}, "protocol"),
        ({"password_file": Path("p")}, "needs a username"),
        ({"tls_key": Path("k")}, "tls_cert"),
        ({"reconnect_min_s": 5.0, "reconnect_max_s": 1.0}, "reconnect"),
        ({"inflight": 0}, "inflight"),
    ],
)
def test_settings_reject_bad_values_naming_them(changes: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MqttSettings(**({"host": "h"} | changes))


def test_settings_ports_default_by_tls() -> None:
    assert MqttSettings(host="h").broker_port == 1883
    assert MqttSettings(host="h", tls=True).broker_port == 8883
    assert MqttSettings(host="fd00::1", port=1).address == "[fd00::1]:1"


def test_secrets_come_from_files_or_systemd_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mqtt").write_text("from-credential\n")
    (tmp_path / "file").write_text("from-file\r\n")
    assert read_secret(tmp_path / "file", None, "mqtt password") == "from-file"
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert read_secret(None, "mqtt", "mqtt password") == "from-credential"
    assert read_secret(None, None, "mqtt password") is None
    with pytest.raises(MqttConfigError, match=r"mqtt password: cannot read .*absent"):
        read_secret(tmp_path / "absent", None, "mqtt password")
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    with pytest.raises(MqttConfigError, match="CREDENTIALS_DIRECTORY"):
        read_secret(None, "mqtt", "mqtt password")
    settings = MqttSettings(host="h", username="u", password_file=tmp_path / "file")
    assert "from-file" not in repr(settings)


def test_secret_files_that_are_empty_or_not_text_are_refused_naming_them(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pw"
    empty.write_text("\n")
    with pytest.raises(MqttConfigError, match=r"TLS key password: .*empty\.pw is empty"):
        read_secret(empty, None, "TLS key password")
    binary = tmp_path / "binary.pw"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(MqttConfigError, match=r"mqtt password: .*binary\.pw is not UTF-8"):
        read_secret(binary, None, "mqtt password")
    spaced = tmp_path / "spaced.pw"
    spaced.write_text(" keep inner and leading spaces \n")
    assert read_secret(spaced, None, "mqtt password") == " keep inner and leading spaces "


def test_settings_refuse_both_password_sources_and_bad_limits() -> None:
    with pytest.raises(ValueError, match="password_file or password_credential"):
        MqttSettings(host="h", username="u", password_file=Path("p"), password_credential="mqtt")
    for changes, match in (
        ({"keepalive_s": 4}, "keepalive_s"),
        ({"metrics_expiry_s": 0.0}, "metrics_expiry_s"),
        ({"inflight": 65536}, "inflight"),
        ({"port": 65536}, "port"),
    ):
        with pytest.raises(ValueError, match=match):
            MqttSettings(**({"host": "h"} | changes))
    assert MqttSettings(host="h", tls_ca=Path("ca.crt")).use_tls  # a CA file turns TLS on
    assert MqttSettings(host="h", tls_ca=Path("ca.crt")).address == "h:8883"


def test_the_default_client_id_is_fixed_per_site_and_camera_and_within_mqtt_limits() -> None:
    assert default_client_id("plant-1", "line3-top") == "camdrift-plant-1-line3-top"
    assert default_client_id("plant-1", "line3-top") == default_client_id("plant-1", "line3-top")
    # only A-Za-z0-9_.- reach the broker
    assert default_client_id("Halle 3/ü", "cam") == "camdrift-Halle_3__-cam"
    long_a, long_b = default_client_id("s" * 64, "a" * 64), default_client_id("s" * 64, "a" * 63 + "b")
    assert len(long_a) == CLIENT_ID_MAX and len(long_b) == CLIENT_ID_MAX and long_a != long_b


def test_backoff_doubles_to_the_cap_with_jitter_and_the_defaults_promise_5_s() -> None:
    waits = list(itertools.islice(backoff_delays(0.5, 4.0, lambda: 0.0), 6))
    assert waits == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]  # half of each step at the lowest draw
    assert max(itertools.islice(backoff_delays(0.5, 4.0, lambda: 0.999), 50)) < 4.0
    s = MqttSettings(host="h")
    assert s.reconnect_max_s <= 4.0  # the README's promise: back within ~4 s of the broker's return
    cfg = MqttConfig()
    assert (cfg.reconnect_min_s, cfg.reconnect_max_s) == (s.reconnect_min_s, s.reconnect_max_s)
    with pytest.raises(ValueError, match="reconnect_max_s"):
        MqttSettings(host="h", reconnect_min_s=5.0, reconnect_max_s=1.0)
