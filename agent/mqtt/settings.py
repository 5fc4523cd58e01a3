"""Plain settings of the MQTT sink, the ``--mqtt HOST[:PORT]`` parser and secret files.

Secrets (the broker password, a TLS key password) are never part of the settings: the settings only name a
file, or a systemd credential read from ``$CREDENTIALS_DIRECTORY/<name>`` (``LoadCredential=`` in the unit), and
the secret is read when connecting. So it can be in neither argv nor the main config, and no repr of the
settings can leak it into a log.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from camdrift.agent.mqtt.topics import validate_prefix

PROTOCOLS = ("5", "3.1.1")


class MqttConfigError(RuntimeError):
    """A setting or file the sink needs is unusable (unreadable password file, certificate, key...)."""


@dataclass(frozen=True)
class MqttSettings:
    """Everything the sink needs to reach the broker (times in seconds).

    ``port`` None means 8883 with TLS, 1883 without. TLS is on when ``tls`` is true or ``tls_ca`` is set (no
    ``tls_ca``: the system's CAs). The server's hostname is verified unless ``tls_verify_hostname`` is false.
    ``inflight`` bounds messages handed to the broker and not yet acknowledged; ``metrics_expiry_s`` is the
    lifetime of a metrics message (older ones are discarded from the outbox, and MQTT 5 brokers expire them).
    """

    host: str
    port: int | None = None
    prefix: str = "camdrift/default"
    protocol: str = "5"
    client_id: str | None = None
    keepalive_s: int = 30
    username: str | None = None
    password_file: Path | None = None
    password_credential: str | None = None
    tls: bool = False
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_key_password_file: Path | None = None
    tls_verify_hostname: bool = True
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    inflight: int = 20
    metrics_expiry_s: float = 600.0

    def __post_init__(self) -> None:
        if not self.host or any(c.isspace() for c in self.host):
            raise ValueError(f"mqtt host {self.host!r} is not a host name or address")
        if self.port is not None and not 1 <= self.port <= 65535:
            raise ValueError(f"mqtt port must be 1..65535, got {self.port}")
        validate_prefix(self.prefix)
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"mqtt protocol must be one of {PROTOCOLS}, got {self.protocol!r}")
        if self.keepalive_s < 5:
            raise ValueError(f"mqtt keepalive_s must be >= 5, got {self.keepalive_s}")
        if self.password_file is not None and self.password_credential is not None:
            raise ValueError("set either mqtt password_file or password_credential, not both")
        if (self.password_file or self.password_credential) and not self.username:
            raise ValueError("an mqtt password needs a username")
        if self.tls_key is not None and self.tls_cert is None:
            raise ValueError("mqtt tls_key needs tls_cert (the client certificate)")
        if not 0 < self.reconnect_min_s <= self.reconnect_max_s:
            raise ValueError(
                f"need 0 < reconnect_min_s <= reconnect_max_s, got {self.reconnect_min_s}, {self.reconnect_max_s}"
            )
        if not 1 <= self.inflight <= 65535:
            raise ValueError(f"mqtt inflight must be 1..65535, got {self.inflight}")
        if not self.metrics_expiry_s > 0:
            raise ValueError(f"mqtt metrics_expiry_s must be > 0, got {self.metrics_expiry_s}")

    @property
    def use_tls(self) -> bool:
        return self.tls or self.tls_ca is not None

    @property
    def broker_port(self) -> int:
        if self.port is not None:
            return self.port
        return 8883 if self.use_tls else 1883

    @property
    def address(self) -> str:
        """``host:port`` for messages."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.broker_port}"


_BROKER = re.compile(r"(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\[\]\s]+))(?::(?P<port>[0-9]{1,5}))?")


def parse_broker(text: str) -> tuple[str, int | None]:
    """``HOST[:PORT]`` (``[v6addr]:PORT`` for IPv6) as ``(host, port or None)``; ValueError names the input."""
    m = _BROKER.fullmatch(text.strip())
    if not m:
        raise ValueError(f"--mqtt {text!r}: expected HOST or HOST:PORT (IPv6 as [ADDR]:PORT)")
    port = int(m["port"]) if m["port"] else None
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"--mqtt {text!r}: port must be 1..65535")
    return m["v6"] or m["host"], port


def read_secret(file: Path | str | None, credential: str | None, what: str) -> str | None:
    """Read a secret from ``file`` or from systemd's ``$CREDENTIALS_DIRECTORY/<credential>``.

    Returns None when neither is set. Only trailing line breaks are removed. Errors name the file (never the
    content) and say what the secret was for (``what``, e.g. "mqtt password").
    """
    if file is None and credential is None:
        return None
    if file is not None:
        path = Path(file)
    else:
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        if not directory:
            raise MqttConfigError(
                f"{what}: credential {credential!r} is configured but $CREDENTIALS_DIRECTORY is not set "
                "(use LoadCredential= in the systemd unit, or a password file)"
            )
        path = Path(directory) / str(credential)
    try:
        secret = path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise MqttConfigError(f"{what}: cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise MqttConfigError(f"{what}: {path} is not UTF-8 text") from None
    if not secret:
        raise MqttConfigError(f"{what}: {path} is empty")
    return secret
