from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.mqtt.broker import Mosquitto, Pki, make_pki
from tests.agent.mqtt.helpers import Publisher


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """An anonymous mosquitto on a free port (killed at teardown)."""
    b = Mosquitto(tmp_path / "broker").start()
    yield b
    b.kill()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def publishers() -> Iterator[list[Publisher]]:
    """Publisher processes started by a test register here and are killed at teardown."""
    started: list[Publisher] = []
    yield started
    for p in started:
        p.kill()
