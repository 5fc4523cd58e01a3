"""The report picture (render.py): a matplotlib figure whose title carries the verdict and the likely cause,
whose histograms have level and share axes, whose thumbnails and sharpness grids keep the frame's aspect ratio
and carry colour bars, whose score bars name every statistic with its value in a column of its own; a PNG of it,
and an HTML page with the verdict and one table row per statistic."""

from __future__ import annotations

import base64
import re

import cv2
import numpy as np
import pytest

from camdrift.agent.drift.explain import likely_cause
from camdrift.agent.sim.line import HEALTHY, Drift
from camdrift.calibration.report.render import frame_extent, html_page, render_png, report_figure, summarise
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


def _images(fig):
    return [(ax, im) for ax in fig.axes for im in ax.get_images()]


def test_baseline_only_figure_says_reference_only_and_keeps_the_frames_aspect():
    baseline = small_baseline()
    fig = report_figure(baseline)
    assert "reference only" in fig.get_suptitle() and "likely cause" not in fig.get_suptitle()
    hists = [ax for ax in fig.axes if ax.get_xlabel() == "level (DN8)"]
    assert len(hists) == 4 and hists[0].get_ylabel() == "% of pixels per level"
    assert all("current" not in ax.get_title() for ax in hists)  # no "reference vs current" without one
    w, h = baseline.resolution
    assert w != h  # a non-square frame: the test means something
    for _ax, im in _images(fig):
        left, right, bottom, top = im.get_extent()
        assert (right - left) / (bottom - top) == pytest.approx(w / h)  # not squashed into square cells
        assert im.colorbar is not None and im.colorbar.ax.get_ylabel()  # a labelled colour bar
    assert frame_extent(baseline) == (0.0, float(w), float(h), 0.0)


def test_a_failing_capture_puts_the_cause_in_the_title_and_every_statistic_in_the_bars():
    baseline = small_baseline()
    stats, result = _capture(Drift(defocus_sigma=2.0))
    assert result.verdict == "fail"
    fig = report_figure(baseline, summarise(baseline, stats), result)
    title = fig.get_suptitle()
    assert "FAIL" in title and f"likely cause: {likely_cause(result.causes)}" in title
    bars = next(ax for ax in fig.axes if ax.get_xlabel().startswith("score / drift threshold"))
    assert [t.get_text() for t in bars.get_yticklabels()] == [r.name for r in result.rows]
    assert bars.get_xlim() == (0.0, 3.0) and len(bars.texts) == len(result.rows)
    assert all(t.get_position()[0] > 1.0 for t in bars.texts)  # the values sit right of the axes, not on bars
    assert len(_images(fig)) == 6  # reference, current, difference; sharpness reference, current, z
    png = render_png(baseline, summarise(baseline, stats), result)
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and image.shape[1] > 1000 and image.shape[0] > 1000


def test_html_page_has_the_verdict_the_cause_and_a_row_per_statistic():
    baseline = small_baseline()
    stats, result = _capture(Drift(defocus_sigma=2.0))
    png = render_png(baseline, summarise(baseline, stats), result)
    page = html_page(baseline, png, result)
    assert "<h2>Verdict: FAIL</h2>" in page and f"Likely cause: {result.causes[0].text}" in page
    assert page.count("<tr>") == 1 + len(result.rows)
    assert base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)", page).group(1)) == png
    assert f"window {baseline.thresholds.window} frames" in page
    plain = html_page(baseline, render_png(baseline), None)
    assert "Verdict" not in plain and "<table" not in plain
