"""systemd's notify protocol (sd_notify(3)) without a dependency: datagrams to ``$NOTIFY_SOCKET``.

The agent says READY=1 once its baseline is loaded and its sinks are up (its STATUS says when it still waits
for the source: ``ok`` only once frames are analysed), WATCHDOG=1 only while the pipeline is healthy (frames
arrive and are not refused, sinks healthy: so systemd restarts a stuck agent), RELOADING=1/READY=1 around a SIGHUP reload, STOPPING=1 on SIGTERM,
and STATUS=... with a one-line summary. Outside systemd (no ``NOTIFY_SOCKET``) every call is a cheap no-op.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Sends notify datagrams; never raises (a lost notification must not take the agent down).

    socket_path: the ``NOTIFY_SOCKET`` value (a filesystem path, or ``@name`` for the abstract namespace);
        None reads it from ``environ``.
    """

    def __init__(self, socket_path: str | None = None, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        path = socket_path if socket_path is not None else env.get("NOTIFY_SOCKET")
        self._address: str | bytes | None = None
        if path:
            self._address = b"\0" + path[1:].encode() if path.startswith("@") else path
        self._watchdog_usec = _watchdog_usec(env)
        self._sock: socket.socket | None = None
        self._failed = False

    @property
    def enabled(self) -> bool:
        return self._address is not None

    @property
    def watchdog_interval(self) -> float | None:
        """Seconds between WATCHDOG=1 pings: half of systemd's ``WatchdogSec``, or None if it is not set."""
        return None if self._watchdog_usec is None else self._watchdog_usec / 2e6

    def send(self, **fields: str | int) -> bool:
        """Sends ``KEY=value`` lines (keys upper-cased); True if the datagram went out."""
        if self._address is None:
            return False
        payload = "\n".join(f"{k.upper()}={_one_line(v)}" for k, v in fields.items()).encode()
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(payload, self._address)
        except OSError as exc:
            if not self._failed:  # say it once, not at every ping
                log.warning("systemd notify socket %r unreachable: %s", self._address, exc)
            self._failed = True
            return False
        if self._failed:
            log.info("systemd notify socket reachable again")
        self._failed = False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.send(ready=1, **({"status": status} if status else {}))

    def reloading(self) -> bool:
        # systemd >= 253 wants MONOTONIC_USEC with RELOADING=1 (Type=notify-reload); older ones ignore it.
        return self.send(reloading=1, monotonic_usec=time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)

    def stopping(self, status: str | None = None) -> bool:
        return self.send(stopping=1, **({"status": status} if status else {}))

    def watchdog(self) -> bool:
        return self.send(watchdog=1)

    def status(self, text: str) -> bool:
        return self.send(status=text)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _one_line(value: str | int) -> str:
    return str(value).replace("\n", " ")


def _watchdog_usec(env: Mapping[str, str]) -> int | None:
    raw = env.get("WATCHDOG_USEC")
    if not raw:
        return None
    pid = env.get("WATCHDOG_PID")
    if pid and pid.isdigit() and int(pid) != os.getpid():
        return None  # the watchdog was meant for another process (e.g. a wrapper that exec'd us is gone)
    try:
        usec = int(raw)
    except ValueError:
        log.warning("ignoring WATCHDOG_USEC=%r: not an integer", raw)
        return None
    return usec if usec > 0 else None
