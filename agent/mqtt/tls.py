"""The TLS context of the MQTT sink, and clear words for connection failures.

The context verifies the broker's certificate against the CA file (``CERT_REQUIRED``) and its hostname (on by
default). A client key may be encrypted; its password comes from a file. OpenSSL would otherwise ask for the
password on the controlling terminal and hang a daemon, so an encrypted key without a password file is refused
with a clear error, and the password callback never prompts.
"""

from __future__ import annotations

import errno
import socket
import ssl
from pathlib import Path

from camdrift.agent.mqtt.settings import MqttConfigError, MqttSettings, read_secret


def _key_is_encrypted(path: Path) -> bool:
    try:
        head = path.read_bytes()[:4096]
    except OSError as exc:
        raise MqttConfigError(f"TLS client key {path}: cannot read it: {exc.strerror or exc}") from None
    # PKCS#8 ("BEGIN ENCRYPTED PRIVATE KEY") and traditional OpenSSL PEM ("Proc-Type: 4,ENCRYPTED").
    return b"ENCRYPTED PRIVATE KEY" in head or b"Proc-Type: 4,ENCRYPTED" in head


def build_ssl_context(settings: MqttSettings) -> ssl.SSLContext:
    """A client TLS context for ``settings``; :class:`MqttConfigError` names an unusable file."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname on by default
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        if settings.tls_ca is not None:
            ctx.load_verify_locations(cafile=str(settings.tls_ca))
        else:
            ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    except ssl.SSLError as exc:  # not a certificate (OpenSSL says why)
        reason = exc.strerror or exc.reason or exc
        raise MqttConfigError(f"TLS CA file {settings.tls_ca}: cannot load it: {reason}") from None
    except OSError as exc:  # missing, unreadable
        raise MqttConfigError(
            f"TLS CA file {settings.tls_ca}: cannot load it: {exc.strerror or exc}"
        ) from None
    if settings.tls_cert is not None:
        cert = Path(settings.tls_cert)
        key = Path(settings.tls_key) if settings.tls_key is not None else cert
        password = read_secret(settings.tls_key_password_file, None, "TLS key password")
        if password is None and _key_is_encrypted(key):
            raise MqttConfigError(
                f"TLS client key {key} is encrypted but no key password file is set "
                "(tls_key_password_file); camdrift never prompts for it"
            )

        def no_prompt() -> str:
            raise MqttConfigError(f"TLS client key {key} needs a password and none is configured")

        try:
            ctx.load_cert_chain(str(cert), str(key), password=password if password is not None else no_prompt)
        except MqttConfigError:
            raise
        except OSError as exc:
            if isinstance(exc, ssl.SSLError):
                raise MqttConfigError(
                    f"TLS client certificate {cert} / key {key}: cannot load them ({exc.reason or exc}); "
                    "wrong key password, or a key that does not match the certificate?"
                ) from None
            raise MqttConfigError(
                f"TLS client certificate {cert} / key {key}: {exc.strerror or exc}"
            ) from None
    ctx.check_hostname = settings.tls_verify_hostname
    return ctx


def describe_connect_error(exc: BaseException, settings: MqttSettings) -> str:
    """One line saying why connecting to the broker failed, for the log and ``MqttSink.last_error``."""
    where = f"MQTT broker {settings.address}"
    if isinstance(exc, MqttConfigError):
        return str(exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"{where}: TLS certificate not accepted ({exc.verify_message}); "
            f"check tls_ca ({settings.tls_ca or 'system CAs'}) and that the host name matches the certificate"
        )
    if isinstance(exc, ssl.SSLError):
        return f"{where}: TLS handshake failed ({exc.reason or exc})"
    if isinstance(exc, socket.gaierror):
        return f"{where}: cannot resolve host name ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return f"{where}: connection refused (is the broker running and listening on that port?)"
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"{where}: connection timed out"
    if isinstance(exc, OSError):
        name = errno.errorcode.get(exc.errno or 0, "")
        return f"{where}: {exc.strerror or exc}{f' ({name})' if name else ''}"
    return f"{where}: {type(exc).__name__}: {exc}"
