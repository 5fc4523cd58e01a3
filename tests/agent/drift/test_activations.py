"""The activation monitor: bad summaries are counted by reason and never reach the window; the statistics mean
what the module says (Mahalanobis distance of the window mean, residual norms); a content change drives the
group into drift and is explained as "new product variant?" only while the pixel statistics hold."""

from __future__ import annotations

import numpy as np
import pytest

from camdrift.agent.drift.activations import ActivationMonitor, covariance_inverse, residuals
from camdrift.kernels.activations import project
from tests.agent.drift_fixtures import activation_features, activation_reference


def test_monitor_counts_bad_vectors_by_reason() -> None:
    ref = activation_reference()
    m = ActivationMonitor(ref)
    c = ref.n_channels
    m.update(np.full(c, np.nan))
    m.update(np.zeros(c + 1))
    m.update(np.zeros(c, np.int64))
    assert dict(m.rejected) == {"nonfinite": 1, "wrong_shape": 2} and m.filled == 0


def test_statistics_follow_their_definitions() -> None:
    ref = activation_reference(channels=40)  # 16 components: a residual to measure
    m = ActivationMonitor(ref)
    window = activation_features(ref.window, ref.n_channels, seed=11) + 0.5
    for f in window:
        m.update(f)
    assert m.full and m.samples == ref.window
    proj = project(window, ref.mean, ref.basis)
    d = proj.mean(axis=0) - ref.proj_mean
    assert m.last.mahalanobis == pytest.approx(float(np.sqrt(d @ np.linalg.pinv(ref.proj_cov) @ d)), rel=1e-9)
    np.testing.assert_allclose(covariance_inverse(ref.proj_cov), np.linalg.pinv(ref.proj_cov), atol=1e-9)
    centred = window - ref.mean
    naive = np.linalg.norm(centred - (centred @ ref.basis) @ ref.basis.T, axis=1)
    np.testing.assert_allclose(residuals(window, proj, ref.mean), naive, rtol=1e-9, atol=1e-9)
    z = (naive.mean() - ref.residual_mean) / (ref.residual_sd / np.sqrt(ref.window))
    assert m.last.residual_z == pytest.approx(z, rel=1e-9)
    assert m.last.scores[2] == pytest.approx(max(z, 0.0), rel=1e-9, abs=1e-12)


def test_a_content_change_drifts_and_is_read_as_a_new_variant_while_pixels_hold() -> None:
    ref = activation_reference(channels=40)
    m = ActivationMonitor(ref, persistence=2)
    stream = activation_features(60, ref.n_channels, seed=12)
    stream[30:] += 5.0 * np.sqrt(ref.proj_cov[1, 1]) * ref.basis[:, 1]  # the second component moves by 5 sd
    kinds = []
    for f in stream:
        kinds += [(t.kind, t.group) for t in m.update(f).transitions]
    assert ("drift", "act.mahalanobis") in kinds
    assert m.drift_detected and 1 in m.moved_components()
    held = m.cause(pixel_strength=0.4)
    assert (
        held.code == "content" and held.text.endswith("new product variant?") and held.score == m.strength()
    )
    along = m.cause(pixel_strength=3.0)
    assert "along with low-level changes" in along.text and along.score < held.score
    numbers = dict(m.numbers())
    assert numbers["act.mahalanobis"] == m.last.mahalanobis and "act.z2" in numbers


def test_statistics_report_warming_up_until_the_window_is_full() -> None:
    ref = activation_reference()
    m = ActivationMonitor(ref)
    assert all(s.warming_up and s.score is None and s.kind == "act" for s in m.statistics())
    for f in activation_features(ref.window, ref.n_channels, seed=13):
        m.update(f)
    stats = m.statistics()
    assert [s.name for s in stats] == list(ref.names)
    assert all(not s.warming_up and s.score is not None for s in stats)
    assert [s.threshold for s in stats] == [float(d) for d in ref.drift]
