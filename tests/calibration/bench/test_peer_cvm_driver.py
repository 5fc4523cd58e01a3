"""The alibi-detect driver (peer_cvm_driver.py) runs in ``.venv-peers``; here it runs in a plain interpreter
against a stand-in ``alibi_detect`` package, to check its side of the file protocol with peer_cvm.py:
``ref__<group>`` / ``stream__<group>__<name>`` arrays in, alarm indices per stream out as JSON, the detector
reset after each alarm, the first group's thresholds reused with every other group's own reference.
The real alibi-detect run: test_peer_cvm.py (skipped without the peers venv)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from camdrift.calibration.bench.peer_cvm import DRIVER

# Alarm when ``run`` consecutive frames sit more than 3 away from the reference mean of feature 0. Records how
# often thresholds were configured (the expensive part of the real detector).
_STUB_CD = """
import numpy as np

CONFIGURED = []


class CVMDriftOnline:
    def __init__(self, x_ref, ert, window_sizes, n_bootstraps, batch_size, verbose):
        CONFIGURED.append((ert, tuple(window_sizes), n_bootstraps))
        self.run = min(window_sizes)
        self.x_ref = self._check_x(x_ref, x_ref=True)
        self._configure_ref()
        self.reset_state()

    def _check_x(self, x, x_ref=False):
        return np.asarray(x, np.float64)

    def _configure_ref(self):
        self.centre = float(self.x_ref[:, 0].mean())

    def reset_state(self):
        self.count = 0

    def predict(self, x, return_test_stat=False):
        self.count = self.count + 1 if abs(x[0] - self.centre) > 3 else 0
        return {"data": {"is_drift": int(self.count >= self.run), "configured": len(CONFIGURED)}}
"""


def stub_alibi(root: Path) -> Path:
    """A folder holding a stand-in ``alibi_detect`` (version "stub") for PYTHONPATH."""
    pkg = root / "stub" / "alibi_detect"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text('__version__ = "stub"\n')
    (pkg / "cd.py").write_text(_STUB_CD)
    return root / "stub"


def _drive(tmp_path: Path, arrays: dict[str, np.ndarray], *args: str) -> subprocess.CompletedProcess:
    tmp_path.mkdir(exist_ok=True)
    src, dst = tmp_path / "in.npz", tmp_path / "out.json"
    np.savez(src, **arrays)
    env = {"PYTHONPATH": str(stub_alibi(tmp_path)), "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, str(DRIVER), str(src), str(dst), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)


def test_alarms_per_stream_with_a_reset_after_each(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    step = rng.normal(0, 0.1, (30, 2))
    step[10:16, 0] += 5.0  # six frames off: with run = 2, alarms at 11, 13, 15 (the count restarts each time)
    near_b = np.full((5, 2), 5.0)
    arrays = {
        "ref__a": np.zeros((50, 2)),
        "ref__b": np.full((50, 2), 5.0),
        "stream__a__step": step,
        "stream__b__b_vs_b": near_b,
        "stream__a__b_vs_a": near_b,
    }
    proc = _drive(tmp_path, arrays, "500.0", "2,4", "6000")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "out.json").read_text())
    assert doc["alarms"] == {"step": [11, 13, 15], "b_vs_b": [], "b_vs_a": [1, 3]}
    assert (doc["alibi_detect"], doc["ert"], doc["window_sizes"], doc["n_bootstraps"]) == (
        "stub",
        500.0,
        [2, 4],
        6000,
    )
    assert doc["n_ref"] == 50 and doc["frames"] == 40 and doc["config_s"] >= 0 and doc["run_s"] >= 0


def test_usage_and_bad_input_exit_2(tmp_path: Path) -> None:
    proc = _drive(tmp_path / "u", {"ref__a": np.zeros((3, 1))}, "500.0")
    assert proc.returncode == 2 and "IN.npz OUT.json ERT WINDOWS N_BOOTSTRAPS" in proc.stderr
    proc = _drive(
        tmp_path / "v", {"ref__a": np.zeros((3, 1)), "ref__b": np.zeros((4, 1))}, "500.0", "2", "10"
    )
    assert proc.returncode == 2 and "all of one shape" in proc.stderr
    assert not (tmp_path / "v" / "out.json").exists()
