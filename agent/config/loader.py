"""Reading a configuration: TOML (or an already parsed document) -> :class:`~camdrift.agent.config.Config`.

Field names, types and defaults come from the section dataclasses (:mod:`camdrift.agent.config.sections`);
unknown keys, wrong types and impossible values are refused with a :class:`ConfigError` naming the origin (file
name or command-line options) and the key path.
"""

from __future__ import annotations

import copy
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, fields, is_dataclass
from typing import Any, Literal

from camdrift.agent.config.sections import Config, ConfigSection, Roi


class ConfigError(ValueError):
    """A configuration problem: ``origin`` (file name or command-line option), ``key`` path and message."""

    def __init__(self, origin: str, key: str, message: str) -> None:
        self.origin, self.key, self.message = origin, key, message
        super().__init__(f"{origin}: {key}: {message}" if key else f"{origin}: {message}")


_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def _convert(value: Any, tp: Any, where: str, origin: str) -> Any:
    """``value`` (from TOML) as type ``tp``, or ConfigError naming what was expected."""
    origin_tp = typing.get_origin(tp)
    if origin_tp in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(value, inner[0], where, origin)
    if origin_tp is Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            raise ConfigError(origin, where, f"must be one of {', '.join(map(repr, choices))}, got {value!r}")
        return value
    if tp == Roi:
        ok = isinstance(value, list) and len(value) == 4 and all(type(v) is int and v >= 0 for v in value)
        if not ok or value[2] < 1 or value[3] < 1:
            raise ConfigError(
                origin, where, f"must be [x, y, w, h] of integers >= 0 with w, h >= 1, got {value!r}"
            )
        return tuple(value)
    if tp is float and type(value) is int:
        return float(value)
    if type(value) is not tp:
        got = type(value).__name__ if not isinstance(value, dict) else "a table"
        raise ConfigError(origin, where, f"must be {_TYPE_NAMES.get(tp, tp)}, got {got} {value!r}")
    return value


def _build(cls: type[ConfigSection], table: Mapping[str, Any], prefix: str, origin: str) -> ConfigSection:
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    for key in table:
        if key not in known:
            where = f"{prefix}.{key}" if prefix else key
            raise ConfigError(origin, where, f"unknown key (allowed here: {', '.join(known)})")
    kwargs = {}
    for name, f in known.items():
        where = f"{prefix}.{name}" if prefix else name
        tp = hints[name]
        if is_dataclass(tp):
            sub = table.get(name, {})
            if not isinstance(sub, dict):
                raise ConfigError(origin, where, f"must be a table [{where}], got {sub!r}")
            kwargs[name] = _build(tp, sub, where, origin)  # absent table: defaults (or "required" errors)
            continue
        if name not in table:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ConfigError(origin, where, "required")
            continue
        value = _convert(table[name], tp, where, origin)
        check = f.metadata.get("check")
        problem = check(value) if check is not None and value is not None else None
        if problem:
            raise ConfigError(origin, where, problem)
        kwargs[name] = value
    obj = cls(**kwargs)
    for key, problem in obj.problems():
        raise ConfigError(origin, f"{prefix}.{key}" if prefix else key, problem)
    return obj


def parse_config(data: Mapping[str, Any], origin: str = "<config>") -> Config:
    """A :class:`Config` from an already parsed TOML document; ``origin`` names it in errors."""
    return _build(Config, data, "", origin)


def load_config(
    path: str, overrides: Mapping[str, Any] | None = None, *, overrides_origin: str = ""
) -> Config:
    """Reads and checks the TOML file at ``path``; ``overrides`` ({"analysis.max_fps": 2.0, ...}) replace
    file values and are checked the same way (errors name ``overrides_origin``, or the file)."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read it: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"not valid TOML: {exc}") from None
    config = parse_config(data, str(path))
    if overrides:
        config = apply_overrides(data, overrides, overrides_origin or str(path))
    return config


def apply_overrides(data: Mapping[str, Any], overrides: Mapping[str, Any], origin: str) -> Config:
    """The configuration of ``data`` with ``overrides`` (dotted key path -> value) put in, checked whole."""
    merged = copy.deepcopy(dict(data))
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        table = merged
        for p in parents:
            table = table.setdefault(p, {})
            if not isinstance(table, dict):
                raise ConfigError(origin, dotted, f"{p} is not a table")
        table[leaf] = value
    return parse_config(merged, origin)
