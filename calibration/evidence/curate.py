"""``camdrift evidence curate``: the next training additions, balanced, with disputed items held back.

Candidates are every exported image of the chosen captures: flagged frames (production failures) and the frames
of drift-episode captures. The rule, exactly:

1. Held back: an item that ``camdrift agreement`` lists among its ``disputed_items`` (annotators disagree;
   matched on the export name ``<evidence_id>__<frame stem>.jpg``, or its base name) goes to ``adjudicate``,
   never to ``items``, and counts towards no cap.
2. Strata: each other item falls in the stratum (source, group, class): source ``flag`` or ``episode``; group
   the flag's reason kind, or the episode's top cause code (``lighting``, ``defocus``, ...; its text for captures
   from before codes were recorded); class the operator's corrected label, else the model's
   predicted class (a detector's most confident box), else the app's prediction text; ``(none)`` for a missing
   group or class.
3. Order within a stratum: round-robin over episodes (a flag outside an episode is a group of its own),
   episodes ordered by their newest capture, each episode's items newest first.
4. Selection: rounds over the strata, flag strata first, then episode strata, each in name order; a round takes
   the next item of every stratum that has one. An item whose episode already gave ``per_group`` items of its
   source is skipped (flags raised during an episode and the episode's own frames have a cap each, so the
   flags cannot crowd out the drift frames). Selection stops after ``max_items`` items (None: when every stratum is exhausted).

The manifest (version 1) lists each item with an absolute ``image`` path: the images are copied next to the
manifest (``<manifest stem>_images/``), since the spool drops its oldest captures when it is full.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from camdrift.calibration.evidence.items import (
    ExportError,
    ExportItem,
    copies_undone,
    copy_images,
    iso_time,
    write_json,
)

MANIFEST_VERSION = 1
NONE = "(none)"
RULE = (
    "round-robin over (source, group, class) strata, flag strata first then episode strata in name order; "
    "within a stratum round-robin over episodes, newest first; at most per_group items per episode and source; "
    "at most max items; items annotators disagree on are held back in adjudicate"
)


class Disagreement(NamedTuple):
    """An item ``camdrift agreement`` found disputed: disagreement in (0, 1], each annotator's label."""

    item: str
    disagreement: float
    labels: Mapping[str, str]


def stratum(item: ExportItem) -> tuple[str, str, str]:
    """(source, group, class) of ``item``, as in rule 2 of the module docstring."""
    if item.kind == "flag":
        return "flag", item.reason_kind or NONE, item.label_class or NONE
    return "episode", item.cause_code or item.cause or NONE, item.label_class or NONE


def _episode(item: ExportItem) -> str:
    return item.episode_id or item.evidence_id


def read_disagreements(path: Path) -> dict[str, Disagreement]:
    """Every disputed item of an agreement report (``camdrift agreement --out``), by item base name.

    Read from ``disputed_items``, never from ``boundary_cases``: those are cut at ``--top``, and a disputed
    item left out of them would go to training. A report without ``disputed_items`` is refused."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(f"agreement report {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportError(f"agreement report {path}: cannot read: {exc}") from None
    if not isinstance(doc, dict) or not str(doc.get("schema", "")).startswith("camdrift.agreement/"):
        raise ExportError(f"agreement report {path}: not a camdrift agreement report (no 'schema')")
    if "disputed_items" not in doc:
        raise ExportError(
            f"agreement report {path} lists no 'disputed_items' (an older camdrift wrote it; its boundary_cases "
            "stop at --top): run camdrift agreement --out again"
        )
    cases = doc["disputed_items"]
    if not isinstance(cases, list):
        raise ExportError(f"agreement report {path}: 'disputed_items' must be a list")
    out = {}
    for i, case in enumerate(cases):
        if not isinstance(case, dict) or not isinstance(case.get("item"), str):
            raise ExportError(f"agreement report {path}: disputed_items[{i}] has no 'item'")
        score = case.get("disagreement")
        score = float(score) if isinstance(score, int | float) else 1.0
        labels = case.get("labels") if isinstance(case.get("labels"), dict) else {}
        if score > 0:
            key = Path(case["item"]).name
            out[key] = Disagreement(case["item"], score, {str(k): str(v) for k, v in labels.items()})
    return out


def _interleave(items: Sequence[ExportItem]) -> list[ExportItem]:
    """Rule 3: round-robin over the items' episodes, newest episode first, newest items first."""
    by_episode: dict[str, list[ExportItem]] = defaultdict(list)
    for it in sorted(items, key=lambda i: (-i.created_at, i.item)):
        by_episode[_episode(it)].append(it)
    queues = list(by_episode.values())
    out = []
    for depth in range(max((len(q) for q in queues), default=0)):
        out += [q[depth] for q in queues if depth < len(q)]
    return out


@dataclass(frozen=True)
class Curation:
    """selected: the items proposed, in selection order; held: (item, disagreement) kept for adjudication;
    balance: per stratum (source, group, class) -> (available, selected) item counts."""

    selected: tuple[ExportItem, ...]
    held: tuple[tuple[ExportItem, Disagreement], ...]
    balance: Mapping[tuple[str, str, str], tuple[int, int]]


def curate(
    items: Sequence[ExportItem],
    disagreements: Mapping[str, Disagreement],
    max_items: int | None = None,
    per_group: int = 5,
) -> Curation:
    """Applies the module docstring's rule to ``items``."""
    held = tuple((it, disagreements[it.item]) for it in items if it.item in disagreements)
    strata: dict[tuple[str, str, str], list[ExportItem]] = defaultdict(list)
    for it in items:
        if it.item not in disagreements:
            strata[stratum(it)].append(it)
    order = sorted(strata, key=lambda k: (k[0] != "flag", k))
    queues = {k: _interleave(strata[k]) for k in order}
    taken: dict[tuple[str, str], int] = defaultdict(int)
    chosen: list[ExportItem] = []
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    limit = len(items) if max_items is None else max_items
    while len(chosen) < limit and any(queues.values()):
        for key in order:
            queue = queues[key]
            while queue and taken[(key[0], _episode(queue[0]))] >= per_group:
                queue.pop(0)
            if not queue or len(chosen) >= limit:
                continue
            it = queue.pop(0)
            taken[(key[0], _episode(it))] += 1
            counts[key] += 1
            chosen.append(it)
    balance = {k: (len(strata[k]), counts[k]) for k in order}
    return Curation(tuple(chosen), held, balance)


def _entry(item: ExportItem, images: Path) -> dict[str, Any]:
    source, group, cls = stratum(item)
    return {
        "item": item.item,
        "image": str((images / item.item).resolve()),
        "evidence_id": item.evidence_id,
        "source": source,
        "reason": item.reason or None,
        "reason_kind": item.reason_kind or None,
        "episode_id": item.episode_id or None,
        "cause": item.cause or None,
        "class": None if cls == NONE else cls,
        "group": group,
        "created_at": iso_time(item.created_at),
    }


def manifest(
    curation: Curation, spool: Path, images: Path, created_at: float, rule: Mapping[str, Any]
) -> dict:
    """The manifest document; ``images``: the folder holding the copied images; ``rule``: the parameters."""
    adjudicate = [
        {**_entry(it, images), "disagreement": d.disagreement, "labels": dict(d.labels)}
        for it, d in curation.held
    ]
    balance = [
        {"source": k[0], "group": k[1], "class": k[2], "available": a, "selected": s}
        for k, (a, s) in curation.balance.items()
    ]
    return {
        "version": MANIFEST_VERSION,
        "created_at": iso_time(created_at),
        "spool": str(spool.resolve()),
        "rule": {"text": RULE, **rule},
        "items": [_entry(it, images) for it in curation.selected],
        "adjudicate": adjudicate,
        "balance": balance,
    }


def write_manifest(
    curation: Curation, spool: Path, out: Path, created_at: float, rule: Mapping[str, Any]
) -> Path:
    """Copies the selected and held images to ``<out stem>_images/`` and writes the manifest to ``out``."""
    if out.is_dir():  # refused before any image is copied
        raise ExportError(f"--out {out}: is a folder, want a file name")
    out.parent.mkdir(parents=True, exist_ok=True)
    images = out.parent / f"{out.stem}_images"
    chosen = [*curation.selected, *(it for it, _ in curation.held)]
    with copies_undone(chosen, images):  # disk full, say: the images it copied go, no half curation is left
        copy_images(chosen, images)
        return write_json(out, manifest(curation, spool, images, created_at, rule))
