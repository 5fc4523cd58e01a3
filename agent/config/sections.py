"""The configuration's sections: one frozen dataclass per TOML table, with its keys, types and defaults.

Every key and its default is documented in ``systemd/camdrift.example.toml`` (a test keeps the two in step).
The loader (:mod:`camdrift.agent.config.loader`) reads field names, types and defaults from these dataclasses,
so a section grows by adding a typed field with a default (and, for a range or pattern, a check from
:mod:`camdrift.agent.config.checks`): supported types are str, int, float, bool, ``X | None``, ``Literal[...]``
and the (x, y, w, h) ROI. A section's :meth:`ConfigSection.problems` names what is wrong across its keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from camdrift.agent.config.checks import (
    checked,
    in_range,
    nonempty,
    number_triple,
    pattern,
    source_uri,
    via_topics,
)


class ConfigSection:
    """What every section offers the loader: the problems across its keys (none unless it says so)."""

    def problems(self) -> list[tuple[str, str]]:
        """(key, message) for each combination of values that cannot work; the loader raises the first."""
        return []


PixelFormat = Literal["bgr8", "rgb8", "gray8", "gray16", "nv12"]
Roi = tuple[int, int, int, int]
_GIB = 1 << 30


@dataclass(frozen=True)
class CameraConfig(ConfigSection):
    id: str = checked(via_topics("validate_camera_id"), "cam0")


@dataclass(frozen=True)
class SourceConfig(ConfigSection):
    uri: str = checked(source_uri)  # required
    pixel_format: PixelFormat = "bgr8"
    bit_depth: int | None = checked(in_range(9, 16), None)  # gray16 only
    roi: Roi | None = None  # (x, y, w, h) pixels
    stall_timeout: float = checked(in_range(0, 3600, lo_open=True, floor=1e-3), 10.0)  # s
    backoff_initial: float = checked(in_range(0, 3600, lo_open=True, floor=1e-3), 0.5)  # s
    backoff_max: float = checked(in_range(0, 86400, lo_open=True, floor=1e-3), 30.0)  # s

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if self.pixel_format == "gray16" and self.bit_depth is None:
            out.append(("bit_depth", "required when pixel_format is gray16 (9..16)"))
        if self.pixel_format != "gray16" and self.bit_depth is not None:
            out.append(("bit_depth", f"only applies to gray16, not {self.pixel_format}"))
        if self.pixel_format != "bgr8":
            problem = source_uri(self.uri, self.pixel_format)
            if problem:
                out.append(("pixel_format", problem))
        if self.backoff_max < self.backoff_initial:
            out.append(
                (
                    "backoff_max",
                    f"must be >= backoff_initial ({self.backoff_initial:g}), got {self.backoff_max:g}",
                )
            )
        return out


@dataclass(frozen=True)
class AnalysisConfig(ConfigSection):
    max_fps: float = checked(
        in_range(0, 120, lo_open=True, floor=1e-3), 5.0
    )  # analysed frames per second of stream time
    cpu_budget: float = checked(in_range(0, 1, lo_open=True, floor=1e-3), 0.15)  # fraction of one core
    stride: int = checked(in_range(1, 64), 1)  # pixel stride
    numba_threads: int = checked(in_range(1, 64), 1)


@dataclass(frozen=True)
class BaselineConfig(ConfigSection):
    path: str | None = checked(nonempty, None)


@dataclass(frozen=True)
class StateConfig(ConfigSection):
    dir: str = checked(nonempty, "/var/lib/camdrift")


@dataclass(frozen=True)
class JsonlSinkConfig(ConfigSection):
    path: str | None = checked(nonempty, None)  # None: off


@dataclass(frozen=True)
class ConsoleSinkConfig(ConfigSection):
    enabled: bool = True
    format: Literal["text", "json"] = "text"


@dataclass(frozen=True)
class SinksConfig(ConfigSection):
    jsonl: JsonlSinkConfig = field(default_factory=JsonlSinkConfig)
    console: ConsoleSinkConfig = field(default_factory=ConsoleSinkConfig)


@dataclass(frozen=True)
class HomeAssistantConfig(ConfigSection):
    """``[mqtt.homeassistant]``: Home Assistant MQTT discovery, off by default."""

    enabled: bool = False
    prefix: str = checked(via_topics("validate_prefix"), "homeassistant")  # Home Assistant's discovery prefix


_SPARKPLUG_ID = pattern(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", "1..64 of A-Z a-z 0-9 _ . - (one topic level)")


@dataclass(frozen=True)
class SparkplugConfig(ConfigSection):
    """``[mqtt.sparkplug]``: the edge box as a Sparkplug B edge node, the camera as its device; off by default."""

    enabled: bool = False
    group_id: str = checked(_SPARKPLUG_ID, "camdrift")
    edge_node_id: str | None = checked(_SPARKPLUG_ID, None)  # None: <mqtt.site>-<camera.id>
    primary_host_id: str | None = checked(_SPARKPLUG_ID, None)  # born only while this host is online


@dataclass(frozen=True)
class MqttConfig(ConfigSection):
    """The ``[mqtt]`` section; ``host`` unset means MQTT is off. The MQTT sink may add fields here."""

    host: str | None = checked(pattern(r"[^\s/]+", "a host name or address"), None)
    port: int | None = checked(in_range(1, 65535), None)  # None: 8883 with TLS, else 1883
    prefix: str | None = checked(via_topics("validate_prefix"), None)  # None: camdrift/<site>
    site: str = checked(
        pattern(r"[^\s/+#$][^\s/+#]{0,63}", "one topic level without / + # or spaces"), "default"
    )
    client_id: str | None = checked(pattern(r"[!-~]{1,128}", "1..128 printable ASCII characters"), None)
    username: str | None = checked(nonempty, None)
    password_file: str | None = checked(nonempty, None)
    tls_ca: str | None = checked(nonempty, None)
    tls_cert: str | None = checked(nonempty, None)
    tls_key: str | None = checked(nonempty, None)
    tls_key_password_file: str | None = checked(nonempty, None)  # for an encrypted tls_key (never prompted)
    tls: bool = False  # TLS with the system's CAs when tls_ca is not set
    tls_insecure: bool = False
    protocol: Literal["5", "3.1.1"] = "5"
    keepalive: int = checked(in_range(5, 65535), 30)  # s
    # s: the first wait after the broker is lost, and the cap of the doubling waits
    reconnect_min_s: float = checked(in_range(0, 3600, lo_open=True, floor=1e-3), 0.5)
    reconnect_max_s: float = checked(in_range(0, 3600, lo_open=True, floor=1e-3), 4.0)
    outbox_max_rows: int = checked(in_range(1, 10**9), 100_000)
    outbox_max_bytes: int = checked(in_range(1 << 16, 1 << 40), 64 << 20)
    commands: bool = True  # listen on <prefix>/<camera>/command (refresh, capture, ack)
    snapshot: bool = False  # publish each episode's evidence JPEG retained on <prefix>/<camera>/snapshot
    snapshot_max_bytes: int = checked(in_range(4096, 16 << 20), 256 << 10)
    homeassistant: HomeAssistantConfig = field(default_factory=HomeAssistantConfig)
    sparkplug: SparkplugConfig = field(default_factory=SparkplugConfig)

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if self.password_file is not None and self.username is None:
            out.append(("password_file", "needs username"))
        if self.tls_key is not None and self.tls_cert is None:
            out.append(("tls_key", "needs tls_cert (the client certificate)"))
        if self.reconnect_max_s < self.reconnect_min_s:
            out.append(("reconnect_max_s", f"must be >= reconnect_min_s ({self.reconnect_min_s:g})"))
        return out


@dataclass(frozen=True)
class EvidenceConfig(ConfigSection):
    dir: str | None = checked(nonempty, None)  # None: <state.dir>/evidence
    max_bytes: int = checked(in_range(0, 1 << 40), _GIB // 4)  # 0: keep no evidence
    rate: float = checked(
        in_range(0, 3600), 12.0
    )  # captures per hour of one episode at most (flags: each kept)


def triple(text: str) -> tuple[float, float, float]:
    """ "0.485, 0.456, 0.406" -> (0.485, 0.456, 0.406)."""
    a, b, c = (float(v) for v in text.split(","))
    return a, b, c


@dataclass(frozen=True)
class ActivationsConfig(ConfigSection):
    """The ``[activations]`` section: the model whose activations are watched (content drift).

    The agent runs the model and preprocessing recorded in the baseline (calibrate --model); the preprocessing
    keys here are what ``camdrift calibrate`` records. Compute objects get plain values (:meth:`preprocess`).
    """

    enabled: bool = False
    model: str | None = checked(nonempty, None)  # path of the .onnx file (must be the calibrated one)
    output: str | None = checked(nonempty, None)  # tensor to summarise; None: the baseline's
    output_layout: Literal["nchw", "nhwc"] = "nchw"  # layout of a 4-D output tensor
    every_n: int = checked(in_range(1, 10_000), 5)  # the model runs on every n-th analysed frame
    threads: int = checked(in_range(1, 64), 1)  # onnxruntime intra- and inter-op threads
    input_width: int = checked(in_range(1, 8192), 224)
    input_height: int = checked(in_range(1, 8192), 224)
    crop: Roi | None = None  # (x, y, w, h) frame pixels cut before resizing; None: whole frame
    colour: Literal["rgb", "bgr"] = "rgb"  # channel order the model expects
    scale: float = checked(in_range(0, 1e6, lo_open=True), 1.0 / 255.0)  # multiplies 0..255 pixel values
    mean: str = checked(number_triple, "0.485, 0.456, 0.406")
    std: str = checked(number_triple, "0.229, 0.224, 0.225")
    layout: Literal["nchw", "nhwc"] = "nchw"  # input tensor layout
    dtype: Literal["float32", "float16", "uint8"] = "float32"  # input tensor dtype

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if self.enabled and self.model is None:
            out.append(("model", "needed when activations are enabled"))
        for key in ("mean", "std"):
            try:
                values = triple(getattr(self, key))
            except ValueError:
                out.append((key, f"must be three comma-separated numbers, got {getattr(self, key)!r}"))
                continue
            if key == "std" and min(values) <= 0:
                out.append(("std", "must be three positive numbers"))
        return out

    def preprocess_args(self) -> dict[str, Any]:
        """Keyword arguments of :class:`camdrift.agent.model.Preprocess` (kept import-free here)."""
        return {
            "size": (self.input_width, self.input_height),
            "crop": self.crop,
            "colour": self.colour,
            "scale": self.scale,
            "mean": triple(self.mean),
            "std": triple(self.std),
            "layout": self.layout,
            "dtype": self.dtype,
        }


@dataclass(frozen=True)
class Config(ConfigSection):
    source: SourceConfig  # required: source.uri has no default
    camera: CameraConfig = field(default_factory=CameraConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    state: StateConfig = field(default_factory=StateConfig)
    sinks: SinksConfig = field(default_factory=SinksConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    evidence: EvidenceConfig = field(default_factory=EvidenceConfig)
    activations: ActivationsConfig = field(default_factory=ActivationsConfig)
