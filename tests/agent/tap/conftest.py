"""Fixtures of the frame-tap tests: a unique tap name (its segment removed afterwards) and producer processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.agent.tap.helpers import PRODUCER


@pytest.fixture
def name():
    n = f"test-{uuid.uuid4().hex[:12]}"
    yield n
    for leftover in Path("/dev/shm").glob(f"camdrift-tap.{n}*"):
        leftover.unlink()


class Producers:
    """Starts _tap_producer.py processes and makes sure none outlives the test."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, name: str, *args: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, str(PRODUCER), name, *args],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.procs.append(proc)
        line = proc.stdout.readline()
        assert line.startswith("ready"), f"producer did not start: {line!r}"
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)  # reaped, so its pid no longer exists

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                self.kill(proc)
            proc.stdout.close()


@pytest.fixture
def producers():
    p = Producers()
    yield p
    p.stop_all()
