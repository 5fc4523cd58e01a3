"""``camdrift report``: a PNG or HTML picture of a baseline, and of a current capture against it."""

from __future__ import annotations

import argparse
from pathlib import Path

from camdrift.agent.files import atomic_write_bytes
from camdrift.calibration.capture import CaptureError
from camdrift.calibration.options import EXIT_OK, UsageError, check_output, fail, positive_int, read_baseline
from camdrift.calibration.verify.recapture import capture_for, verify_capture

NAME = "report"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        NAME,
        help="draw a baseline (and a current capture against it) as PNG or HTML",
        description="Histograms per channel (reference vs current), thumbnails and their difference, the grid "
        "of local sharpness and every statistic against its threshold.",
    )
    p.add_argument("--baseline", required=True, metavar="BASELINE", help="baseline file")
    p.add_argument("--source", metavar="SRC", help="capture this source and compare (optional)")
    p.add_argument("--config", metavar="CFG", help="agent TOML configuration (for the source)")
    p.add_argument("--frames", type=positive_int, metavar="N", help="frames to capture (default 2 windows)")
    p.add_argument("--out", required=True, metavar="report.png|report.html", help="file to write")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        suffix = Path(args.out).suffix.lower()
        if suffix not in (".png", ".html", ".htm"):
            raise UsageError(f"--out {args.out}: want a .png or .html file name")
        try:
            from camdrift.calibration.report.render import html_page, render_png, summarise
        except ImportError as exc:  # matplotlib is the report extra, not a dependency of the edge box
            raise UsageError(f"the report needs matplotlib ({exc}): pip install 'camdrift[report]'") from None
        out = check_output(args.out, "--out")
        baseline = read_baseline(args.baseline)
        current = result = None
        if args.source or args.config:
            frames = args.frames or 2 * baseline.thresholds.window
            cap = capture_for(baseline, args, frames, args.quiet)
            result = verify_capture(baseline, cap)
            current = summarise(baseline, cap.stats)
        png = render_png(baseline, current, result)
        payload = png if suffix == ".png" else html_page(baseline, png, result).encode()
        atomic_write_bytes(Path(out), payload)
    except (UsageError, CaptureError) as exc:
        return fail(NAME, exc)
    except OSError as exc:
        return fail(NAME, f"cannot write {args.out}: {exc.strerror or exc}")
    verdict = f", verdict {result.verdict}" if result is not None else ""
    print(f"report written: {out}{verdict}")
    return EXIT_OK
