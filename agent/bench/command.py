"""The ``camdrift bench`` subcommand."""

from __future__ import annotations

import argparse
import json
import sys

from camdrift.agent.bench import frame_kernels


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1280x720, got {text!r}") from None
    if w < 16 or h < 16:
        raise argparse.ArgumentTypeError(f"size {text!r} is too small to benchmark")
    return w, h


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench",
        help="measure kernel speed side by side with OpenCV and a memory read",
        description="Speed figures measured side by side in one run (single-threaded). Quote the ratios.",
    )
    p.add_argument(
        "--size",
        dest="sizes",
        type=_size,
        action="append",
        help="frame size WxH (repeatable; default 1280x720 and 1920x1080)",
    )
    p.add_argument("--frames", type=int, default=100, help="timed calls per contender and size (default 100)")
    p.add_argument(
        "--no-startup", action="store_true", help="skip the JIT / start-up measurement (subprocesses)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import cv2
    import numba

    if args.frames < 5:
        print("camdrift bench: --frames must be at least 5", file=sys.stderr)
        return 2
    cv2.setNumThreads(1)
    numba.set_num_threads(1)
    sizes = args.sizes or [(1280, 720), (1920, 1080)]
    rows = [frame_kernels.bench_size(w, h, args.frames) for w, h in sizes]
    startup = None if args.no_startup else frame_kernels.bench_startup()
    if args.json:
        doc = {
            "frame_kernels": [
                {
                    "width": r.width,
                    "height": r.height,
                    **{
                        name: getattr(r, name)._asdict()
                        for name in ("memory_read", "fused_stride1", "fused_stride2", "opencv_chain")
                    },
                    "speedup_stride1": r.speedup_stride1,
                    "speedup_stride2": r.speedup_stride2,
                }
                for r in rows
            ],
            "startup": startup._asdict() if startup else None,
        }
        print(json.dumps(doc, indent=2))
        return 0
    print(frame_kernels.format_rows(rows))
    if startup:
        print()
        print(frame_kernels.format_startup(startup))
    return 0
