"""Compiling ahead: after ``python -m camdrift.kernels.warm`` an agent replay compiles nothing more (the
installer runs it so the service's first start is warm)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from camdrift.agent.reference.baseline import save_baseline
from tests.agent.drift_fixtures import small_baseline

ROOT = Path(__file__).resolve().parents[2]


def _compiled(cache: Path) -> list[Path]:
    return sorted(cache.rglob("*.nbc"))


def test_an_agent_run_after_the_warm_up_finds_every_kernel_compiled(tmp_path: Path) -> None:
    cache = tmp_path / "numba"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    warm = subprocess.run(
        [sys.executable, "-m", "camdrift.kernels.warm"], env=env, capture_output=True, text=True, timeout=600
    )
    assert warm.returncode == 0, warm.stderr
    assert "numba kernels compiled and cached" in warm.stdout
    warmed = _compiled(cache)
    assert warmed
    save_baseline(small_baseline(), tmp_path / "baseline.npz")
    camdrift = Path(sys.executable).with_name("camdrift")
    run = subprocess.run(
        [str(camdrift), "run", "--source", "synthetic:stationary?frames=40&size=160x120", "--baseline",
         str(tmp_path / "baseline.npz"), "--state-dir", str(tmp_path / "state")],
        env=env, capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert _compiled(cache) == warmed  # the agent compiled nothing the warm-up had not
