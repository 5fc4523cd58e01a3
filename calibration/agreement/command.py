"""``camdrift agreement``: how far annotators agree, where they do not, and who drifts.

Exit codes: 0 report written, 2 bad input (a one-line message on stderr naming the file, line and field).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from camdrift.calibration.agreement.analysis import analyse
from camdrift.calibration.agreement.labels import FORMATS, LabelError, load_labels
from camdrift.calibration.agreement.report import to_json
from camdrift.calibration.agreement.rules import load_rules
from camdrift.calibration.agreement.summary import summary_text
from camdrift.calibration.options import bounded_float, bounded_int

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"empty name in {text!r}")
    return names


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``agreement`` subcommand (entry point ``camdrift.commands``)."""
    p = subparsers.add_parser(
        "agreement",
        help="inter-annotator agreement of labels (kappa, alpha, boxes) and the items to calibrate on",
        description=(
            "Measure how far annotators agree: percent agreement, Cohen's kappa per pair, Fleiss' kappa "
            "(3+ annotators), Krippendorff's alpha (nominal, missing labels allowed), per-class agreement and "
            "confusion tables; for boxes, IoU matching with presence, class and boundary agreement. Lists the "
            "items with the most disagreement and, with --by-time, annotators whose agreement drops."
        ),
    )
    p.add_argument(
        "labels",
        nargs="+",
        metavar="LABELS",
        help="label files or directories: CSV/JSON lines of item,annotator,label[,time], one COCO file "
        "per annotator, or Label Studio JSON exports (every annotator in one file)",
    )
    p.add_argument("--format", choices=FORMATS, help="input format (default: from the file extension)")
    p.add_argument(
        "--annotator-names",
        type=_names,
        metavar="A,B,...",
        help="COCO: annotator names, one per file in order (default: file names without extension); "
        "Label Studio: ID=NAME pairs renaming users by id or email (default user<id> or the email)",
    )
    p.add_argument(
        "--include-predictions",
        action="store_true",
        help="Label Studio: compare the model's predictions too, as annotator 'model' (or 'model:VERSION')",
    )
    p.add_argument(
        "--rules",
        type=Path,
        metavar="RULES.toml",
        help="boundary rules the team declared ([defect] min_size_px, margin, classes; [classification] "
        "boundary_pairs): agreement on those cases vs the rest, and rule violations per annotator",
    )
    p.add_argument(
        "--annotators",
        type=_names,
        metavar="A,B,...",
        help="the expected annotators; a label by anyone else is an error",
    )
    p.add_argument("--iou", type=float, default=0.5, help="IoU at which two boxes match (default 0.5)")
    p.add_argument(
        "--top",
        type=bounded_int(0, 100_000),
        default=20,
        help="boundary cases to list in the report (default 20)",
    )
    p.add_argument(
        "--by-time", action="store_true", help="agreement per window of items; flag drifting annotators"
    )
    p.add_argument(
        "--window", type=bounded_int(1, 1_000_000), default=50, help="items per --by-time window (default 50)"
    )
    p.add_argument(
        "--z",
        type=bounded_float(0, 1000, lo_open=True),
        default=3.0,
        help="--by-time: z below which a drop is significant (default 3.0)",
    )
    p.add_argument(
        "--min-drop",
        type=bounded_float(0, 1),
        default=0.15,
        help="--by-time: smallest agreement drop flagged (default 0.15)",
    )
    p.add_argument("--out", type=Path, metavar="REPORT.json", help="write the full report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load, analyse, print the summary, write the JSON report."""
    try:
        rules = None if args.rules is None else load_rules(args.rules)
        labels = load_labels(
            args.labels, args.format, args.annotator_names, args.annotators, args.include_predictions
        )
        report = analyse(
            labels,
            sources=[str(s) for s in args.labels],
            iou_threshold=args.iou,
            top=args.top,
            by_time=args.by_time,
            window=args.window,
            z_threshold=args.z,
            min_drop=args.min_drop,
            rules=rules,
        )
    except (LabelError, ValueError) as e:
        print(f"camdrift agreement: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as e:  # e.g. an unreadable directory while listing it
        print(f"camdrift agreement: cannot read {e.filename}: {e.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    sys.stdout.write(summary_text(report))
    if args.out is not None:
        text = json.dumps(to_json(report), indent=2, allow_nan=False)
        try:
            args.out.write_text(text + "\n", encoding="utf-8")
        except OSError as e:
            print(f"camdrift agreement: cannot write {args.out}: {e.strerror}", file=sys.stderr)
            return EXIT_BAD_INPUT
        print(f"report written to {args.out}")
    return EXIT_OK
