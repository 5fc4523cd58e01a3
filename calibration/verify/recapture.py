"""Capture the baseline's camera again and score the capture: what ``camdrift verify`` and ``camdrift report``
both do before they print or draw.

The capture analyses frames with the baseline's own kernel parameters (pixel format, ROI, stride, thumbnail,
grid, exposure thresholds) at the baseline's analysis rate, and refuses a source whose frames differ from the
baseline's (pixel format, resolution).
"""

from __future__ import annotations

import argparse

from camdrift.agent.reference.baseline import Baseline
from camdrift.calibration.capture import Capture, Progress, capture
from camdrift.calibration.options import UsageError, make_source, source_settings
from camdrift.calibration.verify.verdict import VerifyResult, verify_stats


def capture_for(baseline: Baseline, args: argparse.Namespace, frames: int, quiet: bool) -> Capture:
    """Capture ``frames`` frames from ``--source`` / ``--config`` the way the baseline's frames were analysed.

    quiet: no progress bar. Raises :class:`~camdrift.calibration.options.UsageError` or
    :class:`~camdrift.calibration.capture.CaptureError` when the source cannot be used.
    """
    args.pixel_format = baseline.pixel_format
    s = source_settings(args)
    kernel = baseline.kernel
    source = make_source(s.uri, baseline.pixel_format)
    progress = None if quiet else Progress(frames, "frames")

    def check(pixel_format: str, resolution: tuple[int, int]) -> None:
        baseline.check_frames(pixel_format, resolution, baseline.roi)

    return capture(
        source, kernel, frames=frames, max_fps=baseline.thresholds.fps, progress=progress, check=check
    )


def verify_capture(baseline: Baseline, cap: Capture) -> VerifyResult:
    """The capture's verdicts against ``baseline``; a capture shorter than one window is a
    :class:`~camdrift.calibration.options.UsageError` naming the source."""
    try:
        return verify_stats(baseline, cap.stats, cap.times, cap.outputs)
    except ValueError as exc:
        raise UsageError(f"source {cap.source}: {exc}") from None
