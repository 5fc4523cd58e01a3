"""What ``camdrift calibrate`` prints: the baseline's frames, kernel parameters, method, budget, one threshold row
per statistic with its unit, and the gates' warnings."""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np

from camdrift.calibration.calibrate.gates import Finding
from camdrift.calibration.calibrate.summary import summary, threshold_table
from camdrift.calibration.capture import Capture
from tests.agent.drift_fixtures import small_baseline


def _capture(n: int) -> Capture:
    return Capture(
        stats=[None] * n,  # only counted
        times=np.arange(n) / 5.0,
        resolution=(160, 120),
        pixel_format="bgr8",
        skipped=Counter(),
        first=None,
        last=None,
        ended=False,
        source="video:ref.avi",
    )


def test_every_statistic_has_a_row_with_its_unit() -> None:
    b = small_baseline()
    rows = threshold_table(b, indent="  ").splitlines()
    assert rows[0].split() == ["statistic", "warn", "drift", "unit"]
    assert len(rows) == 1 + len(b.thresholds.names)
    by_name = {r.split()[0]: r for r in rows[1:]}
    assert by_name["psi.luma"].endswith("nats (PSI)")
    assert by_name["displacement"].endswith("px")
    assert by_name["shift.brightness"].endswith("|z|")
    assert all(r.startswith("  ") for r in rows)


def test_the_summary_names_the_frames_kernel_budget_and_warnings() -> None:
    b = small_baseline()
    text = summary(b, _capture(620), [], out="b.npz", seconds=2.0)
    assert f"baseline written: b.npz (id {b.baseline_id})" in text
    assert (
        "frames used: 600 of 620 analysed frames (0 read from the source), 123.8 s of stream time, 160x120 bgr8, "
        "roi whole frame, stride 1" in text
    )
    th = b.thresholds
    assert f"{th.n_eff:.1f} effectively independent windows, thresholds widened x{th.widening:.3g}" in text
    assert "FORCED" not in text
    forced = dataclasses.replace(b, thresholds=dataclasses.replace(th, forced=("too_few_frames: short",)))
    assert "FORCED (calibrated with --force): too_few_frames: short" in summary(
        forced, _capture(620), [], out="b.npz", seconds=2.0
    )
    assert "thumbnail 16x16, grid 4x4" in text
    assert "false-alarm budget: one per 30 days at 5 fps" in text
    assert "warned about: nothing, all quality gates passed" in text
    warned = summary(b, _capture(620), [Finding("warning", "blurred", "3 frames")], out="b.npz", seconds=2.0)
    assert "warned about (1):\n    - WARNING blurred: 3 frames" in warned
