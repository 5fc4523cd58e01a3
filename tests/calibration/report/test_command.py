"""``camdrift report``: a PNG OpenCV can read back and an HTML page embedding it, with and without a capture;
without matplotlib (the report extra) a one-line error."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

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
    only_baseline = cv2.imread(str(tmp_path / "b.png")) if (tmp_path / "b.png").exists() else None
    assert image is not None and image.shape[1] > 1000 and only_baseline is None
    assert (
        camdrift("report", "--baseline", "ref.npz", "--out", tmp_path / "b.png", cwd=line_dir).returncode == 0
    )
    assert image.shape[0] > cv2.imread(str(tmp_path / "b.png")).shape[0]  # the score bars were drawn
    # the failing statistics are drawn in the fail colour (#dd3333) somewhere in the bars
    assert np.any(np.all(np.abs(image.astype(int) - (0x33, 0x33, 0xDD)) <= 2, axis=2))


def test_html_report_embeds_the_picture_and_the_table(line_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    proc = camdrift(
        "report", "--baseline", "ref.npz", "--source", "video:same.avi", "--out", out, cwd=line_dir
    )
    assert proc.returncode == 0, proc.stderr
    page = out.read_text()
    assert "Verdict: PASS" in page and page.count("<tr>") == 20  # header + 19 statistics
    png = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)", page).group(1))
    assert cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR).shape[1] > 1000


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


def test_without_matplotlib_the_report_says_which_extra_to_install(line_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "no_mpl"
    blocker.mkdir()
    (blocker / "matplotlib").mkdir()
    (blocker / "matplotlib" / "__init__.py").write_text("raise ImportError('matplotlib is not installed')\n")
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); from camdrift.agent import cli; "
        "sys.exit(cli.main(['report', '--baseline', 'ref.npz', '--out', sys.argv[2]]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(blocker), str(tmp_path / "r.png")],
        cwd=line_dir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "pip install 'camdrift[report]'" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "r.png").exists()
