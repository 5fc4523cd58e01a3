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
from camdrift.calibration.calibrate.output_options import OutputPlan, add_output_arguments
from camdrift.calibration.calibrate.output_options import summary_lines as output_lines
from camdrift.calibration.calibrate.summary import summary
from camdrift.calibration.calibrate.thresholds import MIN_REPLICATES, Budget, ThresholdError
from camdrift.calibration.capture import Capture, CaptureError, Progress, capture, shortfall
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


EXIT_REFUSED = 1  # the footage does not make a baseline camdrift can stand behind; nothing written
EPILOG = """\
exit status:
  0  baseline written (with --force also when a check below failed; the baseline records what was forced)
  1  refused, nothing written: the reference is below the minimum (the message says how much more footage it
     needs), the source ended before --frames / --duration, or a quality gate failed; --force writes it anyway.
     Also, even with --force: a threshold came out non-finite or unordered (the message names the statistic).
  2  could not run: a bad option, source, configuration or output path (the message names it)

--frames counts ANALYSED frames (after sampling at --max-fps, default 5 per second of stream time), not the
source's frames: a 100 s file at 10 fps holds 500 analysed frames at the default rate (--duration 100s takes
them all). --duration is the stream time the analysed frames cover (N frames at 5 fps cover N / 5 s)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        NAME,
        help="capture a reference from a source and write a baseline",
        description="Captures frames (camera, RTSP, video file, image folder, the model's training images), "
        "checks them, calibrates the drift thresholds and writes the baseline file.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_source_arguments(p)
    span = p.add_mutually_exclusive_group(required=True)
    span.add_argument(
        "--frames",
        type=bounded_int(1, 10_000_000),
        metavar="N",
        help="analysed frames to capture (after --max-fps sampling; not source frames)",
    )
    span.add_argument(
        "--duration", type=parse_duration, help="stream time the analysed frames cover: 90s, 10m, 1h"
    )
    p.add_argument("--out", required=True, metavar="BASELINE", help="baseline file to write")
    p.add_argument(
        "--window",
        type=bounded_int(2, 100_000),
        default=20,
        help="sliding window, analysed frames (default 20)",
    )
    p.add_argument(
        "--budget-days",
        type=bounded_float(0.001, 36500),
        default=30.0,
        help="one false alarm per this many days (30)",
    )
    p.add_argument(
        "--replicates",
        type=bounded_int(MIN_REPLICATES, 100_000),
        default=2000,
        help=f"bootstrap replicates, {MIN_REPLICATES}..100000 (default 2000)",
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
    p.add_argument(
        "--force",
        action="store_true",
        help="write the baseline even below the minimum, from a source that ended short, or when a gate fails "
        "(the baseline records it)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_model_arguments(p)
    add_output_arguments(p)
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
    if args.bins < 2:
        raise UsageError(f"--bins must be >= 2, got {args.bins}")


def _gate(
    args: argparse.Namespace, cap: Capture, kernel: KernelParams, max_fps: float
) -> tuple[ReferenceFrames, np.ndarray, list[Finding]]:
    """The quality gates over the captured frames: their features, which to keep, and the findings (the
    source ending short of what was asked is one, an error)."""
    if not cap.stats:
        skipped = ", ".join(f"{n} {r}" for r, n in cap.skipped.items()) or "none read"
        raise UsageError(f"source {cap.source} gave no usable frame ({skipped})")
    frames = reference_frames(cap.stats)
    rate = (len(cap.stats) / cap.covered) if cap.covered > 0 else max_fps
    keep, findings = run_gates(
        frames.scalars,
        frames.thumbnails,
        window=args.window,
        skipped=cap.skipped,
        under_threshold=kernel.under_threshold,
        over_threshold=kernel.over_threshold,
        rate=rate,
    )
    short = shortfall(cap, frames=args.frames, duration=args.duration, max_fps=max_fps)
    if short is not None:
        findings.insert(0, Finding("error", "source_ended", short, len(cap.stats)))
    return frames, keep, findings


def _refuse(errors: list[Finding]) -> int:
    """Exit 1 with one line per failed check (the last says how to write it anyway)."""
    for f in errors[:-1]:
        print(f"camdrift {NAME}: {f.message}", file=sys.stderr)
    print(f"camdrift {NAME}: {errors[-1].message} (--force writes it anyway)", file=sys.stderr)
    return EXIT_REFUSED


def _run(args: argparse.Namespace) -> int:
    s = source_settings(args)
    _check_args(args, s.max_fps)
    out = check_output(args.out, "--out")
    plan = plan_from_args(args)  # --model: the activation group (UsageError naming the option)
    outputs = OutputPlan(
        args.class_names, args.uncertain_below
    )  # fits the app's model outputs, if it hands any
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
        check_outputs=outputs.check,
    )
    frames, keep, findings = _gate(args, cap, kernel, s.max_fps)
    errors = [f for f in findings if f.level == "error"]
    if errors and not args.force:
        return _refuse(errors)
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
            frames,
            camera_id=s.camera_id,
            source=cap.source,
            kernel=kernel,
            budget=budget,
            n_bins=args.bins,
            forced=tuple(f"{f.code}: {f.message}" for f in errors),
        )
    except ThresholdError as exc:  # never written, --force or not
        print(f"camdrift {NAME}: baseline not written: {exc}", file=sys.stderr)
        return EXIT_REFUSED
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
    try:
        baseline = outputs.add_group(
            baseline, cap.outputs, keep, n_replicates=args.replicates, budget_days=args.budget_days
        )
    except ValueError as exc:  # e.g. too few frames with outputs: refused like a short reference
        print(
            f"camdrift {NAME}: baseline not written: cannot calibrate the output group: {exc}",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    save_baseline(baseline, out)
    print(summary(baseline, cap, findings, out=str(out), seconds=time.monotonic() - started))
    if plan is not None:
        print("\n".join(summary_lines(baseline, plan)))
    if baseline.outputs is not None:
        print("\n".join(output_lines(baseline)))
    return EXIT_OK


def _with_notes(b: Baseline, notes: tuple[str, ...], frames: ReferenceFrames | None) -> Baseline:
    return dataclasses.replace(
        b, thresholds=dataclasses.replace(b.thresholds, notes=notes), reference_frames=frames
    )
