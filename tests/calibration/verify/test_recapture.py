"""The capture ``verify`` and ``report`` share (recapture.py): frames analysed with the baseline's own kernel
parameters at its analysis rate, a source of another resolution refused, a capture shorter than one window
refused naming the source."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from camdrift.agent.sim.line import Drift
from camdrift.calibration.capture import CaptureError
from camdrift.calibration.options import UsageError
from camdrift.calibration.verify.recapture import capture_for, verify_capture
from tests.agent.drift_fixtures import KERNEL, WINDOW, small_baseline
from tests.calibration.cli_fixtures import frames, write_video


def _args(source: Path) -> argparse.Namespace:
    return argparse.Namespace(source=f"video:{source}", config=None)


def test_capture_uses_the_baselines_kernel_and_scores(tmp_path: Path) -> None:
    baseline = small_baseline()
    video = write_video(tmp_path / "dark.avi", frames(1000, 30, Drift(gain=0.8)))
    cap = capture_for(baseline, _args(video), 30, quiet=True)
    assert len(cap.stats) == 30 and cap.resolution == baseline.resolution
    th, tw = KERNEL["thumb_size"]
    assert cap.stats[0].thumbnail.shape == (th, tw)
    assert cap.stats[0].grid_sharpness.shape == (KERNEL["grid"], KERNEL["grid"])
    result = verify_capture(baseline, cap)
    assert result.verdict == "fail" and result.causes[0].code == "lighting"
    assert result.windows == 30 - WINDOW + 1


def test_other_resolution_is_refused(tmp_path: Path) -> None:
    video = write_video(tmp_path / "big.avi", frames(0, 25, size=(320, 240)))
    with pytest.raises(
        (CaptureError, UsageError), match="resolution 320x240 differs from the baseline's 160x120"
    ):
        capture_for(small_baseline(), _args(video), 25, quiet=True)


def test_short_capture_is_a_usage_error_naming_the_source(tmp_path: Path) -> None:
    video = write_video(tmp_path / "short.avi", frames(0, 8))
    cap = capture_for(small_baseline(), _args(video), 20, quiet=True)
    assert cap.ended and len(cap.stats) == 8
    with pytest.raises(UsageError, match=rf"source .*short\.avi.*: 8 frames make 0 full windows of {WINDOW}"):
        verify_capture(small_baseline(), cap)
