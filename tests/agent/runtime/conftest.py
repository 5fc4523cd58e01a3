"""Fixtures of the runtime tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from camdrift.agent.reference.baseline import save_baseline
from tests.agent.drift_fixtures import small_baseline


@pytest.fixture(scope="module")
def baseline_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("baseline") / "baseline.npz"
    save_baseline(small_baseline(), path)
    return path
