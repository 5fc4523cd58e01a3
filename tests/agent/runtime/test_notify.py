"""The notify protocol against a real datagram socket standing in for systemd."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from camdrift.agent.runtime.notify import Notifier


@pytest.fixture
def systemd_socket(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2.0)
    yield path, sock
    sock.close()


def received(sock: socket.socket) -> dict[str, str]:
    data = sock.recv(4096).decode()
    return dict(line.split("=", 1) for line in data.splitlines())


def test_ready_status_watchdog_stopping(systemd_socket: tuple[str, socket.socket]) -> None:
    path, sock = systemd_socket
    n = Notifier(environ={"NOTIFY_SOCKET": path})
    assert n.enabled
    assert n.ready(status="analysing 5.0 fps\nall ok")
    assert received(sock) == {"READY": "1", "STATUS": "analysing 5.0 fps all ok"}
    assert n.watchdog()
    assert received(sock) == {"WATCHDOG": "1"}
    assert n.reloading()
    msg = received(sock)
    assert msg["RELOADING"] == "1" and int(msg["MONOTONIC_USEC"]) > 0
    assert n.stopping()
    assert received(sock) == {"STOPPING": "1"}
    n.close()


def test_abstract_namespace_socket() -> None:
    name = f"camdrift-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2.0)
    try:
        assert Notifier(environ={"NOTIFY_SOCKET": "@" + name}).ready()
        assert received(sock) == {"READY": "1"}
    finally:
        sock.close()


def test_outside_systemd_everything_is_a_no_op() -> None:
    n = Notifier(environ={})
    assert not n.enabled
    assert n.ready() is False and n.watchdog() is False
    assert n.watchdog_interval is None


def test_vanished_socket_is_reported_once_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    n = Notifier(environ={"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    assert n.watchdog() is False
    assert n.watchdog() is False
    assert sum("unreachable" in r.message for r in caplog.records) == 1


def test_watchdog_interval_is_half_of_watchdog_sec() -> None:
    env = {"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getpid())}
    assert Notifier(environ=env).watchdog_interval == pytest.approx(10.0)
    assert Notifier(environ={**env, "WATCHDOG_PID": "1"}).watchdog_interval is None
