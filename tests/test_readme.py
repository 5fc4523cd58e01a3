"""The README cannot drift from the code: its commands parse and its JSON examples validate."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import jsonschema
import pytest

from camdrift.agent.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
SCHEMA = json.loads((ROOT / "agent/schema/messages.schema.json").read_text())


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def camdrift_commands() -> list[str]:
    out = []
    for block in blocks("sh"):
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("camdrift "):
                out.append(line)
    return out


def test_readme_has_the_two_setup_commands() -> None:
    setup = blocks("sh")[0]
    assert "./scripts/demo" in setup and "./scripts/test" in setup
    assert (ROOT / "scripts/demo").exists() and (ROOT / "scripts/test").exists()
    assert "scripts/test" in (ROOT / ".ci/run").read_text()


@pytest.mark.parametrize("command", camdrift_commands())
def test_every_readme_command_parses(command: str) -> None:
    argv = shlex.split(command, comments=True)[1:]
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed what was wrong
        pytest.fail(f"README command does not parse ({exc.code}): {command}")
    assert callable(args.func)


@pytest.mark.parametrize("example", blocks("json"))
def test_readme_json_examples_follow_the_schema(example: str) -> None:
    jsonschema.validate(json.loads(example), SCHEMA)


def test_readme_lists_every_config_key() -> None:
    import dataclasses
    import typing

    from camdrift.agent.config import Config

    def keys(cls: type, prefix: str = "") -> list[str]:
        out = []
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if dataclasses.is_dataclass(hints[f.name]):
                out += keys(hints[f.name], f"{prefix}{f.name}.")
            else:
                out.append(f"{prefix}{f.name}")
        return out

    missing = [k for k in keys(Config) if f"`{k}`" not in README]
    assert not missing, f"config keys without a README entry: {missing}"
