"""``camdrift calibrate``: capture a reference from a source, run the quality gates, write the baseline.

The baseline keeps the per-frame reference features (``Baseline.reference_frames``: natural-bin histograms,
scalars, float16 thumbnails, grid) so that ``camdrift baseline merge`` can rebuild thresholds from a union of
captures; ``--no-frames`` leaves them out for a smaller file (about 12 kB per frame at 64x64 thumbnails).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

import numpy as np

from camdrift.agent.reference.baseline import Baseline, ReferenceFrames, save_baseline
from camdrift.calibration.calibrate.activation_options import (
    add_model_arguments,
    plan_from_args,
    summary_lines,
)
from camdrift.calibration.calibrate.build import build_from_frames, keep_frames, reference_frames
from camdrift.calibration.calibrate.gates import Finding, run_gates
from camdrift.calibration.calibrate.summary import summary
from camdrift.calibration.calibrate.thresholds import Budget
from camdrift.calibration.capture import Capture, CaptureError, Progress, capture
from camdrift.calibration.options import (
    EXIT_OK,
    UsageError,
    add_source_arguments,
    bounded_float,
    bounded_int,
    check_output,
    fail,
    make_source,
    parse_duration,
    source_settings,
)
from camdrift.kernels import KernelParams

NAME = "calibrate"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        NAME,
        help="capture a reference from a source and write a baseline",
        description="Captures frames (camera, RTSP, video file, image folder, the model's training images), "
        "checks them, calibrates the drift thresholds and writes the baseline file.",
    )
    add_source_arguments(p)
    span = p.add_mutually_exclusive_group(required=True)
    span.add_argument(
        "--frames", type=bounded_int(1, 10_000_000), metavar="N", help="number of analysed frames to capture"
    )
    span.add_argument("--duration", type=parse_duration, help="stream time to capture: 90s, 10m, 1h")
    p.add_argument("--out", required=True, metavar="BASELINE", help="baseline file to write")
    p.add_argument(
        "--window", type=bounded_int(1, 100_000), default=100, help="sliding window, frames (default 100)"
    )
    p.add_argument(
        "--budget-days",
        type=bounded_float(0.001, 36500),
        default=30.0,
        help="one false alarm per this many days (30)",
    )
    p.add_argument(
        "--replicates", type=bounded_int(1, 100_000), default=2000, help="bootstrap replicates (default 2000)"
    )
    p.add_argument(
        "--bins", type=bounded_int(1, 256), default=20, help="histogram bins per group (default 20)"
    )
    p.add_argument(
        "--thumb", type=bounded_int(1, 256), default=64, help="thumbnail cells per side (default 64)"
    )
    p.add_argument(
        "--grid", type=bounded_int(1, 64), default=8, help="local sharpness grid per side (default 8)"
    )
    p.add_argument("--seed", type=bounded_int(0, 2**32 - 1), default=0, help="bootstrap seed (default 0)")
    p.add_argument("--no-frames", action="store_true", help="do not keep per-frame features (cannot merge)")
    p.add_argument("--force", action="store_true", help="write the baseline even when a gate fails")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_model_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except UsageError as exc:
        return fail(NAME, exc)
    except CaptureError as exc:
        return fail(NAME, exc)
    except OSError as exc:  # writing the baseline failed (disk full, permissions): the old file is kept
        return fail(NAME, f"cannot write {args.out}: {exc.strerror or exc}")


MAX_CAPTURE_BYTES = 2 << 30  # the per-frame features a calibration may hold in memory


def _check_args(args: argparse.Namespace, max_fps: float) -> None:
    """The options' combined bounds, checked before any frame is read (sizes bounded before work)."""
    frames = args.frames or args.duration * max_fps
    per_frame = 4 * 256 * 4 + args.thumb**2 * 8 + args.grid**2 * 24 + 512  # hist, thumbnail, grids, scalars
    if frames * per_frame > MAX_CAPTURE_BYTES:
        raise UsageError(
            f"--frames/--duration x --thumb {args.thumb} x --grid {args.grid} would hold "
            f"{frames * per_frame / 2**30:.1f} GiB of frame features (limit {MAX_CAPTURE_BYTES >> 30} GiB): "
            "capture fewer frames or use a smaller --thumb / --grid"
        )
    if not args.budget_days > 0:
        raise UsageError(f"--budget-days must be > 0, got {args.budget_days}")
    if args.window < 2:
        raise UsageError(f"--window must be >= 2 frames, got {args.window}")
    if args.bins < 2:
        raise UsageError(f"--bins must be >= 2, got {args.bins}")


def _gate(
    args: argparse.Namespace, cap: Capture, kernel: KernelParams
) -> tuple[ReferenceFrames, np.ndarray, list[Finding]]:
    """The quality gates over the captured frames: their features, which to keep, and the findings."""
    if not cap.stats:
        skipped = ", ".join(f"{n} {r}" for r, n in cap.skipped.items()) or "none read"
        raise UsageError(f"source {cap.source} gave no usable frame ({skipped})")
    frames = reference_frames(cap.stats)
    keep, findings = run_gates(
        frames.scalars,
        frames.thumbnails,
        window=args.window,
        skipped=cap.skipped,
        under_threshold=kernel.under_threshold,
        over_threshold=kernel.over_threshold,
    )
    if cap.ended and args.frames and len(cap.stats) < args.frames:
        findings.insert(
            0,
            Finding(
                "warning", "source_ended", f"the source ended after {len(cap.stats)} of {args.frames} frames"
            ),
        )
    return frames, keep, findings


def _run(args: argparse.Namespace) -> int:
    s = source_settings(args)
    _check_args(args, s.max_fps)
    out = check_output(args.out, "--out")
    plan = plan_from_args(args)  # --model: the activation group (UsageError naming the option)
    kernel = s.kernel(thumb_size=(args.thumb, args.thumb), grid=args.grid)
    source = make_source(s.uri, s.pixel_format)
    total, unit = (args.frames, "frames") if args.frames else (args.duration, "s")
    started = time.monotonic()
    cap = capture(
        source,
        kernel,
        frames=args.frames,
        duration=args.duration,
        max_fps=s.max_fps,
        progress=None if args.quiet else Progress(total, unit),
        on_frame=None if plan is None else plan.on_frame,
    )
    frames, keep, findings = _gate(args, cap, kernel)
    errors = [f for f in findings if f.level == "error"]
    if errors and not args.force:
        for f in findings:
            print(f, file=sys.stderr)
        return fail(NAME, f"calibration refused ({len(errors)} gate(s) failed; --force writes it anyway)")
    frames = ReferenceFrames(*(a[keep] for a in frames))
    if len(frames.scalars) < 2:
        return fail(
            NAME, f"only {len(frames.scalars)} usable frame(s) from {cap.source}: nothing to calibrate"
        )
    budget = Budget(
        window=args.window,
        fps=s.max_fps,
        budget_days=args.budget_days,
        n_replicates=args.replicates,
        seed=args.seed,
    )
    kernel = dataclasses.replace(kernel, pixel_format=cap.pixel_format, resolution=cap.resolution)
    try:
        baseline = build_from_frames(
            frames, camera_id=s.camera_id, source=cap.source, kernel=kernel, budget=budget, n_bins=args.bins
        )
    except ValueError as exc:  # degenerate reference (e.g. a flat grey image): the builder names why
        return fail(NAME, f"cannot calibrate from {cap.source}: {exc}")
    notes = baseline.thresholds.notes + tuple(str(f) for f in findings)
    baseline = _with_notes(baseline, notes, None if args.no_frames else keep_frames(frames))
    if plan is not None:
        try:
            baseline = plan.add_group(
                baseline, keep, n_replicates=args.replicates, budget_days=args.budget_days
            )
        except ValueError as exc:
            return fail(NAME, f"cannot calibrate the activation group with {args.model}: {exc}")
    save_baseline(baseline, out)
    print(summary(baseline, cap, findings, out=str(out), seconds=time.monotonic() - started))
    if plan is not None:
        print("\n".join(summary_lines(baseline, plan)))
    return EXIT_OK


def _with_notes(b: Baseline, notes: tuple[str, ...], frames: ReferenceFrames | None) -> Baseline:
    return dataclasses.replace(
        b, thresholds=dataclasses.replace(b.thresholds, notes=notes), reference_frames=frames
    )
