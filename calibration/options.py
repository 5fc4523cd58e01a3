"""Command-line pieces shared by the technician commands: option parsers, the source settings from ``--config``
plus options, and the one way they report a bad input (message naming the culprit, exit code 2)."""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from camdrift.agent.config import ConfigError, load_config, parse_config
from camdrift.agent.files import check_writable_target
from camdrift.agent.reference.baseline import Baseline, BaselineError, load_baseline
from camdrift.agent.sources import open_source
from camdrift.agent.sources.base import FrameSource
from camdrift.kernels import KernelParams

EXIT_OK, EXIT_DRIFT, EXIT_FAIL = 0, 1, 2


class UsageError(ValueError):
    """Bad input from the technician; the message names the option, file or URI."""


def fail(command: str, message: object) -> int:
    print(f"camdrift {command}: {message}", file=sys.stderr)
    return EXIT_FAIL


def parse_roi(text: str) -> tuple[int, int, int, int]:
    """``x,y,w,h`` (pixels) -> tuple; argparse type."""
    parts = text.replace(" ", "").split(",")
    try:
        x, y, w, h = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"want x,y,w,h in pixels (4 integers), got {text!r}") from None
    if min(x, y) < 0 or min(w, h) < 1:
        raise argparse.ArgumentTypeError(f"want x, y >= 0 and w, h >= 1, got {text!r}")
    return x, y, w, h


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``10m``, ``1.5h`` -> seconds (at most 10^7 s, about 116 days); argparse type."""
    m = re.fullmatch(r"\s*(\d{1,9}(?:\.\d{0,9})?)\s*([smh]?)\s*", text)
    if (
        not m
        or float(m.group(1)) <= 0
        or float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)] > 1e7
    ):
        raise argparse.ArgumentTypeError(f"want a duration such as 90s, 10m or 1h, got {text!r}")
    return float(m.group(1)) * {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}[m.group(2)]


def bounded_float(lo: float, hi: float, *, lo_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``); inf, NaN, 400-digit
    numbers and values out of range are refused with a message naming the range."""
    left = "(" if lo_open else "["

    def parse(text: str) -> float:
        try:
            value = float(text) if len(text) <= 40 else math.nan
        except ValueError:
            value = math.nan
        ok = math.isfinite(value) and (value > lo if lo_open else value >= lo) and value <= hi
        if not ok:
            raise argparse.ArgumentTypeError(f"want a number in {left}{lo:g}, {hi:g}], got {text[:40]!r}")
        return value

    return parse


def bounded_int(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: an integer in ``lo..hi`` (sizes bounded before any work is done)."""

    def parse(text: str) -> int:
        try:
            value = int(text) if len(text) <= 20 else None
        except ValueError:
            value = None
        if value is None or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"want an integer in {lo}..{hi}, got {text[:40]!r}")
        return value

    return parse


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"want an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"want an integer >= 1, got {text!r}")
    return value


class SourceSettings(NamedTuple):
    """What a capture needs from the configuration: source uri, pixel format, roi, analysis rate and stride,
    camera id."""

    uri: str
    pixel_format: str
    roi: tuple[int, int, int, int] | None
    max_fps: float
    stride: int
    camera_id: str

    def kernel(self, thumb_size: tuple[int, int] = (64, 64), grid: int = 8) -> KernelParams:
        """The kernel parameters of these settings (pixel format, roi, stride) with ``thumb_size`` (th, tw)
        cells and a ``grid`` x ``grid`` sharpness grid; the resolution comes with the first frame."""
        return KernelParams(
            pixel_format=self.pixel_format, roi=self.roi, stride=self.stride, thumb_size=thumb_size, grid=grid
        )


def add_source_arguments(parser: argparse.ArgumentParser, *, with_roi: bool = True) -> None:
    parser.add_argument("--source", metavar="SRC", help="frame source URI (video:PATH, dir:PATH, rtsp://...)")
    parser.add_argument("--config", metavar="CFG", help="agent TOML configuration (source, camera, roi...)")
    parser.add_argument("--pixel-format", help="bgr8, rgb8 or gray8 (default: the config's, else bgr8)")
    parser.add_argument(
        "--max-fps",
        type=bounded_float(0.001, 120),
        help="analyse at most this many frames per second (default 5)",
    )
    if with_roi:
        parser.add_argument("--roi", type=parse_roi, metavar="x,y,w,h", help="region of interest in pixels")
        parser.add_argument(
            "--stride", type=positive_int, help="pixel stride (default: the config's, else 1)"
        )
        parser.add_argument("--camera", dest="camera_id", help="camera id (default: the config's, else cam0)")


def source_settings(args: argparse.Namespace, *, need_source: bool = True) -> SourceSettings:
    """Settings from ``--config`` with the options on top, checked by the agent's own config rules.
    Raises :class:`UsageError` naming the option or the file."""
    overrides: dict[str, object] = {}
    names = []
    for dest, key, flag in (
        ("source", "source.uri", "--source"),
        ("pixel_format", "source.pixel_format", "--pixel-format"),
        ("roi", "source.roi", "--roi"),
        ("max_fps", "analysis.max_fps", "--max-fps"),
        ("stride", "analysis.stride", "--stride"),
        ("camera_id", "camera.id", "--camera"),
    ):
        value = getattr(args, dest, None)
        if value is not None:
            overrides[key] = list(value) if dest == "roi" else value
            names.append(flag)
    try:
        if getattr(args, "config", None):
            cfg = load_config(args.config, overrides, overrides_origin=f"{args.config} + {', '.join(names)}")
        else:
            if "source.uri" not in overrides:
                if not need_source:
                    overrides["source.uri"] = "synthetic:stationary"  # placeholder: no capture will run
                else:
                    raise UsageError("no source: pass --source SRC (or --config CFG with [source] uri)")
            tree: dict = {}
            for dotted, value in overrides.items():
                section, key = dotted.split(".")
                tree.setdefault(section, {})[key] = value
            cfg = parse_config(tree, ", ".join(names) or "command line")
    except ConfigError as exc:
        raise UsageError(f"configuration error: {exc}") from None
    return SourceSettings(
        uri=cfg.source.uri,
        pixel_format=cfg.source.pixel_format,
        roi=None if cfg.source.roi is None else tuple(cfg.source.roi),
        max_fps=cfg.analysis.max_fps,
        stride=cfg.analysis.stride,
        camera_id=cfg.camera.id,
    )


def make_source(uri: str, pixel_format: str) -> FrameSource:
    """The source a tool reads (a tap's flagged frames are left to the agent that may run beside it)."""
    try:
        return open_source(uri, pixel_format=pixel_format, take_flags=False)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def check_output(path: str, option: str) -> Path:
    """A path a file can be written to: a new path or a regular file (never a device, FIFO or folder: ``--out
    /dev/full`` must not replace the device node), in a folder that exists and is writable."""
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{option} {path}: is a folder, want a file name")
    try:
        check_writable_target(p)
    except OSError as exc:
        raise UsageError(f"{option} {path}: {exc.strerror}") from None
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{option} {path}: folder {parent} is not writable")
    return p


def read_baseline(path: str, option: str = "--baseline") -> Baseline:
    """The baseline at ``path``, or :class:`UsageError` naming the file and why it is refused."""
    if Path(path).is_dir():
        raise UsageError(f"{option} {path}: is a folder, want a baseline file")
    try:
        return load_baseline(path)
    except FileNotFoundError:
        raise UsageError(f"{option} {path}: no such file") from None
    except BaselineError as exc:  # its message starts with the path
        raise UsageError(f"{option}: refused: {exc}") from None
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot read it: {exc.strerror or exc}") from None
