"""Drive the publisher helper process (the daemon's stand-in) from a test."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import jsonschema

from camdrift.agent.mqtt.sink import DELIVERY

SCRIPT = Path(__file__).with_name("publisher.py")
SCHEMA_PATH = Path(__file__).parents[3] / "agent" / "schema" / "messages.schema.json"


def validator() -> jsonschema.Draft202012Validator:
    from importlib.resources import files

    schema = json.loads(files("camdrift.agent").joinpath("schema/messages.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


class Publisher:
    """One publisher process; :meth:`cmd` sends a command and returns its one-line JSON answer."""

    def __init__(
        self,
        workdir: Path,
        port: int,
        *,
        camera: str = "cam-1",
        prefix: str = "camdrift/test",
        outbox: Path | None = None,
        max_rows: int = 100_000,
        **settings: Any,
    ) -> None:
        """``settings`` override MqttSettings fields; a None value removes the helper's default (so the
        sink's own default applies, e.g. ``reconnect_min_s=None``)."""
        workdir.mkdir(parents=True, exist_ok=True)
        self.camera = camera
        self.log = workdir / f"publisher-{camera}.log"
        fields = {
            "host": "127.0.0.1",
            "port": port,
            "prefix": prefix,
            "reconnect_min_s": 0.1,
            "reconnect_max_s": 0.5,
            "keepalive_s": 5,
        } | {k: (str(v) if isinstance(v, Path) else v) for k, v in settings.items()}
        cfg = {
            "camera": camera,
            "outbox": str(outbox or workdir / f"outbox-{camera}.sqlite"),
            "max_rows": max_rows,
            "settings": {k: v for k, v in fields.items() if v is not None},
        }
        self.outbox_path = Path(cfg["outbox"])
        config = workdir / f"publisher-{camera}.json"
        config.write_text(json.dumps(cfg))
        self._log = open(self.log, "ab")  # noqa: SIM115 (closed in close/kill)
        self.proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), str(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            bufsize=1,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.hello = self._answer(15.0)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)

    def _answer(self, timeout: float) -> dict[str, Any]:
        try:
            return json.loads(self._lines.get(timeout=timeout))
        except queue.Empty:
            raise TimeoutError(
                f"publisher did not answer in {timeout} s; log:\n{self.log_text()[-3000:]}"
            ) from None

    def cmd(self, op: str, timeout: float = 10.0, **args: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        return self._answer(timeout)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no clean stop, the will fires, the outbox stays as it is on disk."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self._log.close()

    def stop(self, drain: float = 3.0) -> dict[str, Any]:
        answer = self.cmd("stop", drain=drain, timeout=drain + 15)
        self.proc.wait(timeout=5)
        self._log.close()
        return answer


def poll_info(pub: Publisher, predicate, timeout: float = 5.0) -> dict:
    """The publisher's ``info`` once ``predicate`` holds (an AssertionError after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while True:
        info = pub.cmd("info")
        if predicate(info):
            return info
        assert time.monotonic() < deadline, f"publisher state never matched: {info}"
        time.sleep(0.05)


def qos_retain(kind: str) -> tuple[int, bool]:
    return DELIVERY[kind]
