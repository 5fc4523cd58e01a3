"""Fixtures of the evidence tests: spools written once per session (tests read them, never change them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.calibration.evidence.spools import classifier_spool, detector_spool


@pytest.fixture(scope="session")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return classifier_spool(tmp_path_factory.mktemp("spool") / "classifier")


@pytest.fixture(scope="session")
def detector(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return detector_spool(tmp_path_factory.mktemp("spool") / "detector")
