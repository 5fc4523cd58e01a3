"""The optional alibi-detect peer: CVMDriftOnline over the per-frame scalars, run in its own virtualenv.

alibi-detect 0.13 needs numpy < 2, numba < 0.60 and scikit-image < 0.25, so it lives in ``.venv-peers`` (made by
``scripts/peers-venv``), never in the project's venv. :func:`run_cvm` writes the streams' per-frame scalars to a
temporary ``.npz``, runs :mod:`camdrift.calibration.bench.peer_cvm_driver` there with plain argv paths (no pickle
anywhere), and reads back the alarm indices as JSON.

Cost: configuring the detector simulates its thresholds (``n_bootstraps`` streams of ``2 * max(window) - 1``
frames against a reference of ``n_ref`` rows, about O(n_bootstraps * (n_ref + 2 max window)^2)). With 6 features
and ERT 20,000 alibi-detect needs at least 1 / beta ~ 120,000 simulated streams (beta = 1 - (1 - 1/ERT)^(1/6)),
so the reference is subsampled to ``n_ref = 300`` rows: about 25 s on one core here. It is done once per run and
reused for every reference (see the driver); predictions cost ~0.3 ms a frame.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

DRIVER = Path(__file__).with_name("peer_cvm_driver.py")
ERT = 20_000.0
WINDOW_SIZES = (10, 20, 40)
N_BOOTSTRAPS = 130_000  # >= 1 / beta for 6 features at ERT 20,000 (alibi-detect refuses fewer)
N_REF = 300


def peers_python(root: Path | None = None) -> Path | None:
    """The peers venv's interpreter (``$CAMDRIFT_PEERS_VENV`` or ``<repo>/.venv-peers``), or None if absent."""
    env = os.environ.get("CAMDRIFT_PEERS_VENV")
    venv = Path(env) if env else (root or Path(__file__).resolve().parents[2]) / ".venv-peers"
    py = venv / "bin" / "python"
    return py if py.exists() else None


class CvmResult(NamedTuple):
    """alarms: stream name -> frame indices of CVMDriftOnline's detections; config_s: threshold simulation
    (s); run_s: predictions over ``frames`` frames (s); version: alibi-detect's; n_ref, window_sizes,
    n_bootstraps, ert: the configuration."""

    alarms: dict[str, tuple[int, ...]]
    config_s: float
    run_s: float
    frames: int
    version: str
    n_ref: int
    window_sizes: tuple[int, ...]
    n_bootstraps: int
    ert: float


def subsample(rows: np.ndarray, n: int) -> np.ndarray:
    """``n`` rows of ``rows`` ((R, F)) evenly spaced over the recording (every R/n-th frame)."""
    if len(rows) <= n:
        return rows
    return rows[np.linspace(0, len(rows) - 1, n).round().astype(np.int64)]


def run_cvm(
    refs: dict[str, np.ndarray],
    streams: dict[str, tuple[str, np.ndarray]],
    python: Path,
    *,
    ert: float = ERT,
    window_sizes: tuple[int, ...] = WINDOW_SIZES,
    n_bootstraps: int = N_BOOTSTRAPS,
    n_ref: int = N_REF,
    timeout_s: float = 900.0,
) -> CvmResult:
    """Run CVMDriftOnline in the peers venv. refs: group -> (R, F) reference scalars (subsampled to ``n_ref``
    rows); streams: name -> (group, (n, F) scalars); python: the peers venv's interpreter.

    Raises RuntimeError naming the cause if the driver fails.
    """
    for name in list(refs) + list(streams):
        if "__" in name:
            raise ValueError(f"group / stream names may not contain '__': {name!r}")
    arrays = {f"ref__{g}": subsample(np.asarray(r, np.float64), n_ref) for g, r in refs.items()}
    for name, (group, rows) in streams.items():
        if group not in refs:
            raise ValueError(f"stream {name!r} names an unknown reference group {group!r}")
        arrays[f"stream__{group}__{name}"] = np.asarray(rows, np.float64)
    with tempfile.TemporaryDirectory(prefix="camdrift-cvm-") as tmp:
        src, dst = Path(tmp) / "in.npz", Path(tmp) / "out.json"
        np.savez(src, **arrays)
        env = {**os.environ, "NUMBA_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
        args = [str(python), str(DRIVER), str(src), str(dst), repr(float(ert))]
        args += [",".join(str(w) for w in window_sizes), str(n_bootstraps)]
        try:
            proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s, env=env)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"alibi-detect peer did not finish within {timeout_s:.0f} s") from None
        if proc.returncode != 0 or not dst.exists():
            tail = proc.stderr.strip().splitlines()[-3:]
            raise RuntimeError(f"alibi-detect peer failed (exit {proc.returncode}): {' | '.join(tail)}")
        doc = json.loads(dst.read_text(encoding="utf-8"))
    return CvmResult(
        alarms={k: tuple(v) for k, v in doc["alarms"].items()},
        config_s=float(doc["config_s"]),
        run_s=float(doc["run_s"]),
        frames=int(doc["frames"]),
        version=str(doc["alibi_detect"]),
        n_ref=int(doc["n_ref"]),
        window_sizes=tuple(doc["window_sizes"]),
        n_bootstraps=int(doc["n_bootstraps"]),
        ert=float(doc["ert"]),
    )
