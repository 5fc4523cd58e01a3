"""Flat label files, one classification label per row: CSV and JSON lines -> [Annotation].

- CSV with a header naming at least ``item``, ``annotator`` and ``label`` (optional ``time``); other columns
  are ignored so that exports from labelling tools load as they are.
- JSON lines: one object per line with the same keys; blank lines are skipped.

``time`` is POSIX seconds or an ISO-8601 timestamp (a naive one is read as UTC); it only orders items for
``--by-time``. Labels and items are compared as strings (a JSON ``1`` and a CSV ``1`` are the same label).
"""

from __future__ import annotations

import csv
import json
import math
from datetime import UTC, datetime
from pathlib import Path

from camdrift.calibration.agreement.records import Annotation, LabelError

_REQUIRED = ("item", "annotator", "label")


def _parse_time(text: object, path: Path, line: int) -> float | None:
    if text is None or text == "":
        return None
    if isinstance(text, bool):
        raise LabelError("expected POSIX seconds or an ISO-8601 timestamp, got a boolean", path, line, "time")
    if isinstance(text, int | float):
        value = float(text) if isinstance(text, float) or abs(text) < 10**300 else math.inf
    else:
        s = str(text).strip()[:100]
        try:
            value = float(s)
        except ValueError:
            try:
                stamp = datetime.fromisoformat(s)
            except ValueError:
                raise LabelError(
                    f"expected POSIX seconds or an ISO-8601 timestamp, got {s[:60]!r}", path, line, "time"
                ) from None
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=UTC)
            value = stamp.timestamp()
    if not math.isfinite(value):
        raise LabelError(f"time must be finite, got {repr(text)[:60]}", path, line, "time")
    return value


def _text(value: object, path: Path, line: int, name: str) -> str:
    """A required item/annotator/label value as a non-empty string."""
    if value is None:
        raise LabelError("missing", path, line, name)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise LabelError(f"expected a string or a number, got {type(value).__name__}", path, line, name)
    s = str(value).strip()
    if not s:
        raise LabelError("empty value", path, line, name)
    return s


def read_csv(path: Path) -> list[Annotation]:
    """Rows of a CSV label file with a header (item, annotator, label[, time]); blank rows are skipped."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")  # utf-8-sig: spreadsheets write a BOM
    except OSError as e:
        raise LabelError(f"cannot read: {e.strerror}", path) from None
    rows: list[Annotation] = []
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None:
                raise LabelError("empty file (expected a header: item,annotator,label[,time])", path)
            names = [h.strip().lower() for h in header]
            missing = [c for c in _REQUIRED if c not in names]
            if missing:
                raise LabelError(
                    f"header {header!r} lacks {', '.join(missing)}; need item,annotator,label[,time]",
                    path,
                    1,
                )
            col = {c: names.index(c) for c in (*_REQUIRED, "time") if c in names}
            for row in reader:
                line = reader.line_num
                if not row or all(not cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise LabelError(
                        f"expected {len(header)} fields as in the header, got {len(row)}", path, line
                    )
                values = {c: _text(row[i], path, line, c) for c, i in col.items() if c != "time"}
                t = _parse_time(row[col["time"]].strip(), path, line) if "time" in col else None
                rows.append(
                    Annotation(values["item"], values["annotator"], values["label"], t, f"{path}:{line}")
                )
        except csv.Error as e:
            raise LabelError(f"malformed CSV: {e}", path, reader.line_num) from None
        except UnicodeDecodeError:
            raise LabelError("not UTF-8 text", path) from None
    return rows


def read_jsonl(path: Path) -> list[Annotation]:
    """Objects of a JSON-lines label file (keys item, annotator, label[, time]); blank lines are skipped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise LabelError(f"cannot read: {e.strerror}", path) from None
    except UnicodeDecodeError:
        raise LabelError("not UTF-8 text", path) from None
    rows: list[Annotation] = []
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            raise LabelError(f"bad JSON: {e.msg} at column {e.colno}", path, line) from None
        except RecursionError:
            raise LabelError("bad JSON: nested too deep", path, line) from None
        except ValueError as e:  # e.g. an integer of more than 4300 digits
            raise LabelError(f"bad JSON: {' '.join(str(e).split())[:100]}", path, line) from None
        if not isinstance(obj, dict):
            raise LabelError(f"expected a JSON object, got {type(obj).__name__}", path, line)
        values = {c: _text(obj.get(c), path, line, c) for c in _REQUIRED}
        t = _parse_time(obj.get("time"), path, line)
        rows.append(Annotation(values["item"], values["annotator"], values["label"], t, f"{path}:{line}"))
    return rows
