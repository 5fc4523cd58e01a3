"""The activation group inside a baseline file: it round-trips exactly, a baseline without it loads and hashes as
before, and the agent refuses a model file other than the calibrated one, naming both."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from camdrift.agent.model.runner import Preprocess
from camdrift.agent.reference.activation_baseline import (
    STATISTICS,
    ActivationReference,
    ModelMismatchError,
    from_parts,
    to_parts,
)
from camdrift.agent.reference.baseline import load_baseline, save_baseline
from tests.agent.drift_fixtures import small_baseline


def _reference(k: int = 3, c: int = 5, b: int = 4) -> ActivationReference:
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(c, k)))[0]
    return ActivationReference(
        model_sha256="ab" * 32,
        model_name="m.onnx",
        output="feat",
        output_layout="nhwc",
        preprocess=Preprocess(size=(32, 32), colour="bgr"),
        every_n=5,
        window=10,
        alpha=0.5,
        sample_count=100,
        mean=rng.normal(size=c),
        basis=basis,
        explained=np.array([0.5, 0.3, 0.1]),
        edges=np.sort(rng.normal(size=(k, b + 1)), axis=1),
        ref_counts=rng.integers(1, 30, (k, b)).astype(np.float64),
        proj_mean=np.zeros(k),
        proj_cov=np.eye(k),
        residual_mean=0.25,
        residual_sd=0.05,
        drift=np.array([0.9, 4.1, 6.3]),
        warn=np.array([0.8, 3.8, 5.3]),
        null_scale=np.array([0.3, 5.0, 1.0]),
        budget="one per 30 days at 1 activation samples/s (own budget)",
        level=1e-6,
        notes=("fitted",),
    )


def test_parts_round_trip_exactly_and_the_header_is_plain_json() -> None:
    ref = _reference()
    header, arrays = to_parts(ref)
    json.dumps(header)  # no numpy or dataclass objects in the header
    assert set(arrays) == {
        f"act.{name}"
        for name in (
            "mean",
            "basis",
            "explained",
            "edges",
            "ref_counts",
            "proj_mean",
            "proj_cov",
            "drift",
            "warn",
            "null_scale",
        )
    }
    back = from_parts(json.loads(json.dumps(header)), arrays)
    for f in dataclasses.fields(ActivationReference):
        x, y = getattr(ref, f.name), getattr(back, f.name)
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)
        else:
            assert x == y, f.name
    assert (back.n_components, back.n_channels, back.names) == (3, 5, STATISTICS)


def test_baseline_with_activations_round_trips_and_old_files_load(tmp_path: Path) -> None:
    base = small_baseline()
    ref = _reference()
    b = dataclasses.replace(base, activations=ref)
    assert b.baseline_id != base.baseline_id  # the group is part of the content hash
    path = tmp_path / "b.npz"
    save_baseline(b, path)
    got = load_baseline(path).activations
    assert (
        got.preprocess == ref.preprocess and got.names == ref.names and got.model_sha256 == ref.model_sha256
    )
    for f in ("mean", "basis", "explained", "edges", "ref_counts", "proj_mean", "proj_cov", "drift", "warn"):
        np.testing.assert_array_equal(getattr(got, f), getattr(ref, f))
    assert load_baseline(path).baseline_id == b.baseline_id
    save_baseline(base, tmp_path / "plain.npz")
    assert load_baseline(tmp_path / "plain.npz").activations is None
    assert load_baseline(tmp_path / "plain.npz").baseline_id == base.baseline_id


def test_another_model_file_is_refused_naming_both() -> None:
    ref = _reference()
    ref.check_model("ab" * 32)
    with pytest.raises(
        ModelMismatchError, match=r"other\.onnx \(sha256 0000000000000000\.\.\.\).*m\.onnx, sha256 abab"
    ):
        ref.check_model("0" * 64, "other.onnx")
