"""``camdrift evidence list|export|curate``: the evidence spool for the people who label and retrain.

    camdrift evidence list   --spool DIR
    camdrift evidence export --spool DIR --format coco|label-studio|cvat|tar --out OUTDIR
                             [--since 7d|ISO] [--episode ID] [--reason KIND] [--image-url PREFIX]
    camdrift evidence curate --spool DIR --out MANIFEST.json [--agreement REPORT.json] [--max N]
                             [--per-group K] [--since ..] [--episode ..] [--reason ..]

Exit codes: 0 written (or listed); 1 nothing matched the filters (said on stderr, nothing written); 2 bad input
(a missing spool, an unknown format or episode, an unreadable file: one line on stderr naming it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from camdrift.agent.output.evidence import EvidenceError, EvidenceRecord
from camdrift.calibration.evidence.bundle import write_bundle
from camdrift.calibration.evidence.coco import write_coco
from camdrift.calibration.evidence.curate import curate, read_disagreements, write_manifest
from camdrift.calibration.evidence.cvat import write_cvat
from camdrift.calibration.evidence.items import (
    IMAGES,
    ExportError,
    copies_undone,
    copy_images,
    read_items,
    write_context,
)
from camdrift.calibration.evidence.label_studio import IMAGE_URL, write_label_studio
from camdrift.calibration.evidence.select import Selection, parse_since, select, spool_records

FORMATS = ("coco", "label-studio", "cvat", "tar")
EXIT_OK, EXIT_EMPTY, EXIT_BAD_INPUT = 0, 1, 2
_EXIT_CODES = (
    "exit codes: 0 written; 1 no capture matches the filters (nothing written); 2 bad input (a missing spool, "
    "an unknown format or episode, an unreadable file), said in one line on stderr"
)


def _count(text: str) -> int:
    """A whole number >= 1 (argparse type; the options module is not imported: it pulls in every source)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"want a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"want a whole number >= 1, got {value}")
    return value


def _selection_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spool", required=True, type=Path, help="the evidence spool directory")
    p.add_argument("--since", help="only captures since: 7d, 12h, 30m or an ISO time (default: all)")
    p.add_argument("--episode", default="", metavar="ID", help="only the captures of this episode")
    p.add_argument(
        "--reason",
        default="",
        metavar="KIND",
        help="only flags of this reason: false_positive, false_negative, uncertain, operator_corrected, "
        "other, or a flag's reason text",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evidence`` subcommand (entry point ``camdrift.commands``)."""
    p = subparsers.add_parser("evidence", help="list, export or curate the evidence the agent captured")
    sub = p.add_subparsers(dest="evidence_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="list the captures in a spool")
    ls.add_argument("--spool", required=True, type=Path, help="the evidence spool directory")
    ls.set_defaults(func=_run_list)
    ex = sub.add_parser(
        "export",
        help="export captures for a labelling tool (COCO, Label Studio, CVAT) or as a .tar.gz",
        description="Copies each exported image to OUTDIR/images/<evidence_id>__<frame>.jpg and writes "
        "OUTDIR/annotations.json (coco), tasks.json + label_config.xml (label-studio) or annotations.xml "
        "(cvat), each with the model's predictions as pre-annotations, and OUTDIR/items.jsonl (each image's "
        "context); tar packs the captures as they are into OUTDIR/evidence.tar.gz.",
        epilog=_EXIT_CODES,
    )
    _selection_options(ex)
    ex.add_argument("--format", required=True, choices=FORMATS, help="what to write")
    ex.add_argument("--out", required=True, type=Path, metavar="OUTDIR", help="folder to write into")
    ex.add_argument(
        "--image-url",
        default=IMAGE_URL,
        metavar="PREFIX",
        help=f"label-studio: data.image is PREFIX + image name (default {IMAGE_URL}: local-files storage "
        "with its document root at OUTDIR)",
    )
    ex.set_defaults(func=_run_export)
    cu = sub.add_parser(
        "curate",
        help="propose the next training additions: flagged failures and drift frames, balanced",
        description="Writes a versioned JSON manifest of images to label and train on: round-robin over "
        "(source, reason or cause, class) strata, flags first, at most --per-group images per episode; "
        "images annotators disagree on (--agreement) are held back in 'adjudicate'. The images are copied to "
        "<manifest stem>_images/ beside the manifest.",
        epilog=_EXIT_CODES,
    )
    _selection_options(cu)
    cu.add_argument("--out", required=True, type=Path, metavar="MANIFEST.json", help="manifest to write")
    cu.add_argument(
        "--agreement", type=Path, metavar="REPORT.json", help="a `camdrift agreement --out` report"
    )
    cu.add_argument("--max", type=_count, help="at most N items (default: all)")
    cu.add_argument("--per-group", type=_count, default=5, help="at most K items per episode (default 5)")
    cu.set_defaults(func=_run_curate)


def _fail(message: object) -> int:
    if isinstance(message, OSError) and message.strerror:  # the file and the reason, not "[Errno 2] ..."
        where = message.filename if message.filename is not None else "a file"
        message = f"{where}: {message.strerror}"
    print(f"camdrift evidence: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _chosen(args: argparse.Namespace) -> list[EvidenceRecord]:
    """The records the options select (raises ExportError, EvidenceError or ValueError)."""
    since = parse_since(args.since, time.time()) if args.since else Selection().since
    selection = Selection(since, args.episode.strip(), args.reason.strip())
    chosen = select(spool_records(args.spool), selection)
    if not chosen:
        print(
            f"camdrift evidence: no capture in {args.spool} matches ({selection.describe()}); nothing written",
            file=sys.stderr,
        )
    return chosen


def _run_list(args: argparse.Namespace) -> int:
    try:
        records = spool_records(args.spool)
    except (ExportError, EvidenceError) as exc:
        return _fail(exc)
    for r in records:
        when = datetime.fromtimestamp(r.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        what = r.episode_id or r.reason or ""
        print(f"{when}  {r.evidence_id:<40} {r.kind:<8} frame {r.frame_index:<8} {r.bytes:>9} B  {what}")
    print(f"{len(records)} capture(s)")
    return EXIT_OK


def _export(args: argparse.Namespace, records: list[EvidenceRecord]) -> str:
    """Writes the export; returns what was written, in words."""
    if args.out.exists() and not args.out.is_dir():
        raise ExportError(f"--out {args.out} exists and is not a folder")
    if args.format == "tar":
        out = write_bundle(args.spool, records, args.out)
        return f"{len(records)} capture(s) to {out}"
    items = read_items(args.spool, records)
    now = time.time()
    images = args.out / IMAGES
    had = set(os.listdir(args.out)) if args.out.is_dir() else set()
    try:  # disk full, say: no half export; the images it copied go, the files it replaces stay
        with copies_undone(items, images):
            copy_images(items, images)
            if args.format == "coco":
                written = [write_coco(items, args.out, now)]
            elif args.format == "cvat":
                written = [write_cvat(items, args.out, now)]
            else:
                written = list(write_label_studio(items, args.out, args.image_url))
            write_context(items, args.out)
    except OSError:
        for name in set(os.listdir(args.out)) - had if args.out.is_dir() else ():
            if (args.out / name).is_file():  # an annotation file written before the one that failed
                (args.out / name).unlink()
        raise
    names = ", ".join(p.name for p in written)
    return f"{len(items)} image(s) of {len(records)} capture(s) to {args.out} ({names}, {IMAGES}/)"


def _run_export(args: argparse.Namespace) -> int:
    try:
        records = _chosen(args)
        if not records:
            return EXIT_EMPTY
        print(f"wrote {_export(args, records)}")
    except (ExportError, EvidenceError, ValueError, OSError) as exc:
        return _fail(exc)
    return EXIT_OK


def _run_curate(args: argparse.Namespace) -> int:
    try:
        disputed = read_disagreements(args.agreement) if args.agreement else {}
        records = _chosen(args)
        if not records:
            return EXIT_EMPTY
        items = read_items(args.spool, records)
        result = curate(items, disputed, args.max, args.per_group)
        rule = {"max": args.max, "per_group": args.per_group}
        write_manifest(result, args.spool, args.out, time.time(), rule)
    except (ExportError, EvidenceError, ValueError, OSError) as exc:
        return _fail(exc)
    print(
        f"wrote {args.out}: {len(result.selected)} item(s) to add, {len(result.held)} held for adjudication, "
        f"{len(result.balance)} strata"
    )
    return EXIT_OK
