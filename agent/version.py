"""The installed camdrift's version, for messages, discovery configs and ``--version``."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def agent_version() -> str:
    """The version of the installed ``camdrift`` distribution; ``0+unknown`` from a tree never installed."""
    try:
        return version("camdrift")
    except PackageNotFoundError:
        return "0+unknown"
