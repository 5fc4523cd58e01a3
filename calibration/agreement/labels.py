"""Read label files of any supported format into one validated :class:`LabelSet`.

Formats: CSV and JSON lines of ``item, annotator, label[, time]`` rows (see flat.py) and one COCO file per
annotator (see coco.py). Checks across files live here: one format at a time, a known annotator, at most one
label per (item, annotator), two or more annotators.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from camdrift.calibration.agreement.coco import read_coco
from camdrift.calibration.agreement.flat import read_csv, read_jsonl
from camdrift.calibration.agreement.records import Annotation, Box, LabelError, LabelSet

__all__ = ["FORMATS", "Annotation", "Box", "LabelError", "LabelSet", "load_labels"]

FORMATS = ("csv", "jsonl", "coco")
MAX_CATEGORIES = 1000  # distinct labels: the confusion tables grow with the square (10,000 took 7.3 GB)
MAX_ANNOTATORS = 100  # the pairwise statistics grow with the square
_SUFFIX_FORMAT = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "coco"}


def _expand(paths: Sequence[str | Path], fmt: str | None) -> list[tuple[Path, str]]:
    """Paths (files or directories) -> [(file, format)], directories expanded in sorted order."""
    out: list[tuple[Path, str]] = []
    for p in map(Path, paths):
        if p.is_dir():
            members = sorted(m for m in p.iterdir() if m.is_file() and m.suffix.lower() in _SUFFIX_FORMAT)
            if fmt is not None:
                members = [m for m in members if _SUFFIX_FORMAT[m.suffix.lower()] == fmt]
            if not members:
                raise LabelError("directory holds no .csv, .jsonl or .json label files", p)
            out.extend((m, fmt or _SUFFIX_FORMAT[m.suffix.lower()]) for m in members)
        elif p.is_file():
            f = fmt or _SUFFIX_FORMAT.get(p.suffix.lower())
            if f is None:
                raise LabelError("cannot tell the format from the extension; pass --format csv|jsonl|coco", p)
            out.append((p, f))
        elif p.exists():
            raise LabelError("not a regular file or a directory (a FIFO or a device?)", p)
        else:
            raise LabelError("no such file or directory", p)
    kinds = {f for _, f in out}
    if len(kinds) > 1:
        raise LabelError(f"inputs mix formats ({', '.join(sorted(kinds))}); give one format at a time")
    return out


class _Read(NamedTuple):
    """What the files hold before the cross-file checks: labels, boxes, the (item, annotator) pairs COCO files
    list, the COCO annotator names in file order (empty for flat files) and the kind of labels."""

    rows: list[Annotation]
    boxes: list[Box]
    labelled: list[tuple[str, str]]
    names: list[str]
    kind: str


def _read_coco_files(files: list[tuple[Path, str]], annotator_names: Sequence[str] | None) -> _Read:
    """One COCO file per annotator, named by ``annotator_names`` (default: each file's stem)."""
    names = [p.stem for p, _ in files] if annotator_names is None else list(annotator_names)
    if len(names) != len(files):
        raise LabelError(f"{len(names)} annotator names for {len(files)} COCO files")
    if len(set(names)) != len(names):
        raise LabelError(f"annotator names repeat: {names} (rename the files or pass --annotator-names)")
    rows: list[Annotation] = []
    boxes: list[Box] = []
    labelled: list[tuple[str, str]] = []
    kind_source: dict[str, Path] = {}  # kind -> first file holding it, to name both files in a clash
    for (p, _), name in zip(files, names, strict=True):
        kind, items, labels, bxs = read_coco(p, name)
        if labels or bxs:  # a file without annotations fits either kind
            kind_source.setdefault(kind, p)
        rows += labels
        boxes += bxs
        labelled += [(item, name) for item in items]
    if len(kind_source) > 1:
        raise LabelError(
            f"{kind_source['classification']} holds classification labels "
            f"but {kind_source['detection']} holds detections"
        )
    kind = "detection" if "detection" in kind_source else "classification"
    return _Read(rows, boxes, labelled, names, kind)


def _read_flat_files(files: list[tuple[Path, str]], fmt: str) -> _Read:
    reader = read_csv if fmt == "csv" else read_jsonl
    rows: list[Annotation] = []
    for p, _ in files:
        rows += reader(p)
    return _Read(rows, [], [], [], "classification")


def _check_annotators(read: _Read, files: list[tuple[Path, str]], annotators: Iterable[str]) -> None:
    """Every COCO file's annotator and every label's annotator is one of ``annotators``."""
    allowed = set(annotators)
    for name, (p, _) in zip(read.names, files, strict=False):  # names is empty for flat files
        if name not in allowed:
            raise LabelError(f"unknown annotator {name!r} (expected one of {sorted(allowed)})", p)
    for r in (*read.rows, *read.boxes):
        if r.annotator not in allowed:
            raise LabelError(
                f"unknown annotator {r.annotator!r} (expected one of {sorted(allowed)})", r.source
            )


def _labelled_once(rows: list[Annotation]) -> list[tuple[str, str]]:
    """The (item, annotator) pairs of ``rows`` in order; a pair labelled twice is an error naming both rows."""
    seen: dict[tuple[str, str], str] = {}
    for r in rows:
        key = (r.item, r.annotator)
        if key in seen:
            raise LabelError(
                f"annotator {r.annotator!r} labelled item {r.item!r} twice (first at {seen[key]})", r.source
            )
        seen[key] = r.source
    return list(seen)


def load_labels(
    paths: Sequence[str | Path],
    fmt: str | None = None,
    annotator_names: Sequence[str] | None = None,
    annotators: Iterable[str] | None = None,
) -> LabelSet:
    """Read and validate label files into one :class:`LabelSet`.

    paths: files or directories; several flat files are concatenated, COCO files are one per annotator.
    fmt: "csv", "jsonl" or "coco"; None infers it from the extensions (.csv, .jsonl/.ndjson, .json).
    annotator_names: COCO only, one name per file in order (default: each file's stem).
    annotators: the expected annotators; a label by anyone else is an error (catches typos in names).
    Raises :class:`LabelError` for unreadable or malformed input, a duplicate label, an unknown annotator,
    no labels at all, fewer than two annotators, more than :data:`MAX_ANNOTATORS` annotators or more than
    :data:`MAX_CATEGORIES` distinct labels (bounded before the statistics allocate their tables).
    """
    if fmt is not None and fmt not in FORMATS:
        raise LabelError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    files = _expand(paths, fmt)
    fmt = files[0][1]
    if annotator_names is not None and fmt != "coco":
        raise LabelError("annotator names are only for COCO input (flat files carry an annotator column)")
    read = _read_coco_files(files, annotator_names) if fmt == "coco" else _read_flat_files(files, fmt)
    rows, boxes, kind = read.rows, read.boxes, read.kind
    if not rows and not boxes:
        raise LabelError("no labels found", ", ".join(str(p) for p, _ in files))
    if annotators is not None:
        _check_annotators(read, files, annotators)
    once = _labelled_once(rows)
    labelled = once if kind == "classification" else read.labelled
    # COCO keeps the files' order (an annotator with an empty detection file still labelled "no boxes").
    ann_order = (
        dict.fromkeys([*read.names, *(a for _, a in labelled)])
        if kind == "detection"
        else dict.fromkeys(a for _, a in labelled)
    )
    if len(ann_order) < 2:
        raise LabelError(f"agreement needs two or more annotators; found {list(ann_order) or 'none'}")
    if len(ann_order) > MAX_ANNOTATORS:
        raise LabelError(
            f"{len(ann_order)} annotators, more than {MAX_ANNOTATORS}: is the annotator column right?"
        )
    items = dict.fromkeys([*(i for i, _ in labelled), *(r.item for r in rows)])
    cats = dict.fromkeys(r.label for r in (*rows, *boxes))
    if len(cats) > MAX_CATEGORIES:
        raise LabelError(
            f"{len(cats)} distinct labels, more than {MAX_CATEGORIES}: is the label column right?",
            ", ".join(str(p) for p, _ in files)[:200],
        )
    return LabelSet(
        kind=kind,
        annotators=tuple(ann_order),
        items=tuple(items),
        categories=tuple(cats),
        annotations=tuple(rows),
        boxes=tuple(boxes),
        labelled=frozenset(labelled),
    )
