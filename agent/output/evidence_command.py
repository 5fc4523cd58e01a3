"""``camdrift evidence list|export``: the evidence spool for people preparing labels and retraining data."""

from __future__ import annotations

import argparse
import io
import re
import sys
import tarfile
import time
from datetime import UTC, datetime
from pathlib import Path

from camdrift.agent.output.evidence import EvidenceError, EvidenceRecord, EvidenceSpool, manifest_line

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


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


def export(spool: EvidenceSpool, since: float, out: Path) -> list[EvidenceRecord]:
    """Packs the captures created at or after ``since`` (Unix s) with their manifest into a .tar.gz."""
    chosen = [r for r in spool.records() if r.created_at >= since]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        manifest = "".join(manifest_line(r) for r in chosen).encode()
        info = tarfile.TarInfo("evidence/manifest.jsonl")
        info.size = len(manifest)
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(manifest))
        for r in chosen:
            for name in r.files:
                tar.add(spool.root / r.evidence_id / name, arcname=f"evidence/{r.evidence_id}/{name}")
    tmp.replace(out)
    return chosen


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("evidence", help="list or export the evidence the agent captured")
    sub = p.add_subparsers(dest="evidence_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="list the captures in a spool")
    ls.add_argument("--spool", required=True, type=Path, help="the evidence spool directory")
    ls.set_defaults(func=_run_list)
    ex = sub.add_parser("export", help="pack captures into a .tar.gz for labelling")
    ex.add_argument("--spool", required=True, type=Path, help="the evidence spool directory")
    ex.add_argument("--since", default="36500d", help="7d, 12h, 30m or an ISO time (default: everything)")
    ex.add_argument("--out", required=True, type=Path, help="bundle to write, e.g. bundle.tar.gz")
    ex.set_defaults(func=_run_export)


def _open(path: Path) -> EvidenceSpool:
    if not path.is_dir():
        raise FileNotFoundError(f"evidence spool {path} does not exist")
    return EvidenceSpool(path)


def _run_list(args: argparse.Namespace) -> int:
    try:
        records = _open(args.spool).records()
    except (FileNotFoundError, EvidenceError) as exc:
        print(f"camdrift evidence: {exc}", file=sys.stderr)
        return 2
    for r in records:
        when = datetime.fromtimestamp(r.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        what = r.episode_id or r.reason or ""
        print(f"{when}  {r.evidence_id:<40} {r.kind:<8} frame {r.frame_index:<8} {r.bytes:>9} B  {what}")
    print(f"{len(records)} capture(s)")
    return 0


def _run_export(args: argparse.Namespace) -> int:
    try:
        since = parse_since(args.since, time.time())
        chosen = export(_open(args.spool), since, args.out)
    except (ValueError, FileNotFoundError, OSError) as exc:
        print(f"camdrift evidence: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(chosen)} capture(s) to {args.out}")
    return 0
