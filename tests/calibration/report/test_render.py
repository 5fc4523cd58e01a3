"""The report picture (render.py): one 1040 px wide BGR image that grows with a capture (comparison panels,
score bars in the verdict colours), a lossless PNG of it, and an HTML page with the verdict and one table row
per statistic."""

from __future__ import annotations

import base64
import re

import cv2
import numpy as np

from camdrift.agent.sim.line import HEALTHY, Drift
from camdrift.calibration.report.render import WIDTH, encode_png, html_page, render, summarise
from camdrift.calibration.verify.verdict import verify_stats
from tests.agent.drift_fixtures import FPS, KERNEL, small_baseline, stats_of


def _capture(drift: Drift = HEALTHY, n: int = 30):
    stats = stats_of(3, n, drift, start=1000)
    return stats, verify_stats(small_baseline(), stats, [i / FPS for i in range(n)])


def test_summarise_pools_the_capture_in_the_baselines_terms():
    baseline = small_baseline()
    stats, _ = _capture()
    current = summarise(baseline, stats)
    assert current.frames == 30
    assert current.counts.shape == baseline.ref_props.shape
    assert np.all(current.counts.sum(axis=1) == sum(s.pixel_count for s in stats))  # every bin of every group
    assert current.thumbnail.shape == KERNEL["thumb_size"]
    assert current.grid_log_sharpness.shape == (KERNEL["grid"], KERNEL["grid"])


def test_baseline_only_picture_is_the_report_width():
    image = render(small_baseline())
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[1:] == (WIDTH, 3)
    assert not np.any(np.all(image == (50, 50, 220), axis=2))  # no score bars without a capture


def test_capture_adds_panels_and_bars_in_the_verdict_colours():
    baseline = small_baseline()
    stats, result = _capture(Drift(defocus_sigma=2.0))
    assert result.verdict == "fail"
    image = render(baseline, summarise(baseline, stats), result)
    only = render(baseline)
    assert image.shape[1] == WIDTH and image.shape[0] > only.shape[0] + 18 * len(result.rows)
    assert np.any(np.all(image == (50, 50, 220), axis=2))  # a failing bar (fail colour)
    assert np.any(np.all(image == (60, 170, 60), axis=2))  # a passing bar (pass colour)
    png = encode_png(image)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    np.testing.assert_array_equal(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), image)


def test_html_page_has_the_verdict_the_cause_and_a_row_per_statistic():
    baseline = small_baseline()
    stats, result = _capture(Drift(defocus_sigma=2.0))
    png = encode_png(render(baseline, summarise(baseline, stats), result))
    page = html_page(baseline, png, result)
    assert "<h2>Verdict: FAIL</h2>" in page and f"Likely cause: {result.causes[0].text}" in page
    assert page.count("<tr>") == 1 + len(result.rows)
    assert base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)", page).group(1)) == png
    assert f"window {baseline.thresholds.window} frames" in page
    plain = html_page(baseline, encode_png(render(baseline)), None)
    assert "Verdict" not in plain and "<table" not in plain
