"""The agent's configuration: one TOML file, checked completely before anything starts.

Each section is a frozen dataclass; :func:`load_config` builds them from the file, refusing unknown keys, wrong
types and impossible values with a :class:`ConfigError` that names the file and the key path
(``camdrift.toml: analysis.cpu_budget: must be in (0, 1], got 1.5``). Every key and its default is documented
in ``systemd/camdrift.example.toml`` (a test keeps the two in step).

The loader reads field names, types and defaults from the dataclasses, so a section grows by adding a typed
field with a default (and, for a range or pattern, a ``check`` in its metadata): supported types are str,
int, float, bool, ``X | None``, ``Literal[...]`` and the (x, y, w, h) ROI.
"""

from __future__ import annotations

import argparse
import copy
import math
import re
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from typing import Any, Literal

__all__ = [
    "AnalysisConfig", "BaselineConfig", "CameraConfig", "Config", "ConfigError", "ConsoleSinkConfig",
    "ActivationsConfig", "EvidenceConfig", "JsonlSinkConfig", "MqttConfig", "SinksConfig", "SourceConfig", "StateConfig",
    "add_config_arguments", "config_from_args", "load_config",
]  # fmt: skip

Check = Callable[[Any], str | None]  # returns why the value is impossible, or None


def _check(check: Check, default: Any = MISSING) -> Any:
    return field(default=default, metadata={"check": check})


def _range(lo: float, hi: float, *, lo_open: bool = False) -> Check:
    left = "(" if lo_open else "["

    def check(v: float) -> str | None:
        ok = (v > lo if lo_open else v >= lo) and v <= hi and not (isinstance(v, float) and math.isnan(v))
        return None if ok else f"must be in {left}{lo:g}, {hi:g}], got {v!r}"

    return check


def _pattern(regex: str, what: str) -> Check:
    return lambda v: None if re.fullmatch(regex, v) else f"must be {what}, got {v!r}"


def _nonempty(v: str) -> str | None:
    return None if v.strip() else "must not be empty"


def _source_uri(v: str, pixel_format: str = "bgr8") -> str | None:
    from camdrift.agent.sources import open_source  # builds, does not open: catches URI mistakes up front

    try:
        open_source(v, pixel_format=pixel_format)
    except ValueError as exc:
        return str(exc)
    return None


def _via(validate_name: str) -> Check:
    """A check that calls ``camdrift.agent.topics.<validate_name>`` (the rules the MQTT topics enforce)."""

    def check(v: str) -> str | None:
        from camdrift.agent.mqtt import topics

        try:
            getattr(topics, validate_name)(v)
        except ValueError as exc:
            return str(exc)
        return None

    return check


PixelFormat = Literal["bgr8", "rgb8", "gray8", "gray16", "nv12"]
Roi = tuple[int, int, int, int]
_GIB = 1 << 30


@dataclass(frozen=True)
class CameraConfig:
    id: str = _check(_via("validate_camera_id"), "cam0")


@dataclass(frozen=True)
class SourceConfig:
    uri: str = _check(_source_uri)  # required
    pixel_format: PixelFormat = "bgr8"
    bit_depth: int | None = _check(_range(9, 16), None)  # gray16 only
    roi: Roi | None = None  # (x, y, w, h) pixels
    stall_timeout: float = _check(_range(0, 3600, lo_open=True), 10.0)  # s
    backoff_initial: float = _check(_range(0, 3600, lo_open=True), 0.5)  # s
    backoff_max: float = _check(_range(0, 86400, lo_open=True), 30.0)  # s

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if self.pixel_format == "gray16" and self.bit_depth is None:
            out.append(("bit_depth", "required when pixel_format is gray16 (9..16)"))
        if self.pixel_format != "gray16" and self.bit_depth is not None:
            out.append(("bit_depth", f"only applies to gray16, not {self.pixel_format}"))
        if self.pixel_format != "bgr8":
            problem = _source_uri(self.uri, self.pixel_format)
            if problem:
                out.append(("pixel_format", problem))
        if self.backoff_max < self.backoff_initial:
            out.append(
                (
                    "backoff_max",
                    f"must be >= backoff_initial ({self.backoff_initial:g}), got {self.backoff_max:g}",
                )
            )
        return out


@dataclass(frozen=True)
class AnalysisConfig:
    max_fps: float = _check(_range(0, 120, lo_open=True), 5.0)  # analysed frames per second of stream time
    cpu_budget: float = _check(_range(0, 1, lo_open=True), 0.15)  # fraction of one core
    stride: int = _check(_range(1, 64), 1)  # pixel stride
    numba_threads: int = _check(_range(1, 64), 1)


@dataclass(frozen=True)
class BaselineConfig:
    path: str | None = _check(_nonempty, None)


@dataclass(frozen=True)
class StateConfig:
    dir: str = _check(_nonempty, "/var/lib/camdrift")


@dataclass(frozen=True)
class JsonlSinkConfig:
    path: str | None = _check(_nonempty, None)  # None: off


@dataclass(frozen=True)
class ConsoleSinkConfig:
    enabled: bool = True
    format: Literal["text", "json"] = "text"


@dataclass(frozen=True)
class SinksConfig:
    jsonl: JsonlSinkConfig = field(default_factory=JsonlSinkConfig)
    console: ConsoleSinkConfig = field(default_factory=ConsoleSinkConfig)


@dataclass(frozen=True)
class MqttConfig:
    """The ``[mqtt]`` section; ``host`` unset means MQTT is off. The MQTT sink may add fields here."""

    host: str | None = _check(_pattern(r"[^\s/]+", "a host name or address"), None)
    port: int | None = _check(_range(1, 65535), None)  # None: 8883 with TLS, else 1883
    prefix: str | None = _check(_via("validate_prefix"), None)  # None: camdrift/<site>
    site: str = _check(
        _pattern(r"[^\s/+#$][^\s/+#]{0,63}", "one topic level without / + # or spaces"), "default"
    )
    client_id: str | None = _check(_pattern(r"[!-~]{1,128}", "1..128 printable ASCII characters"), None)
    username: str | None = _check(_nonempty, None)
    password_file: str | None = _check(_nonempty, None)
    tls_ca: str | None = _check(_nonempty, None)
    tls_cert: str | None = _check(_nonempty, None)
    tls_key: str | None = _check(_nonempty, None)
    tls_key_password_file: str | None = _check(_nonempty, None)  # for an encrypted tls_key (never prompted)
    tls: bool = False  # TLS with the system's CAs when tls_ca is not set
    tls_insecure: bool = False
    protocol: Literal["5", "3.1.1"] = "5"
    keepalive: int = _check(_range(5, 65535), 30)  # s
    outbox_max_rows: int = _check(_range(1, 10**9), 100_000)
    outbox_max_bytes: int = _check(_range(1 << 16, 1 << 40), 64 << 20)

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if self.password_file is not None and self.username is None:
            out.append(("password_file", "needs username"))
        if self.tls_key is not None and self.tls_cert is None:
            out.append(("tls_key", "needs tls_cert (the client certificate)"))
        return out


@dataclass(frozen=True)
class EvidenceConfig:
    dir: str | None = _check(_nonempty, None)  # None: <state.dir>/evidence
    max_bytes: int = _check(_range(0, 1 << 40), _GIB // 4)  # 0: keep no evidence
    rate: float = _check(_range(0, 3600), 12.0)  # captures per hour of one episode at most (flags: each kept)


_TRIPLE = r"\s*[-+0-9.eE]+\s*,\s*[-+0-9.eE]+\s*,\s*[-+0-9.eE]+\s*"


def triple(text: str) -> tuple[float, float, float]:
    """ "0.485, 0.456, 0.406" -> (0.485, 0.456, 0.406)."""
    a, b, c = (float(v) for v in text.split(","))
    return a, b, c


@dataclass(frozen=True)
class ActivationsConfig:
    """The ``[activations]`` section: the model whose activations are watched (content drift).

    The agent runs the model and preprocessing recorded in the baseline (calibrate --model); the preprocessing
    keys here are what ``camdrift calibrate`` records. Compute objects get plain values (:meth:`preprocess`).
    """

    enabled: bool = False
    model: str | None = _check(_nonempty, None)  # path of the .onnx file (must be the calibrated one)
    output: str | None = _check(_nonempty, None)  # tensor to summarise; None: the baseline's
    output_layout: Literal["nchw", "nhwc"] = "nchw"  # layout of a 4-D output tensor
    every_n: int = _check(_range(1, 10_000), 5)  # the model runs on every n-th analysed frame
    threads: int = _check(_range(1, 64), 1)  # onnxruntime intra- and inter-op threads
    input_width: int = _check(_range(1, 8192), 224)
    input_height: int = _check(_range(1, 8192), 224)
    crop: Roi | None = None  # (x, y, w, h) frame pixels cut before resizing; None: whole frame
    colour: Literal["rgb", "bgr"] = "rgb"  # channel order the model expects
    scale: float = _check(_range(0, 1e6, lo_open=True), 1.0 / 255.0)  # multiplies 0..255 pixel values
    mean: str = _check(_pattern(_TRIPLE, "three comma-separated numbers"), "0.485, 0.456, 0.406")
    std: str = _check(_pattern(_TRIPLE, "three comma-separated numbers"), "0.229, 0.224, 0.225")
    layout: Literal["nchw", "nhwc"] = "nchw"  # input tensor layout
    dtype: Literal["float32", "float16", "uint8"] = "float32"  # input tensor dtype

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if self.enabled and self.model is None:
            out.append(("model", "needed when activations are enabled"))
        for key in ("mean", "std"):
            try:
                values = triple(getattr(self, key))
            except ValueError:
                out.append((key, f"must be three comma-separated numbers, got {getattr(self, key)!r}"))
                continue
            if key == "std" and min(values) <= 0:
                out.append(("std", "must be three positive numbers"))
        return out

    def preprocess_args(self) -> dict[str, Any]:
        """Keyword arguments of :class:`camdrift.agent.model.Preprocess` (kept import-free here)."""
        return {
            "size": (self.input_width, self.input_height),
            "crop": self.crop,
            "colour": self.colour,
            "scale": self.scale,
            "mean": triple(self.mean),
            "std": triple(self.std),
            "layout": self.layout,
            "dtype": self.dtype,
        }


@dataclass(frozen=True)
class Config:
    source: SourceConfig  # required: source.uri has no default
    camera: CameraConfig = field(default_factory=CameraConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    state: StateConfig = field(default_factory=StateConfig)
    sinks: SinksConfig = field(default_factory=SinksConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    evidence: EvidenceConfig = field(default_factory=EvidenceConfig)
    activations: ActivationsConfig = field(default_factory=ActivationsConfig)


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


def _build(cls: type, table: Mapping[str, Any], prefix: str, origin: str) -> Any:
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
    for key, problem in getattr(obj, "problems", list)():
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
        config = _apply(data, overrides, overrides_origin or str(path))
    return config


def _apply(data: dict[str, Any], overrides: Mapping[str, Any], origin: str) -> Config:
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


# Command-line options that override config keys: option dest -> (key path, flag, type, help).
_OPTIONS = {
    "source": (
        "source.uri",
        "--source",
        str,
        "frame source URI (shm:NAME, video:PATH, rtsp://..., dir:PATH...)",
    ),
    "baseline": ("baseline.path", "--baseline", str, "baseline file written by camdrift calibrate"),
    "jsonl": ("sinks.jsonl.path", "--jsonl", str, "append events as JSON lines to this file"),
    "camera_id": ("camera.id", "--camera", str, "camera id (names the MQTT topics)"),
    "pixel_format": ("source.pixel_format", "--pixel-format", str, "bgr8, rgb8, gray8, gray16 or nv12"),
    "max_fps": ("analysis.max_fps", "--max-fps", float, "analyse at most this many frames per second"),
    "cpu_budget": ("analysis.cpu_budget", "--cpu-budget", float, "CPU budget, fraction of one core"),
    "state_dir": ("state.dir", "--state-dir", str, "engine state, outbox and evidence directory"),
}


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds ``--config FILE`` and the overriding options (``--source``, ``--max-fps``...) to ``parser``."""
    parser.add_argument("--config", metavar="FILE", help="TOML configuration (see camdrift.example.toml)")
    for dest, (key, flag, tp, help_text) in _OPTIONS.items():
        parser.add_argument(flag, dest=dest, type=tp, default=None, help=f"{help_text} (overrides {key})")
    parser.add_argument(
        "--mqtt", metavar="HOST[:PORT]", default=None, help="MQTT broker (overrides mqtt.host and mqtt.port)"
    )


def config_from_args(args: argparse.Namespace) -> Config:
    """The configuration from ``--config`` (if given) with the command-line overrides applied."""
    given = [dest for dest in _OPTIONS if getattr(args, dest, None) is not None]
    overrides = {_OPTIONS[dest][0]: getattr(args, dest) for dest in given}
    flag_names = [_OPTIONS[dest][1] for dest in given]
    broker = getattr(args, "mqtt", None)
    if broker is not None:
        from camdrift.agent.mqtt.settings import parse_broker

        try:
            host, port = parse_broker(broker)
        except ValueError as exc:
            raise ConfigError("--mqtt", "mqtt.host", str(exc)) from None
        overrides["mqtt.host"] = host
        if port is not None:
            overrides["mqtt.port"] = port
        flag_names.append("--mqtt")
    flags = ", ".join(flag_names) or "command line"
    path = getattr(args, "config", None)
    if path:
        return load_config(path, overrides, overrides_origin=f"{path} + {flags}" if overrides else "")
    if "source.uri" not in overrides:
        raise ConfigError("command line", "source.uri", "required: pass --source URI or --config FILE")
    return _apply({}, overrides, flags)
