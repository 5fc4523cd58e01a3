"""The model runner: preprocessing against a numpy reference, intermediate tensors exposed by the protobuf edit
(checked against onnx's own edit), NHWC models, NaN / wrong-shape outputs counted (the sampler's side, and the
model hash check, are in test_sampling.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from camdrift.agent.frames import Frame
from camdrift.agent.model.runner import (
    ModelError,
    ModelRunner,
    Preprocess,
    expose_output,
    file_sha256,
    summarise,
)
from camdrift.agent.model.sampling import ActivationSampler
from tests.agent.model_fixtures import (
    RAPID_GRAPH_OUTPUT,
    RAPID_OUTPUT,
    TINY,
    conv_relu_nchw,
    rapid_model_path,
    tiny_nhwc_model,
)


def test_preprocess_matches_a_numpy_reference(photo) -> None:
    p = Preprocess(
        size=(64, 48), crop=(10, 20, 200, 150), colour="rgb", mean=(0.1, 0.2, 0.3), std=(0.5, 0.6, 0.7)
    )
    x = p.apply(photo)
    assert x.shape == (1, 3, 48, 64) and x.dtype == np.float32
    ref = cv2.resize(photo[20:170, 10:210], (64, 48), interpolation=cv2.INTER_AREA)[:, :, ::-1].astype(
        np.float64
    )
    ref = (ref / 255.0 - np.array([0.1, 0.2, 0.3])) / np.array([0.5, 0.6, 0.7])
    np.testing.assert_allclose(x[0].transpose(1, 2, 0), ref, rtol=1e-5, atol=1e-5)
    nhwc = Preprocess(size=(64, 48), colour="bgr", layout="nhwc", dtype="uint8").apply(photo)
    assert nhwc.shape == (1, 48, 64, 3) and nhwc.dtype == np.uint8
    np.testing.assert_array_equal(nhwc[0], cv2.resize(photo, (64, 48), interpolation=cv2.INTER_AREA))


def test_preprocess_takes_every_pixel_format(photo) -> None:
    p = Preprocess(size=(32, 32))
    gray = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    nv12 = np.zeros((240 * 3 // 2, 320), np.uint8)
    nv12[:240] = gray
    nv12[240:] = 128
    for image, fmt in ((photo, "bgr8"), (photo[:, :, ::-1], "rgb8"), (gray, "gray8"), (nv12, "nv12")):
        assert p.apply(np.ascontiguousarray(image), fmt).shape == (1, 3, 32, 32)
    np.testing.assert_array_equal(
        p.apply(photo, "bgr8"), p.apply(np.ascontiguousarray(photo[:, :, ::-1]), "rgb8")
    )


@pytest.mark.parametrize(
    ("kwargs", "culprit"),
    [
        ({"layout": "nchwc"}, "layout"),
        ({"colour": "yuv"}, "colour"),
        ({"dtype": "int8"}, "dtype"),
        ({"std": (1.0, 0.0, 1.0)}, "std"),
        ({"size": (0, 10)}, "size"),
        ({"crop": (0, 0, 0, 5)}, "crop"),
    ],
)
def test_preprocess_refuses_bad_settings_naming_them(kwargs, culprit) -> None:
    with pytest.raises(ModelError, match=culprit):
        Preprocess(**kwargs)


def test_crop_outside_the_frame_is_refused(photo) -> None:
    with pytest.raises(ModelError, match="exceeds"):
        Preprocess(crop=(300, 0, 100, 100)).apply(photo)


def test_real_model_intermediate_tensor_matches_onnx_edit(photo, tmp_path) -> None:
    """The protobuf edit exposes the same tensor, with the same values, as onnx's own graph edit."""
    onnx = pytest.importorskip("onnx")
    path = rapid_model_path()
    runner = ModelRunner(path, RAPID_OUTPUT, Preprocess())
    assert runner.exposed and runner.sha256 == file_sha256(path)
    f = runner.features(photo)
    assert f.shape == (1280,) and f.dtype == np.float64 and np.isfinite(f).all()
    model = onnx.load(str(path))
    model.graph.output.append(onnx.ValueInfoProto(name=RAPID_OUTPUT))
    edited = tmp_path / "edited.onnx"
    onnx.save(model, str(edited))
    import onnxruntime as ort

    sess = ort.InferenceSession(str(edited), providers=["CPUExecutionProvider"])
    want = sess.run([RAPID_OUTPUT], {"x": Preprocess().apply(photo)})[0][0]
    np.testing.assert_allclose(f, want, rtol=1e-6, atol=1e-7)
    # the graph output still computes as before: the edit only added an output
    logits = ModelRunner(path, RAPID_GRAPH_OUTPUT, Preprocess())
    assert not logits.exposed
    np.testing.assert_allclose(
        logits.features(photo),
        sess.run([RAPID_GRAPH_OUTPUT], {"x": Preprocess().apply(photo)})[0][0],
        rtol=1e-6,
    )


def test_real_model_features_differ_between_real_objects() -> None:
    runner = ModelRunner(rapid_model_path(), RAPID_OUTPUT, Preprocess())
    cat = runner.features(np.ascontiguousarray(skdata.chelsea()[:, :, ::-1]))
    coffee = runner.features(np.ascontiguousarray(skdata.coffee()[:, :, ::-1]))
    cat2 = runner.features(np.ascontiguousarray(skdata.chelsea()[:, ::-1, ::-1]))  # mirrored cat
    assert np.linalg.norm(cat - cat2) < np.linalg.norm(cat - coffee)


def test_tiny_nhwc_model_intermediate_maps_pool_like_numpy(tiny, photo) -> None:
    path, w = tiny
    x = TINY.apply(photo)
    ref_map = conv_relu_nchw(x, w["conv"])  # (1, C, H, W)
    pooled = ref_map.mean(axis=(2, 3))[0]
    nchw = ModelRunner(path, "relu", TINY, output_layout="nchw")
    nhwc = ModelRunner(path, "feat_nhwc", TINY, output_layout="nhwc")
    assert nchw.exposed and nhwc.exposed
    np.testing.assert_allclose(nchw.features(photo), pooled, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(nhwc.features(photo), pooled, rtol=1e-4, atol=1e-5)
    head = ModelRunner(path, "logits", TINY)
    assert not head.exposed
    np.testing.assert_allclose(
        head.features(photo), pooled @ w["head"].astype(np.float64), rtol=1e-4, atol=1e-5
    )
    flat = ModelRunner(path, "pooled", TINY)
    np.testing.assert_allclose(flat.features(photo), pooled, rtol=1e-4, atol=1e-5)


def test_unknown_tensor_and_bad_file_are_refused_clearly(tiny, tmp_path) -> None:
    path, _ = tiny
    with pytest.raises(ModelError, match="'nope' is neither a graph output"):
        ModelRunner(path, "nope", TINY)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(ModelError, match="junk.onnx"):
        ModelRunner(junk, "logits", TINY)
    with pytest.raises(ModelError, match="cannot read model"):
        ModelRunner(tmp_path / "missing.onnx", "logits", TINY)
    with pytest.raises(ModelError, match="graph"):
        expose_output(b"\x08\x07", "x")  # a ModelProto with only ir_version


def test_nan_output_is_counted_and_never_reaches_the_statistics(tmp_path, photo) -> None:
    path = tmp_path / "nan.onnx"
    tiny_nhwc_model(path, nan=True)
    runner = ModelRunner(path, "logits", TINY)
    with pytest.raises(ModelError, match="^nonfinite"):
        runner.features(photo)
    sampler = ActivationSampler(runner, every_n=2)
    frame = Frame(photo, 0, 0.0, "bgr8")
    with pytest.raises(ModelError, match="^nonfinite"):
        sampler.summary(frame)
    assert sampler.summary(frame._replace(frame_index=1)) is None  # not due: no model run
    assert sampler.model_runs == 1


def test_summarise_refuses_wrong_shapes() -> None:
    with pytest.raises(ModelError, match="^wrong_shape"):
        summarise(np.zeros((2, 5), np.float32))
    with pytest.raises(ModelError, match="^wrong_shape"):
        summarise(np.zeros((1, 2, 3), np.float32))
    np.testing.assert_array_equal(summarise(np.arange(4, dtype=np.float32)), np.arange(4.0))
