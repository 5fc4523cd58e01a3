"""Plain settings of the MQTT sink, the ``--mqtt HOST[:PORT]`` parser and secret files.

Secrets (the broker password, a TLS key password) are never part of the settings: the settings only name a
file, or a systemd credential read from ``$CREDENTIALS_DIRECTORY/<name>`` (``LoadCredential=`` in the unit), and
the secret is read when connecting. So it can be in neither argv nor the main config, and no repr of the
settings can leak it into a log.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from camdrift.agent.mqtt.topics import validate_prefix

PROTOCOLS = ("5", "3.1.1")


class MqttConfigError(RuntimeError):
    """A setting or file the sink needs is unusable (unreadable password file, certificate, key...)."""


@dataclass(frozen=True)
class MqttSettings:
    """Everything the sink needs to reach the broker (times in seconds).

            ``client_id`` None means :func:`default_client_id` of ``site`` and the camera: fixed, so a restarted agent
            takes its old session over at the broker (whose last will then fires at once, before the new birth message,
            instead of ~1.5 keepalives later over the live agent).
            ``port`` None means 8883 with TLS, 1883 without. TLS is on when ``tls`` is true or ``tls_ca`` is set (no
            ``tls_ca``: the system's CAs). The server's hostname is verified unless ``tls_verify_hostname`` is false.
            ``inflight`` bounds messages handed to the broker and not yet acknowledged; ``metrics_expiry_s`` is the
            lifetime of a metrics message (older ones are discarded from the outbox, and MQTT 5 brokers expire them).
            Reconnect attempts back off from ``reconnect_min_s``, doubling up to ``reconnect_max_s``, each wait drawn
            at random from [half, all] of the current step (jitter), so the agent is back at most ``reconnect_max_s``
            (plus the attempt itself) after the broker returns. ``homeassistant`` turns Home Assistant discovery on under
            ``homeassistant_prefix`` (:mod:`camdrift.agent.mqtt.homeassistant`); ``commands`` subscribes to the camera's
        command topic (:mod:`camdrift.agent.mqtt.commands`); ``snapshot_dir`` set publishes each episode's evidence
    JPEG, at most ``snapshot_max_bytes`` (:mod:`camdrift.agent.mqtt.snapshot`).
    """

    host: str
    port: int | None = None
    prefix: str = "camdrift/default"
    site: str = "default"
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
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 4.0
    inflight: int = 20
    metrics_expiry_s: float = 600.0
    homeassistant: bool = False
    homeassistant_prefix: str = "homeassistant"
    commands: bool = True
    snapshot_dir: Path | None = None  # the evidence folder: a drift.started's capture is published from it
    snapshot_max_bytes: int = 256 << 10

    def __post_init__(self) -> None:
        if not self.host or any(c.isspace() for c in self.host):
            raise ValueError(f"mqtt host {self.host!r} is not a host name or address")
        if self.port is not None and not 1 <= self.port <= 65535:
            raise ValueError(f"mqtt port must be 1..65535, got {self.port}")
        validate_prefix(self.prefix)
        validate_prefix(self.homeassistant_prefix)
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
        if not 0 < self.reconnect_min_s <= self.reconnect_max_s <= 3600:
            raise ValueError(
                f"need 0 < reconnect_min_s <= reconnect_max_s <= 3600, got {self.reconnect_min_s}, {self.reconnect_max_s}"
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


_CLIENT_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
CLIENT_ID_MAX = 128  # characters; MQTT 5 servers accept longer ids, but many cap them near here


def default_client_id(site: str, camera: str) -> str:
    """``camdrift-<site>-<camera>``: one fixed id per camera and site, so the broker hands a restarted agent its
    old session (and fires the stale will at once) instead of keeping two sessions.

    Characters outside ``A-Za-z0-9_.-`` become ``_``; an id longer than :data:`CLIENT_ID_MAX` is cut and ends
    in 8 hex digits of its SHA-256, so two long names still differ.

    >>> default_client_id("plant 1", "line3-top")
    'camdrift-plant_1-line3-top'
    """
    full = f"camdrift-{site}-{camera}"
    safe = _CLIENT_ID_UNSAFE.sub("_", full)
    if len(safe) <= CLIENT_ID_MAX:
        return safe
    digest = hashlib.sha256(full.encode("utf-8")).hexdigest()[:8]
    return f"{safe[: CLIENT_ID_MAX - 9]}-{digest}"


def backoff_delays(min_s: float, max_s: float, draw: Callable[[], float]) -> Iterator[float]:
    """Waits (s) between reconnect attempts: steps doubling from ``min_s`` up to ``max_s``, each wait a random
    fraction in [0.5, 1] of its step (``draw()`` in [0, 1)), so agents that lost the broker together do not
    all come back in the same instant.

    >>> import itertools
    >>> [round(d, 2) for d in itertools.islice(backoff_delays(0.5, 4.0, lambda: 1.0), 6)]
    [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    """
    step = min_s
    while True:
        yield step * (0.5 + 0.5 * draw())
        step = min(2 * step, max_s)


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
