"""The version every message, discovery config and ``camdrift --version`` reports is the installed one."""

from __future__ import annotations

from importlib.metadata import version

from camdrift.agent.version import agent_version


def test_the_installed_version_is_reported():
    assert agent_version() == version("camdrift")
