"""Which captures of a spool to export or curate: :class:`Selection` and :func:`select`.

The spool is read without opening it as the agent does (no crash sweep, nothing deleted), so exporting from a
spool the agent is writing into is safe: a capture appears in the manifest only once it is whole.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from camdrift.agent.output.evidence import MANIFEST, EvidenceRecord, read_manifest
from camdrift.agent.predictions.flags import FlagNote
from camdrift.calibration.evidence.items import ExportError

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Selection(NamedTuple):
    """since: captures created at or after this Unix time (seconds; -inf: all); episode: only captures of
    this episode id ("" : any); reason: only flags whose reason kind or reason text is this ("" : any)."""

    since: float = -math.inf
    episode: str = ""
    reason: str = ""

    def describe(self) -> str:
        """The filters in words, for the message about an empty selection."""
        parts = []
        if math.isfinite(self.since):
            parts.append(f"created since {datetime.fromtimestamp(self.since, UTC).isoformat()}")
        if self.episode:
            parts.append(f"of episode {self.episode!r}")
        if self.reason:
            parts.append(f"flagged {self.reason!r}")
        return ", ".join(parts) or "at all"


def parse_since(text: str, now: float) -> float:
    """``7d``, ``12h``, ``30m``, ``45s`` before ``now``, or an ISO-8601 time (UTC if no zone) -> Unix seconds."""
    m = _DURATION.match(text.strip())
    if m:
        return now - float(m.group(1)) * _UNIT_S[m.group(2)]
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"--since must be a duration like 7d / 12h / 30m or an ISO time, got {text!r}"
        ) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.timestamp()


def spool_records(root: Path) -> list[EvidenceRecord]:
    """The captures of the spool at ``root`` whose folder exists, oldest first (an empty spool: [])."""
    if not root.is_dir():
        what = "is a file, not a spool folder" if root.exists() else "does not exist"
        raise ExportError(f"evidence spool {root} {what}")
    path = root / MANIFEST
    if not path.is_file():
        return []
    damaged: list[int] = []
    records = [r for r in read_manifest(path, damaged) if (root / r.evidence_id).is_dir()]
    for number in damaged:  # never a silent loss: the capture that line named is not in this export
        print(f"camdrift evidence: warning: {path}:{number}: line does not read, skipped", file=sys.stderr)
    return records


def _reason_matches(record: EvidenceRecord, reason: str) -> bool:
    text = record.reason or ""
    return record.kind == "flag" and bool(text) and reason in (text, FlagNote(text).reason_kind)


def select(records: Sequence[EvidenceRecord], selection: Selection) -> list[EvidenceRecord]:
    """The records ``selection`` keeps, in order. An episode no record has is an :class:`ExportError` naming
    it and the spool's episodes; filters that keep nothing give []."""
    if selection.episode and not any(r.episode_id == selection.episode for r in records):
        known = sorted({r.episode_id for r in records if r.episode_id})
        listed = ", ".join(known[:10]) + (" ..." if len(known) > 10 else "") if known else "none"
        raise ExportError(f"unknown episode {selection.episode!r} (the spool's episodes: {listed})")
    return [
        r
        for r in records
        if r.created_at >= selection.since
        and (not selection.episode or r.episode_id == selection.episode)
        and (not selection.reason or _reason_matches(r, selection.reason))
    ]
