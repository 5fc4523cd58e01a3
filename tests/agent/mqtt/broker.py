"""A real mosquitto for the tests: generated config, a free port, certificates made with the openssl CLI."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    """A TCP port that was free a moment ago (the OS picks it; never 1883, never fixed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"mosquitto exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


@dataclass(frozen=True)
class Pki:
    """A CA and a server certificate for 127.0.0.1/localhost, plus an encrypted client key and cert."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key_encrypted: Path
    client_key_password: str
    other_ca: Path  # a CA that signed nothing the broker uses: "untrusted"


def make_pki(directory: Path) -> Pki:
    d = directory
    d.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    for name in ("ca", "other-ca"):
        _openssl(
            "req",
            "-x509",
            *ec,
            "-nodes",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.crt",
            "-days",
            "2",
            "-subj",
            f"/CN=camdrift test {name}",
            cwd=d,
        )
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "req", *ec, "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=d
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        cwd=d,
    )
    password = "key-pass-1234"
    _openssl(
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-aes-128-cbc",
        "-pass",
        f"pass:{password}",
        "-out",
        "client.key",
        cwd=d,
    )
    _openssl(
        "req",
        "-new",
        "-key",
        "client.key",
        "-passin",
        f"pass:{password}",
        "-out",
        "client.csr",
        "-subj",
        "/CN=camdrift-client",
        cwd=d,
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        "client.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "client.crt",
        "-days",
        "2",
        cwd=d,
    )
    return Pki(
        d / "ca.crt",
        d / "server.crt",
        d / "server.key",
        d / "client.crt",
        d / "client.key",
        password,
        d / "other-ca.crt",
    )


class Mosquitto:
    """One broker on a free port of 127.0.0.1, restartable on the same port with the same persistence
    (``persistence=False``: a restart forgets every retained message and session); ``acl``: the text of an
    ``acl_file``."""

    def __init__(
        self,
        directory: Path,
        *,
        users: dict[str, str] | None = None,
        pki: Pki | None = None,
        persistence: bool = True,
        acl: str | None = None,
    ) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.users = users
        self.pki = pki
        self.proc: subprocess.Popen | None = None
        self.conf = self.dir / "mosquitto.conf"
        self.log = self.dir / "mosquitto.log"
        lines = [
            f"listener {self.port} 127.0.0.1",
            "user root" if _is_root() else "",
            # Persistence with a save after every change keeps a persistent subscriber's session (and its
            # queued QoS 1 messages) across a SIGKILL of the broker, so tests need no timing luck.
            "persistence true" if persistence else "persistence false",
            f"persistence_location {self.dir}/" if persistence else "",
            "autosave_interval 1" if persistence else "",
            "autosave_on_changes true" if persistence else "",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
        ]
        if users is not None:
            self.set_users(users)
            lines += ["allow_anonymous false", f"password_file {self.dir / 'passwd'}"]
        else:
            lines.append("allow_anonymous true")
        if acl is not None:  # mosquitto's acl_file text
            (self.dir / "acl").write_text(acl)
            lines.append(f"acl_file {self.dir / 'acl'}")
        if pki is not None:
            lines += [
                f"cafile {pki.ca}",
                f"certfile {pki.server_cert}",
                f"keyfile {pki.server_key}",
                "require_certificate false",
            ]
        self.conf.write_text("\n".join(line for line in lines if line) + "\n")

    def set_users(self, users: dict[str, str]) -> None:
        """(Re)write the password file; a running broker reloads it on SIGHUP."""
        passwd = self.dir / "passwd"
        passwd.write_text("")
        for user, password in users.items():
            subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, password], check=True, timeout=10)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(1)

    def start(self, timeout: float = 5.0) -> Mosquitto:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self._log_file = open(self.log, "ab")  # noqa: SIM115 (closed in kill)
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=self._log_file, stderr=self._log_file
        )
        try:
            wait_for_port(self.port, timeout, self.proc)
        except Exception:
            self.kill()
            raise RuntimeError(f"mosquitto did not start: {self.log.read_text()[-2000:]}") from None
        return self

    def kill(self) -> None:
        """SIGKILL: the broker dies without saving anything more."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        if getattr(self, "_log_file", None) is not None:
            self._log_file.close()
            self._log_file = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def _is_root() -> bool:
    import os

    return os.geteuid() == 0
