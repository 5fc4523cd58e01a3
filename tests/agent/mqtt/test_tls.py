"""The sink's TLS context and connection-failure wording: errors name the file or the setting to fix."""

from __future__ import annotations

import errno
import socket
import ssl
from pathlib import Path

import pytest

from camdrift.agent.mqtt.settings import MqttConfigError, MqttSettings
from camdrift.agent.mqtt.tls import build_ssl_context, describe_connect_error
from tests.agent.mqtt.broker import Pki


def test_tls_context_verifies_and_never_prompts_for_a_key_password(pki: Pki, tmp_path: Path) -> None:
    ctx = build_ssl_context(MqttSettings(host="127.0.0.1", tls_ca=pki.ca))
    assert ctx.check_hostname and ctx.verify_mode.name == "CERT_REQUIRED"
    # Encrypted key, no password file: a clear error (OpenSSL would otherwise prompt on the terminal).
    with pytest.raises(MqttConfigError, match="encrypted.*tls_key_password_file"):
        build_ssl_context(
            MqttSettings(host="h", tls_ca=pki.ca, tls_cert=pki.client_cert, tls_key=pki.client_key_encrypted)
        )
    wrong = tmp_path / "wrong"
    wrong.write_text("nope")
    with pytest.raises(MqttConfigError, match="wrong key password"):
        build_ssl_context(
            MqttSettings(
                host="h",
                tls_ca=pki.ca,
                tls_cert=pki.client_cert,
                tls_key=pki.client_key_encrypted,
                tls_key_password_file=wrong,
            )
        )
    with pytest.raises(MqttConfigError, match=r"CA file .*missing\.crt"):
        build_ssl_context(MqttSettings(host="h", tls_ca=tmp_path / "missing.crt"))


def test_unusable_tls_files_are_named_in_the_error(pki: Pki, tmp_path: Path) -> None:
    not_a_cert = tmp_path / "garbage-ca.crt"
    not_a_cert.write_text("this is not a certificate\n")
    with pytest.raises(MqttConfigError, match=r"TLS CA file .*garbage-ca\.crt: cannot load it"):
        build_ssl_context(MqttSettings(host="h", tls_ca=not_a_cert))
    missing_cert = tmp_path / "missing-client.crt"
    with pytest.raises(MqttConfigError, match=r"TLS client certificate .*missing-client\.crt"):
        build_ssl_context(
            MqttSettings(host="h", tls_ca=pki.ca, tls_cert=missing_cert, tls_key=pki.server_key)
        )
    missing_key = tmp_path / "missing.key"
    with pytest.raises(MqttConfigError, match=r"TLS client key .*missing\.key: cannot read it"):
        build_ssl_context(
            MqttSettings(host="h", tls_ca=pki.ca, tls_cert=pki.client_cert, tls_key=missing_key)
        )
    # The server's key does not belong to the client's certificate.
    with pytest.raises(MqttConfigError, match="does not match the certificate"):
        build_ssl_context(
            MqttSettings(host="h", tls_ca=pki.ca, tls_cert=pki.client_cert, tls_key=pki.server_key)
        )
    password = tmp_path / "key.pw"
    password.write_text(pki.client_key_password + "\n")
    ctx = build_ssl_context(
        MqttSettings(
            host="h",
            tls_ca=pki.ca,
            tls_cert=pki.client_cert,
            tls_key=pki.client_key_encrypted,
            tls_key_password_file=password,
            tls_verify_hostname=False,
        )
    )
    assert not ctx.check_hostname and ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2


def _openssl_error() -> ssl.SSLError:
    """An SSLError as the ssl module raises it (with ``reason`` and ``library`` set by OpenSSL)."""
    try:
        ssl.create_default_context().load_verify_locations(cadata="not a certificate")
    except ssl.SSLError as exc:
        return exc
    raise AssertionError("OpenSSL accepted a bogus certificate")


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (
            ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
            "connection refused (is the broker",
        ),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "cannot resolve host name"),
        (TimeoutError("timed out"), "connection timed out"),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), "Network is unreachable (ENETUNREACH)"),
        (MqttConfigError("mqtt password: cannot read /etc/pw"), "mqtt password: cannot read /etc/pw"),
        (_openssl_error(), "TLS handshake failed (no start line"),
        (ValueError("Invalid host."), "ValueError: Invalid host."),
    ],
)
def test_connect_errors_say_what_went_wrong_where(exc: BaseException, words: str) -> None:
    settings = MqttSettings(host="mqtt.plant.local", port=8883, tls_ca=Path("/etc/camdrift/ca.crt"))
    text = describe_connect_error(exc, settings)
    assert words in text
    if not isinstance(exc, MqttConfigError):
        assert text.startswith("MQTT broker mqtt.plant.local:8883: ")


def test_an_untrusted_certificate_points_at_tls_ca() -> None:
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed")
    exc.verify_message = "unable to get local issuer certificate"
    with_ca = describe_connect_error(exc, MqttSettings(host="h", tls_ca=Path("/etc/camdrift/ca.crt")))
    assert "unable to get local issuer certificate" in with_ca and "tls_ca (/etc/camdrift/ca.crt)" in with_ca
    assert "tls_ca (system CAs)" in describe_connect_error(exc, MqttSettings(host="h", tls=True))
