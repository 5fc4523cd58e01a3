"""Fuzzing the TOML configuration loader: generated configurations with hostile numbers and types, raw byte
corruptions of the shipped example, other encodings and deep nesting. Every outcome is a Config whose numbers
are all finite, or a ConfigError whose every line names the file: no other exception, no hang."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from camdrift.agent.config import Config, ConfigError, load_config, triple
from tests.fuzz.support import assert_one_line, fuzz_settings, no_hang, scratch
from tests.fuzz.test_baseline_loader import _mutate, mutation

EXAMPLE = (Path(__file__).parents[2] / "systemd" / "camdrift.example.toml").read_bytes()
NUMBERS = [math.inf, -math.inf, math.nan, 5e-324, 1e-9, 0.0, -0.0, 1e308, 0.5, 1.0, 3600.0, 86400.0]


def _sections(cls: type = Config, prefix: str = "") -> dict[str, list[str]]:
    """{"source": ["uri", ...], "sinks.jsonl": [...], ...}: every table and its keys."""
    out: dict[str, list[str]] = {}
    for f in dataclasses.fields(cls):
        tp = (
            f.type
            if not isinstance(f.type, str)
            else eval(f.type, vars(__import__(cls.__module__, fromlist=["x"])))
        )
        if dataclasses.is_dataclass(tp):
            out |= _sections(tp, f"{prefix}{f.name}.")
        else:
            out.setdefault(prefix.rstrip("."), []).append(f.name)
    return out


SECTIONS = {k: v for k, v in _sections().items() if k}


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


scalar = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, 1, -1, 5, 64, 65, 65535, 65536, 2**40]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(NUMBERS),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=12),
    st.sampled_from(
        ["shm:line3", "synthetic:stationary", "dir:/tmp?fps=inf", "bgr8", "nv12", "1e999, 0, 0", ""]
    ),
)
value = st.one_of(scalar, st.lists(scalar, max_size=5))


@st.composite
def generated(draw: st.DrawFn) -> bytes:
    lines = ['[source]\nuri = "synthetic:stationary"'] if draw(st.booleans()) else []
    for section in draw(st.lists(st.sampled_from(sorted(SECTIONS)), max_size=4, unique=True)):
        lines.append(f"[{section}]")
        for key in draw(
            st.lists(st.sampled_from(SECTIONS[section] + ["bogus"]), min_size=1, max_size=4, unique=True)
        ):
            lines.append(f"{key} = {_toml(draw(value))}")
    text = "\n".join(lines) + "\n"
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    return text.encode(encoding, errors="replace")


def _nested(n: int) -> bytes:
    return f'[source]\nuri = "synthetic:stationary"\n[camera]\nid = {"[" * n}{"]" * n}\n'.encode()


hostile = st.one_of(
    generated(),
    st.builds(_mutate, st.just(EXAMPLE), st.lists(mutation, min_size=1, max_size=4)),
    st.builds(_nested, st.integers(1, 100_000)),
    st.binary(max_size=64),
)


def _numbers_finite(obj: object, where: str = "") -> None:
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if dataclasses.is_dataclass(v):
            _numbers_finite(v, f"{where}{f.name}.")
        elif isinstance(v, float):
            assert math.isfinite(v), f"{where}{f.name} = {v!r} was accepted"
    if isinstance(obj, Config):
        for t in (obj.activations.mean, obj.activations.std):
            assert all(math.isfinite(x) for x in triple(t))


@fuzz_settings()
@given(hostile)
def test_any_config_file_loads_finite_or_is_refused_naming_the_file(data: bytes) -> None:
    path = scratch("camdrift.toml", data)
    try:
        with no_hang():
            config = load_config(str(path))
    except ConfigError as exc:
        for line in str(exc).splitlines():  # several errors: one line each, each naming the file
            assert_one_line(line, str(path))
        return
    _numbers_finite(config)
