"""The command-line options that override config keys (``--source``, ``--max-fps``, ``--mqtt``...)."""

from __future__ import annotations

import argparse

from camdrift.agent.config.loader import ConfigError, apply_overrides, load_config
from camdrift.agent.config.sections import Config

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
    return apply_overrides({}, overrides, flags)
