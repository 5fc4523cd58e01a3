"""The ``camdrift bench`` subcommand."""

from __future__ import annotations

import argparse
import json
import sys
from importlib.metadata import entry_points
from typing import Any, Protocol

from camdrift.agent.bench import frame_kernels

# Further sections (agent load, detection, ...) register under this entry-point group as a BenchSection object.
# Sections that need calibration live in calibration/, so the agent never imports it.
SECTION_GROUP = "camdrift.bench_sections"


class BenchResult(Protocol):
    """What a section measured: one JSON object (``--json``) or a printed table."""

    def as_dict(self) -> dict[str, Any]: ...

    def format(self) -> str: ...


class BenchSection(Protocol):
    """One optional section of ``camdrift bench``, run when its ``flag`` is given.

    ``name`` is its key in the ``--json`` document; ``help`` the flag's help text. A section without options
    of its own inherits the no-op :meth:`add_arguments` by subclassing this protocol.
    """

    name: str
    flag: str
    help: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add the section's own options (e.g. ``--detection``'s ``--peers``); none by default."""

    def run(self, args: argparse.Namespace) -> BenchResult: ...


def _sections() -> list[BenchSection]:
    return [ep.load() for ep in sorted(entry_points(group=SECTION_GROUP), key=lambda e: e.name)]


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
    p.add_argument("--no-kernels", action="store_true", help="skip the frame-kernel section")
    for section in _sections():
        p.add_argument(section.flag, dest=f"section_{section.name}", action="store_true", help=section.help)
        section.add_arguments(p)
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
    rows = [] if args.no_kernels else [frame_kernels.bench_size(w, h, args.frames) for w, h in sizes]
    startup = None if args.no_startup or args.no_kernels else frame_kernels.bench_startup()
    extra = {}
    for section in _sections():
        if getattr(args, f"section_{section.name}"):
            try:
                extra[section.name] = section.run(args)
            except RuntimeError as exc:
                print(f"camdrift bench: {section.name}: {exc}", file=sys.stderr)
                return 1
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
            **{name: result.as_dict() for name, result in extra.items()},
        }
        print(json.dumps(doc, indent=2))
        return 0
    if rows:
        print(frame_kernels.format_rows(rows))
    if startup:
        print()
        print(frame_kernels.format_startup(startup))
    for result in extra.values():
        print()
        print(result.format())
    return 0
