"""Shared by the config tests."""

from __future__ import annotations


def write(tmp_path, text: str) -> str:
    path = tmp_path / "camdrift.toml"
    path.write_text(text)
    return str(path)
