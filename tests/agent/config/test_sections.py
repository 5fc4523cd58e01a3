"""Configuration sections: the example file documents every key and default."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

from camdrift.agent.config import ActivationsConfig, CameraConfig, Config, SourceConfig, load_config, triple

EXAMPLE = Path(__file__).parents[3] / "systemd" / "camdrift.example.toml"


def sections(cls=Config, prefix=""):
    """(section path, dataclass) for every leaf section, e.g. ("sinks.jsonl", JsonlSinkConfig)."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        path = f"{prefix}.{f.name}" if prefix else f.name
        if dataclasses.is_dataclass(tp):
            if any(dataclasses.is_dataclass(h) for h in typing.get_type_hints(tp).values()):
                yield from sections(tp, path)
            else:
                yield path, tp


def test_example_loads_and_holds_the_defaults():
    config = load_config(str(EXAMPLE))
    assert config == Config(source=SourceConfig(uri=config.source.uri))


def test_example_documents_every_field_in_its_section():
    text = EXAMPLE.read_text()
    headers = list(re.finditer(r"^\[([\w.]+)\]\s*$", text, re.M))
    body = {m.group(1): text[m.end() : (headers[i + 1].start() if i + 1 < len(headers) else len(text))]
            for i, m in enumerate(headers)}  # fmt: skip
    for path, cls in sections():
        assert path in body, f"[{path}] missing from {EXAMPLE.name}"
        for f in dataclasses.fields(cls):
            assert re.search(rf"^(# )?{f.name} = ", body[path], re.M), (
                f"{path}.{f.name} not in {EXAMPLE.name}"
            )


def test_problems_across_keys_are_named_by_the_section():
    assert SourceConfig(uri="shm:a", backoff_initial=5.0, backoff_max=1.0).problems() == [
        ("backoff_max", "must be >= backoff_initial (5), got 1")
    ]
    assert [k for k, _ in ActivationsConfig(enabled=True).problems()] == ["model"]
    assert CameraConfig().problems() == []  # a section without cross-key rules has none


def test_activation_preprocessing_comes_out_as_plain_values():
    args = ActivationsConfig(
        mean="0.5, 0.5,0.5", std="1, 2, 3", input_width=64, input_height=32
    ).preprocess_args()
    assert args["size"] == (64, 32) and args["mean"] == (0.5, 0.5, 0.5) and args["std"] == (1.0, 2.0, 3.0)
    assert triple(" 0.485, 0.456 ,0.406") == (0.485, 0.456, 0.406)
