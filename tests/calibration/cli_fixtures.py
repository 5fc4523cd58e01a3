"""Real inputs for the technician-command tests: MJPG videos and image folders written from the synthetic
production line (real photographs), and a runner for ``camdrift`` as a subprocess, as a technician runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from camdrift.agent.sim.line import HEALTHY, Drift, ProductionLine

SIZE = (160, 120)
FPS = 5.0
SEED = 3
REF_FRAMES = 300
# Small kernel and window keep every calibration under a second (see tests/agent/drift_fixtures.py).
SMALL = ["--window", "20", "--replicates", "200", "--thumb", "16", "--grid", "4", "--quiet"]


def camdrift(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``camdrift ARGS`` in a fresh interpreter; stdout and stderr captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "camdrift.agent.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def assert_clean_failure(proc: subprocess.CompletedProcess, *needles: str, code: int = 2) -> None:
    """Non-zero exit ``code``, a message naming each of ``needles`` on stderr, and no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)


def frames(start: int, n: int, drift: Drift = HEALTHY, seed: int = SEED, size=SIZE) -> list[np.ndarray]:
    line = ProductionLine(seed=seed, width=size[0], height=size[1], fps=FPS)
    return [line.frame(i, drift) for i in range(start, start + n)]


def write_video(path: Path, images: list[np.ndarray], fps: float = FPS) -> Path:
    h, w = images[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened(), "OpenCV cannot write MJPG .avi here"
    for image in images:
        writer.write(image)
    writer.release()
    return path


def write_folder(path: Path, images: list[np.ndarray]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        assert cv2.imwrite(str(path / f"frame_{i:05d}.png"), image)
    return path


@pytest.fixture(scope="session", name="line_dir")
def line_dir_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the reference video, a baseline calibrated on it by the CLI, and test videos of the
    same scene later on: healthy, refocused (defocus), darker (gain 0.8), shifted (5 % of the width)."""
    d = tmp_path_factory.mktemp("line")
    write_video(d / "ref.avi", frames(0, REF_FRAMES))
    write_video(d / "same.avi", frames(1000, 60))
    write_video(d / "defocus.avi", frames(1000, 60, Drift(defocus_sigma=2.0)))
    write_video(d / "dark.avi", frames(1000, 60, Drift(gain=0.8)))
    write_video(d / "shifted.avi", frames(1000, 60, Drift(shift=(0.05, 0.0))))
    proc = camdrift(
        "calibrate", "--source", "video:ref.avi", "--frames", REF_FRAMES, "--out", "ref.npz", *SMALL, cwd=d
    )
    assert proc.returncode == 0, proc.stderr
    return d
