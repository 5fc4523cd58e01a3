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
from camdrift.agent.files import open_regular_file


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


def _field(f: Any, tp: Any, table: Mapping[str, Any], where: str, origin: str, errors: list) -> Any:
    """The value of one field (MISSING: take the default); a problem goes to ``errors`` (then MISSING)."""
    name = f.name
    if is_dataclass(tp):
        sub = table.get(name, {})
        if not isinstance(sub, dict):
            errors.append(ConfigError(origin, where, f"must be a table [{where}], got {sub!r}"))
            return MISSING
        return _build(tp, sub, where, origin, errors)  # absent table: defaults (or "required" errors)
    if name not in table:
        if f.default is MISSING and f.default_factory is MISSING:
            errors.append(ConfigError(origin, where, "required"))
        return MISSING
    try:
        value = _convert(table[name], tp, where, origin)
    except ConfigError as exc:
        errors.append(exc)
        return MISSING
    check = f.metadata.get("check")
    problem = check(value) if check is not None and value is not None else None
    if problem:
        errors.append(ConfigError(origin, where, problem))
        return MISSING
    return value


def _build(
    cls: type[ConfigSection], table: Mapping[str, Any], prefix: str, origin: str, errors: list
) -> ConfigSection | object:
    """The section ``cls`` from ``table``, or MISSING when any of its keys (or sub-tables) is wrong: every
    problem found is appended to ``errors``, so that one reading names them all."""
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    before = len(errors)
    for key in table:
        if key not in known:
            where = f"{prefix}.{key}" if prefix else key
            errors.append(ConfigError(origin, where, f"unknown key (allowed here: {', '.join(known)})"))
    kwargs = {}
    for name, f in known.items():
        value = _field(f, hints[name], table, f"{prefix}.{name}" if prefix else name, origin, errors)
        if value is not MISSING:
            kwargs[name] = value
    if len(errors) > before:
        return MISSING
    obj = cls(**kwargs)
    for key, problem in obj.problems():
        errors.append(ConfigError(origin, f"{prefix}.{key}" if prefix else key, problem))
    return MISSING if len(errors) > before else obj


class ConfigErrors(ConfigError):
    """Several configuration problems of one origin, all found in one reading: ``errors``, one line each
    (the first is also this error's ``origin``, ``key`` and ``message``)."""

    def __init__(self, errors: list[ConfigError]) -> None:
        first = errors[0]
        super().__init__(first.origin, first.key, first.message)
        self.errors = list(errors)
        self.args = ("\n".join(str(e) for e in errors),)

    def __str__(self) -> str:
        return self.args[0]


def parse_config(data: Mapping[str, Any], origin: str = "<config>") -> Config:
    """A :class:`Config` from an already parsed TOML document; ``origin`` names it in errors. Every problem
    of the document is reported: one :class:`ConfigError`, or :class:`ConfigErrors` when there are several."""
    errors: list[ConfigError] = []
    config = _build(Config, data, "", origin, errors)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigErrors(errors)
    return config


MAX_CONFIG_BYTES = 1 << 20  # a config file is a few kB
MAX_NESTING = 16  # tables and arrays inside each other


def _depth_ok(value: Any, limit: int) -> bool:
    """Whether ``value`` (parsed TOML) nests tables and arrays at most ``limit`` deep (iteratively)."""
    stack = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(v, dict):
            stack.extend((x, depth + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, depth + 1) for x in v)
    return True


def read_toml(path: str) -> dict[str, Any]:
    """The TOML document at ``path``: a regular file of at most :data:`MAX_CONFIG_BYTES`, UTF-8 (a leading
    byte-order mark is accepted), nested at most :data:`MAX_NESTING` deep; ConfigError naming the file and why."""
    try:
        with open_regular_file(path) as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read it: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(str(path), "", f"is larger than {MAX_CONFIG_BYTES} bytes: not a configuration file")
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            str(path), "", f"is not UTF-8 text (byte {exc.start}: {raw[exc.start]:#04x}); save it as UTF-8"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"not valid TOML: {exc}") from None
    except RecursionError:
        data = None
    if data is None or not _depth_ok(data, MAX_NESTING):
        raise ConfigError(str(path), "", f"tables or arrays nest deeper than {MAX_NESTING} levels")
    return data


def load_config(
    path: str, overrides: Mapping[str, Any] | None = None, *, overrides_origin: str = ""
) -> Config:
    """Reads and checks the TOML file at ``path``; ``overrides`` ({"analysis.max_fps": 2.0, ...}) replace
    file values and are checked the same way (errors name ``overrides_origin``, or the file)."""
    data = read_toml(path)
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
