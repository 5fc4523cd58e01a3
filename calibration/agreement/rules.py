"""Boundary rules: the labelling criteria a team declares, read from a small TOML file (``--rules``).

::

    [defect]                         # detection labels
    min_size_px = 24                 # a defect whose longest box side is below this (px) is not to be labelled
    margin = 0.25                    # boxes within min_size_px * (1 +- margin) are boundary cases (default 0.25)
    classes = ["scratch", "dent"]    # the classes the size rule is for (default: every class)

    [classification]                 # classification labels
    boundary_pairs = [["ok", "minor_scratch"]]   # class pairs the team knows to be hard to tell apart

Both tables are optional, but the file must declare at least one. Unknown keys, wrong types and values out of
range are errors naming the file and the key (a misspelt key would otherwise silently change nothing).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from camdrift.calibration.agreement.coco import MAX_PX
from camdrift.calibration.agreement.records import LabelError

MAX_RULES_BYTES = 1 << 20
MAX_PAIRS = 1000
_KEYS = {"defect": {"min_size_px", "margin", "classes"}, "classification": {"boundary_pairs"}}


@dataclass(frozen=True)
class DefectRule:
    """The minimum defect size: boxes whose longest side is below ``min_size_px`` (px) are not to be labelled;
    those within ``min_size_px * (1 +- margin)`` are boundary cases. ``classes``: empty = every class."""

    min_size_px: float
    margin: float = 0.25
    classes: tuple[str, ...] = ()

    @property
    def low_px(self) -> float:
        return self.min_size_px * (1.0 - self.margin)

    @property
    def high_px(self) -> float:
        return self.min_size_px * (1.0 + self.margin)

    def applies_to(self, label: str) -> bool:
        return not self.classes or label in self.classes


@dataclass(frozen=True)
class BoundaryRules:
    """What ``--rules`` declared: the size rule (detection) and the boundary class pairs (classification)."""

    source: str
    defect: DefectRule | None = None
    pairs: tuple[tuple[str, str], ...] = ()


def _fail(path: Path, key: str, problem: str) -> LabelError:
    return LabelError(f"key '{key}': {problem}", path)


def _number(table: dict, key: str, path: Path, lo: float, hi: float, lo_open: bool) -> float:
    v = table[key]
    name = f"defect.{key}"
    if (
        isinstance(v, bool)
        or not isinstance(v, int | float)
        or (isinstance(v, float) and not math.isfinite(v))
    ):
        raise _fail(path, name, f"expected a number, got {str(v)[:60]}")
    if v > hi or v < lo or (lo_open and v == lo):
        raise _fail(path, name, f"must be in {'(' if lo_open else '['}{lo:g}, {hi:g}], got {str(v)[:40]}")
    return float(v)


def _names(value: object, path: Path, key: str, size: int | None = None) -> tuple[str, ...]:
    ok = isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
    if not ok or (size is not None and len(value) != size):
        want = f"a list of {size} class names" if size else "a list of class names"
        raise _fail(path, key, f"expected {want}, got {value!r}"[:120])
    return tuple(v.strip() for v in value)


def _defect(table: dict, path: Path) -> DefectRule:
    if "min_size_px" not in table:
        raise _fail(path, "defect.min_size_px", "missing (the minimum defect size in pixels)")
    size = _number(table, "min_size_px", path, 0.0, MAX_PX, lo_open=True)
    margin = _number(table, "margin", path, 0.0, 0.99, lo_open=False) if "margin" in table else 0.25
    classes = _names(table["classes"], path, "defect.classes") if "classes" in table else ()
    return DefectRule(size, margin, classes)


def _pairs(table: dict, path: Path) -> tuple[tuple[str, str], ...]:
    key = "classification.boundary_pairs"
    if "boundary_pairs" not in table:
        raise _fail(path, key, "missing (a list of [class, class] pairs)")
    value = table["boundary_pairs"]
    if not isinstance(value, list) or not value or len(value) > MAX_PAIRS:
        raise _fail(path, key, f"expected a list of 1 to {MAX_PAIRS} [class, class] pairs")
    pairs = []
    for i, pair in enumerate(value):
        a, b = _names(pair, path, f"{key}[{i}]", size=2)
        if a == b:
            raise _fail(path, f"{key}[{i}]", f"a pair needs two different classes, got {a!r} twice")
        pairs.append((a, b))
    return tuple(pairs)


def load_rules(path: str | Path) -> BoundaryRules:
    """Read and check a boundary-rules TOML file (schema in the module docstring).

    Raises :class:`LabelError` (one line naming the file and the key) for an unreadable file, bad TOML, an
    unknown table or key, a wrong type, a value out of range or a file declaring no rule.
    """
    path = Path(path)
    try:
        too_big = path.stat().st_size > MAX_RULES_BYTES
        doc = {} if too_big else tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as e:
        raise LabelError(f"cannot read: {e.strerror}", path) from None
    except UnicodeDecodeError:
        raise LabelError("not UTF-8 text", path) from None
    except tomllib.TOMLDecodeError as e:
        raise LabelError(f"bad TOML: {' '.join(str(e).split())[:120]}", path) from None
    if too_big:
        raise LabelError(f"more than {MAX_RULES_BYTES} bytes: not a rules file", path)
    for name, value in doc.items():
        if name not in _KEYS:
            raise _fail(path, name, f"unknown table (expected {' or '.join(sorted(_KEYS))})")
        if not isinstance(value, dict):
            raise _fail(path, name, "expected a table ([" + name + "])")
        for key in value:
            if key not in _KEYS[name]:
                raise _fail(
                    path, f"{name}.{key}", f"unknown key (expected one of {', '.join(sorted(_KEYS[name]))})"
                )
    if not doc:
        raise LabelError("declares no rule (expected a [defect] or a [classification] table)", path)
    defect = _defect(doc["defect"], path) if "defect" in doc else None
    pairs = _pairs(doc["classification"], path) if "classification" in doc else ()
    return BoundaryRules(str(path), defect, pairs)
