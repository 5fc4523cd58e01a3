"""Read label files of any supported format into one validated :class:`LabelSet`.

Formats: CSV and JSON lines of ``item, annotator, label[, time]`` rows (see flat.py), one COCO file per
annotator (see coco.py) and Label Studio JSON exports holding every annotator (see label_studio.py; a .json
file is read as Label Studio when it holds a list, as COCO when it holds an object). Checks across files live here: one format at a time, a known annotator, at most one
label per (item, annotator), two or more annotators.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from camdrift.calibration.agreement.coco import read_coco
from camdrift.calibration.agreement.flat import read_csv, read_jsonl
from camdrift.calibration.agreement.label_studio import looks_like_label_studio, read_label_studio
from camdrift.calibration.agreement.records import Annotation, Box, LabelError, LabelSet

__all__ = ["FORMATS", "Annotation", "Box", "LabelError", "LabelSet", "load_labels"]

FORMATS = ("csv", "jsonl", "coco", "label-studio")
MAX_CATEGORIES = 1000  # distinct labels: the confusion tables grow with the square (10,000 took 7.3 GB)
MAX_ANNOTATORS = 100  # the pairwise statistics grow with the square
_SUFFIX_FORMAT = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "coco"}


def _format_of(path: Path) -> str | None:
    """The format a file's extension (and, for .json, its first byte) says; None if unknown."""
    fmt = _SUFFIX_FORMAT.get(path.suffix.lower())
    return "label-studio" if fmt == "coco" and looks_like_label_studio(path) else fmt


def _expand(paths: Sequence[str | Path], fmt: str | None) -> list[tuple[Path, str]]:
    """Paths (files or directories) -> [(file, format)], directories expanded in sorted order."""
    out: list[tuple[Path, str]] = []
    for p in map(Path, paths):
        if p.is_dir():
            members = sorted(m for m in p.iterdir() if m.is_file() and m.suffix.lower() in _SUFFIX_FORMAT)
            if fmt is not None:
                wanted = "coco" if fmt == "label-studio" else fmt  # both are .json
                members = [m for m in members if _SUFFIX_FORMAT[m.suffix.lower()] == wanted]
            if not members:
                raise LabelError("directory holds no .csv, .jsonl or .json label files", p)
            out.extend((m, fmt or _format_of(m) or "") for m in members)
        elif p.is_file():
            f = fmt or _format_of(p)
            if f is None:
                raise LabelError(
                    f"cannot tell the format from the extension; pass --format {'|'.join(FORMATS)}", p
                )
            out.append((p, f))
        elif p.exists():
            raise LabelError("not a regular file or a directory (a FIFO or a device?)", p)
        else:
            raise LabelError("no such file or directory", p)
    kinds = {f for _, f in out}
    if len(kinds) > 1:
        hint = (
            ": a .json holding a list is read as Label Studio, an object as COCO"
            if "label-studio" in kinds
            else ""
        )
        raise LabelError(f"inputs mix formats ({', '.join(sorted(kinds))}){hint}; give one format at a time")
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


def _name_map(pairs: Sequence[str] | None) -> dict[str, str]:
    """Label Studio ``--annotator-names``: ``ID=NAME`` pairs (user id or email) -> {id: name}."""
    out: dict[str, str] = {}
    for pair in pairs or ():
        key, eq, name = pair.partition("=")
        if not eq or not key.strip() or not name.strip():
            raise LabelError(
                f"Label Studio annotator names are ID=NAME pairs (user id or email), got {pair!r}"
            )
        out[key.strip()] = name.strip()
    if len(set(out.values())) != len(out):
        raise LabelError(f"annotator names repeat: {sorted(out.values())}")
    return out


def _read_studio_files(
    files: list[tuple[Path, str]], annotator_names: Sequence[str] | None, include_predictions: bool
) -> _Read:
    """Label Studio exports, each holding every annotator; several files are concatenated."""
    names = _name_map(annotator_names)
    rows: list[Annotation] = []
    boxes: list[Box] = []
    seen: dict[tuple[str, str], str] = {}
    kind_source: dict[str, Path] = {}
    for p, _ in files:
        read = read_label_studio(p, names, include_predictions)
        if read.kind:
            kind_source.setdefault(read.kind, p)
        for item, who, where in read.labelled:
            if (item, who) in seen:
                raise LabelError(
                    f"annotator {who!r} labelled item {item!r} twice (first at {seen[item, who]})", where
                )
            seen[item, who] = where
        rows += read.labels
        boxes += read.boxes
    if len(kind_source) > 1:
        raise LabelError(
            f"{kind_source['classification']} holds classification labels "
            f"but {kind_source['detection']} holds detections"
        )
    kind = "detection" if "detection" in kind_source else "classification"
    return _Read(rows, boxes, list(seen), [], kind)


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
    include_predictions: bool = False,
) -> LabelSet:
    """Read and validate label files into one :class:`LabelSet`.

    paths: files or directories; several flat or Label Studio files are concatenated, COCO files are one per
    annotator.
    fmt: one of :data:`FORMATS`; None infers it from the extensions (.csv, .jsonl/.ndjson, .json: Label Studio
    when the file holds a list, COCO when it holds an object).
    annotator_names: COCO: one name per file in order (default: each file's stem); Label Studio: ``ID=NAME``
    pairs renaming users (by id or email; default ``user<id>`` or the email).
    include_predictions: Label Studio only: the model's predictions as annotator ``model[:<version>]``.
    annotators: the expected annotators; a label by anyone else is an error (catches typos in names).
    Raises :class:`LabelError` for unreadable or malformed input, a duplicate label, an unknown annotator,
    no labels at all, fewer than two annotators, more than :data:`MAX_ANNOTATORS` annotators or more than
    :data:`MAX_CATEGORIES` distinct labels (bounded before the statistics allocate their tables).
    """
    if fmt is not None and fmt not in FORMATS:
        raise LabelError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    files = _expand(paths, fmt)
    fmt = files[0][1]
    if annotator_names is not None and fmt not in ("coco", "label-studio"):
        raise LabelError(
            "annotator names are only for COCO or Label Studio input (flat files carry an annotator)"
        )
    if include_predictions and fmt != "label-studio":
        raise LabelError(
            f"--include-predictions is only for Label Studio exports, and this is {fmt} input",
            ", ".join(str(p) for p, _ in files)[:200],
        )
    if fmt == "coco":
        read = _read_coco_files(files, annotator_names)
    elif fmt == "label-studio":
        read = _read_studio_files(files, annotator_names, include_predictions)
    else:
        read = _read_flat_files(files, fmt)
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
