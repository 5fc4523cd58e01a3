"""The activation sampler: one summary per ``every_n`` analysed frames, the app's own activations used instead
of the model's, failures named by reason (``nonfinite``, ``wrong_shape``, ``model_error``) so the monitor counts
them, and a model other than the baseline's refused naming both hashes."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from camdrift.agent.frames import Frame
from camdrift.agent.model.runner import ModelError, ModelRunner
from camdrift.agent.model.sampling import ActivationSampler
from camdrift.agent.reference.activation_baseline import ModelMismatchError
from tests.agent.model_fixtures import TINY, tiny_nhwc_model


def test_one_summary_per_every_n_analysed_frames(tiny, photo) -> None:
    path, _ = tiny
    sampler = ActivationSampler(ModelRunner(path, "pooled", TINY), every_n=3)
    taken = [sampler.summary(Frame(photo, i, i / 5, "bgr8")) is not None for i in range(9)]
    assert taken == [True, False, False] * 3
    assert sampler.model_runs == 3 and sampler.model_seconds > 0.0
    assert ActivationSampler(None, every_n=1).summary(Frame(photo, 0, 0.0, "bgr8")) is None  # nothing to run
    with pytest.raises(ValueError, match="every_n must be >= 1"):
        ActivationSampler(None, every_n=0)


class _FailingRunner:
    """A model runner whose run fails the way onnxruntime can (a message without a reason prefix)."""

    sha256, path = "0" * 64, "broken.onnx"

    def features(self, image: np.ndarray, pixel_format: str = "bgr8") -> np.ndarray:
        raise ModelError("onnxruntime: invalid input")


def test_a_failing_model_run_is_named_model_error(photo) -> None:
    sampler = ActivationSampler(_FailingRunner(), every_n=1)
    with pytest.raises(ModelError, match="^model_error: onnxruntime: invalid input"):
        sampler.summary(Frame(photo, 0, 0.0, "bgr8"))
    assert sampler.model_runs == 1


def test_app_activations_are_used_instead_of_the_model(tiny, photo) -> None:
    path, _ = tiny
    sampler = ActivationSampler(ModelRunner(path, "pooled", TINY), every_n=1)
    given = np.linspace(0, 1, 8, dtype=np.float32)
    out = sampler.summary(Frame(photo, 0, 0.0, "bgr8", activations=given))
    np.testing.assert_array_equal(out, given.astype(np.float64))
    assert sampler.model_runs == 0 and sampler.app_provided == 1
    with pytest.raises(ModelError, match="^wrong_shape"):
        sampler.summary(Frame(photo, 1, 0.2, "bgr8", activations=np.zeros((2, 4), np.float32)))


def test_model_hash_mismatch_is_refused_naming_both_hashes(tiny, tmp_path, activation_reference) -> None:
    path, _ = tiny
    other = tmp_path / "other.onnx"
    tiny_nhwc_model(other, seed=5)
    runner = ModelRunner(other, "pooled", TINY)
    ref = activation_reference
    assert ref.model_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ModelMismatchError) as exc:
        ActivationSampler(runner).check(ref)
    assert runner.sha256[:16] in str(exc.value) and ref.model_sha256[:16] in str(exc.value)
    ActivationSampler(ModelRunner(path, "pooled", TINY)).check(ref)  # the calibrated model passes
    with pytest.raises(ModelError, match="no activation group"):
        ActivationSampler(runner).check(None)


@pytest.fixture(scope="module")
def activation_reference(tiny):
    """An activation group calibrated on the tiny model's pooled features over real-photo frames."""
    from camdrift.agent.sim.line import ProductionLine
    from camdrift.calibration.calibrate.activation_reference import (
        ModelIdentity,
        build_activation_reference,
        reference_features,
    )
    from camdrift.calibration.calibrate.thresholds import Budget

    path, _ = tiny
    runner = ModelRunner(path, "pooled", TINY)
    line = ProductionLine(seed=4, width=160, height=120)
    feats, rejected = reference_features(runner, (line.frame(i) for i in range(200)), every_n=2)
    assert not rejected
    return build_activation_reference(
        feats,
        model=ModelIdentity(runner.sha256, path.name, "pooled", TINY),
        budget=Budget(window=8, n_replicates=300),
        every_n=2,
    )
