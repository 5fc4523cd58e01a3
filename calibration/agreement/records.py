"""Label records shared by the readers and the statistics: :class:`Annotation`, :class:`Box`, :class:`LabelSet`,
and :class:`LabelError`, the one error every reader raises.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np


class LabelError(ValueError):
    """A label file that cannot be used; ``str()`` reads ``path:line: field 'x': problem``."""

    def __init__(
        self, message: str, path: str | Path | None = None, line: int | None = None, field: str = ""
    ):
        self.path = None if path is None else str(path)
        self.line = line
        self.field = field
        where = "" if path is None else f"{path}:{line}: " if line is not None else f"{path}: "
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}{what}{message}")


class Annotation(NamedTuple):
    """One classification label: ``annotator`` gave ``label`` to ``item``; ``time``: POSIX seconds or None."""

    item: str
    annotator: str
    label: str
    time: float | None
    source: str  # "path:line", for error messages that point at the row


class Box(NamedTuple):
    """One detection: a ``label`` box at ``x, y`` (top-left) of size ``w, h`` pixels on image ``item``."""

    item: str
    annotator: str
    label: str
    x: float
    y: float
    w: float
    h: float
    source: str


@dataclass(frozen=True)
class LabelSet:
    """All labels of one agreement study.

    annotators, items, categories: in order of first appearance.
    annotations: classification labels (empty for detection); at most one per (item, annotator).
    boxes: detections (empty for classification).
    labelled: the (item, annotator) pairs that were labelled; for detection, including images without boxes.
    """

    kind: Literal["classification", "detection"]
    annotators: tuple[str, ...]
    items: tuple[str, ...]
    categories: tuple[str, ...]
    annotations: tuple[Annotation, ...] = ()
    boxes: tuple[Box, ...] = ()
    labelled: frozenset[tuple[str, str]] = field(default_factory=frozenset)

    def codes(self) -> np.ndarray:
        """(n_items, n_annotators) int64 category index per label, -1 where the annotator gave no label."""
        out = np.full((len(self.items), len(self.annotators)), -1, dtype=np.int64)
        item_ix = {v: i for i, v in enumerate(self.items)}
        ann_ix = {v: i for i, v in enumerate(self.annotators)}
        cat_ix = {v: i for i, v in enumerate(self.categories)}
        for a in self.annotations:
            out[item_ix[a.item], ann_ix[a.annotator]] = cat_ix[a.label]
        return out

    def times(self) -> np.ndarray:
        """(n_items, n_annotators) float64 label time in POSIX seconds, NaN where missing or untimed."""
        out = np.full((len(self.items), len(self.annotators)), np.nan)
        item_ix = {v: i for i, v in enumerate(self.items)}
        ann_ix = {v: i for i, v in enumerate(self.annotators)}
        for a in self.annotations:
            if a.time is not None:
                out[item_ix[a.item], ann_ix[a.annotator]] = a.time
        return out


def read_json(path: Path) -> Any:
    """The JSON document of a label file; :class:`LabelError` naming the file and what is wrong with it."""
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except RecursionError:
        raise LabelError("bad JSON: nested too deep", path) from None
    except OSError as e:
        raise LabelError(f"cannot read: {e.strerror}", path) from None
    except UnicodeDecodeError:
        raise LabelError("not UTF-8 text", path) from None
    except json.JSONDecodeError as e:
        raise LabelError(f"bad JSON: {e.msg} at line {e.lineno} column {e.colno}", path) from None
    except ValueError as e:  # e.g. an integer of more than 4300 digits
        raise LabelError(f"bad JSON: {' '.join(str(e).split())[:100]}", path) from None
