"""The value checks a config field carries in its metadata: each returns why a value is impossible, or None.

A section field with a range or pattern is declared ``name: type = checked(in_range(0, 1), default)``; the
loader (:mod:`camdrift.agent.config.loader`) runs the check on the converted value and names the key path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import MISSING, field
from typing import Any

Check = Callable[[Any], str | None]  # returns why the value is impossible, or None


def checked(check: Check, default: Any = MISSING) -> Any:
    """A dataclass field with ``default`` whose values ``check`` refuses or accepts."""
    return field(default=default, metadata={"check": check})


def in_range(lo: float, hi: float, *, lo_open: bool = False, floor: float = 0.0) -> Check:
    """``lo <= v <= hi`` (``lo < v`` with ``lo_open``), and not NaN; a positive ``floor`` also refuses the values
    of an open range that are too small to mean anything (``max_fps = 1e-9``, ``stall_timeout = 5e-324``)."""
    left = "(" if lo_open else "["

    def bound(x: float) -> str:  # integers as integers: "[4096, 16777216]", not "1.67772e+07"
        return str(x) if isinstance(x, int) else f"{x:g}"

    def check(v: float) -> str | None:
        ok = (v > lo if lo_open else v >= lo) and v <= hi and not (isinstance(v, float) and math.isnan(v))
        if not ok:
            return f"must be in {left}{bound(lo)}, {bound(hi)}], got {v!r}"
        return f"must be at least {floor:g}, got {v!r}" if v < floor else None

    return check


def pattern(regex: str, what: str) -> Check:
    """The whole string matches ``regex``; ``what`` says what that means in the message."""
    return lambda v: None if re.fullmatch(regex, v) else f"must be {what}, got {v!r}"


def nonempty(v: str) -> str | None:
    return None if v.strip() else "must not be empty"


def source_uri(v: str, pixel_format: str = "bgr8") -> str | None:
    """The source a URI names can be built (not opened): catches URI mistakes up front."""
    from camdrift.agent.sources import open_source

    try:
        open_source(v, pixel_format=pixel_format)
    except ValueError as exc:
        return str(exc)
    return None


def via_topics(validate_name: str) -> Check:
    """A check that calls ``camdrift.agent.mqtt.topics.<validate_name>`` (the rules the MQTT topics enforce)."""

    def check(v: str) -> str | None:
        from camdrift.agent.mqtt import topics

        try:
            getattr(topics, validate_name)(v)
        except ValueError as exc:
            return str(exc)
        return None

    return check


def number_triple(v: str) -> str | None:
    """Three comma-separated finite numbers ("0.485, 0.456, 0.406")."""
    parts = v.split(",")
    try:
        ok = len(parts) == 3 and all(math.isfinite(float(p)) for p in parts)
    except ValueError:
        ok = False
    return None if ok else f"must be three comma-separated finite numbers, got {v[:60]!r}"
