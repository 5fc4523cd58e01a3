"""``camdrift report``: a PNG OpenCV can read back and an HTML page embedding it, with and without a capture."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import cv2
import numpy as np

from camdrift.agent.reference.baseline import load_baseline
from camdrift.calibration.report.render import WIDTH, render
from tests.calibration.cli_fixtures import (
    assert_clean_failure,
    camdrift,
    line_dir_fixture,  # noqa: F401  (the line_dir fixture)
)


def test_png_report_of_a_defocused_capture(line_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.png"
    proc = camdrift(
        "report", "--baseline", "ref.npz", "--source", "video:defocus.avi", "--out", out, cwd=line_dir
    )
    assert proc.returncode == 0, proc.stderr
    assert "verdict fail" in proc.stdout
    image = cv2.imread(str(out))
    assert image is not None and image.shape[1] == WIDTH
    only_baseline = render(load_baseline(line_dir / "ref.npz"))
    assert image.shape[0] > only_baseline.shape[0]  # the comparison panels and the score bars were drawn
    # the failing statistics are drawn in the fail colour (red, BGR (50, 50, 220)) somewhere in the bars
    assert np.any(np.all(image == (50, 50, 220), axis=2))


def test_html_report_embeds_the_picture_and_the_table(line_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    proc = camdrift(
        "report", "--baseline", "ref.npz", "--source", "video:same.avi", "--out", out, cwd=line_dir
    )
    assert proc.returncode == 0, proc.stderr
    page = out.read_text()
    assert "Verdict: PASS" in page and page.count("<tr>") == 20  # header + 19 statistics
    png = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)", page).group(1))
    assert cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR).shape[1] == WIDTH


def test_baseline_only_report_and_bad_output(line_dir: Path, tmp_path: Path) -> None:
    proc = camdrift("report", "--baseline", "ref.npz", "--out", tmp_path / "b.png", cwd=line_dir)
    assert proc.returncode == 0, proc.stderr
    assert cv2.imread(str(tmp_path / "b.png")) is not None
    assert_clean_failure(
        camdrift("report", "--baseline", "ref.npz", "--out", tmp_path / "r.pdf", cwd=line_dir),
        "--out",
        ".png or .html",
    )
    assert_clean_failure(
        camdrift("report", "--baseline", "none.npz", "--out", tmp_path / "r.png"), "none.npz"
    )
