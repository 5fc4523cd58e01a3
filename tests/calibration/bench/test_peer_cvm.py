"""The alibi-detect peer's host side (peer_cvm.py): where the peers venv is looked for, the reference
subsampling, and :func:`run_cvm`'s round trip through the driver (here with a stand-in ``alibi_detect``; the
real one in ``.venv-peers`` when it exists), its refusals and its failures named without a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from camdrift.calibration.bench import peer_cvm
from tests.calibration.bench.test_peer_cvm_driver import stub_alibi


def test_peers_python_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMDRIFT_PEERS_VENV", str(tmp_path / "absent"))
    assert peer_cvm.peers_python() is None
    py = tmp_path / "venv" / "bin" / "python"
    py.parent.mkdir(parents=True)
    py.write_text("")
    monkeypatch.setenv("CAMDRIFT_PEERS_VENV", str(tmp_path / "venv"))
    assert peer_cvm.peers_python() == py
    monkeypatch.delenv("CAMDRIFT_PEERS_VENV")
    assert peer_cvm.peers_python(root=tmp_path) is None  # <root>/.venv-peers


def test_subsample_keeps_first_and_last_rows_evenly_spaced() -> None:
    rows = np.arange(1000.0)[:, None]
    sub = peer_cvm.subsample(rows, 5)
    np.testing.assert_array_equal(sub[:, 0], [0, 250, 500, 749, 999])
    short = rows[:3]
    assert peer_cvm.subsample(short, 5) is short  # a reference shorter than n_ref is used whole


def test_run_cvm_round_trip_through_the_driver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(stub_alibi(tmp_path)))
    step = np.zeros((20, 2))
    step[8:12, 0] = 5.0
    refs = {"a": np.zeros((400, 2)), "b": np.full((400, 2), 5.0)}
    streams = {"step": ("a", step), "b_vs_b": ("b", np.full((4, 2), 5.0))}
    r = peer_cvm.run_cvm(
        refs, streams, Path(sys.executable), ert=500, window_sizes=(2, 4), n_bootstraps=60, n_ref=100
    )
    assert r.alarms == {"step": (9, 11), "b_vs_b": ()}
    assert (r.version, r.n_ref, r.frames, r.window_sizes, r.n_bootstraps, r.ert) == (
        "stub",
        100,
        24,
        (2, 4),
        60,
        500.0,
    )


def test_run_cvm_refusals_and_driver_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = {"a": np.zeros((10, 1))}
    with pytest.raises(ValueError, match="may not contain '__'"):
        peer_cvm.run_cvm(a, {"x__y": ("a", np.zeros((3, 1)))}, Path(sys.executable))
    with pytest.raises(ValueError, match="unknown reference group 'b'"):
        peer_cvm.run_cvm(a, {"x": ("b", np.zeros((3, 1)))}, Path(sys.executable))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # no alibi_detect there
    with pytest.raises(RuntimeError, match=r"alibi-detect peer failed \(exit 1\): .*alibi_detect"):
        peer_cvm.run_cvm(a, {"x": ("a", np.zeros((3, 1)))}, Path(sys.executable))


@pytest.mark.slow
@pytest.mark.skipif(peer_cvm.peers_python() is None, reason=".venv-peers absent (run scripts/peers-venv)")
def test_cvm_driver_in_the_peers_venv_catches_a_step_and_reuses_thresholds() -> None:
    rng = np.random.default_rng(11)
    refs = {"a": rng.normal(0, 1, (400, 3)), "b": rng.normal(5, 1, (400, 3))}
    step = rng.normal(0, 1, (300, 3))
    step[200:, 0] += 3.0
    near_b = rng.normal(5, 1, (100, 3))
    streams = {"step": ("a", step), "b_vs_b": ("b", near_b), "b_vs_a": ("a", near_b)}
    r = peer_cvm.run_cvm(
        refs, streams, peer_cvm.peers_python(), ert=500, window_sizes=(10, 20), n_bootstraps=6000, n_ref=200
    )
    assert r.version == "0.13.0" and r.n_ref == 200 and r.frames == 500
    assert any(200 <= i <= 215 for i in r.alarms["step"])
    assert len([i for i in r.alarms["step"] if i >= 200]) > 3 * len([i for i in r.alarms["step"] if i < 200])
    # the second reference got the first one's thresholds with its own data: b is quiet against b, not against a
    assert r.alarms["b_vs_a"] and r.alarms["b_vs_a"][0] <= 10  # the first 10-frame window is full at index 9
    assert len(r.alarms["b_vs_b"]) <= 1
