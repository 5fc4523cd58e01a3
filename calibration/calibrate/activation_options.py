"""``camdrift calibrate --model PATH --model-output TENSOR``: the options that add the activation group to a
baseline, and the plan that carries them through a capture.

Preprocessing comes from the ``[activations]`` section of ``--config`` (see ``systemd/camdrift.example.toml``)
with the ``--model-*`` flags on top; the agent later runs exactly what the baseline records. During the capture,
:meth:`ActivationPlan.on_frame` runs the model on every ``every_n``-th captured frame (the agent's live sampling);
after the quality gates, :meth:`ActivationPlan.add_group` fits the group on the summaries of the kept frames.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections import Counter

import numpy as np

from camdrift.agent.config import ActivationsConfig, ConfigError, load_config, triple
from camdrift.agent.frames import Frame
from camdrift.agent.model.runner import ModelError, ModelRunner, Preprocess
from camdrift.agent.reference.baseline import Baseline
from camdrift.calibration.calibrate.activation_reference import ModelIdentity, build_activation_reference
from camdrift.calibration.calibrate.thresholds import Budget
from camdrift.calibration.options import UsageError, bounded_float, bounded_int


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WxH, e.g. 224x224, got {text[:40]!r}") from None
    if not (1 <= w <= 4096 and 1 <= h <= 4096):
        raise argparse.ArgumentTypeError(f"expected WxH with 1..4096 px each, got {text[:40]!r}")
    return w, h


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("activation group (content drift from a vision model's features)")
    g.add_argument("--model", metavar="PATH", help="ONNX model whose activations are watched")
    g.add_argument(
        "--model-output", metavar="TENSOR", help="tensor to summarise (graph output or intermediate)"
    )
    g.add_argument(
        "--model-every-n", type=bounded_int(1, 10_000), help="model runs on every n-th frame (default 5)"
    )
    g.add_argument(
        "--model-window", type=bounded_int(1, 100_000), default=24, help="window, activation samples (24)"
    )
    g.add_argument("--model-threads", type=bounded_int(1, 256), help="onnxruntime threads (default 1)")
    g.add_argument("--model-size", type=_size, metavar="WxH", help="model input size (default 224x224)")
    g.add_argument("--model-colour", choices=("rgb", "bgr"), help="channel order the model expects (rgb)")
    g.add_argument(
        "--model-scale",
        type=bounded_float(0, 1e6, lo_open=True),
        help="multiplies 0..255 pixel values (default 1/255)",
    )
    g.add_argument("--model-mean", metavar="R,G,B", help="per-channel mean after scale (ImageNet's)")
    g.add_argument("--model-std", metavar="R,G,B", help="per-channel std after scale (ImageNet's)")
    g.add_argument("--model-layout", choices=("nchw", "nhwc"), help="input tensor layout (nchw)")
    g.add_argument("--model-dtype", choices=("float32", "float16", "uint8"), help="input dtype (float32)")
    g.add_argument("--model-output-layout", choices=("nchw", "nhwc"), help="layout of a 4-D output (nchw)")


class ActivationPlan:
    """The model run during a capture: collects one summary per ``every_n`` captured frames (refused outputs
    counted by reason), then fits the activation group."""

    def __init__(self, runner: ModelRunner, every_n: int, window: int) -> None:
        self.runner = runner
        self.every_n = every_n
        self.window = window
        self.index: list[int] = []  # captured-frame index of each summary
        self.rows: list[np.ndarray] = []
        self.rejected: Counter[str] = Counter()
        self._seen = 0

    def on_frame(self, frame: Frame) -> None:
        i = self._seen
        self._seen += 1
        if i % self.every_n:
            return
        try:
            self.rows.append(self.runner.features(frame.image, frame.pixel_format))
            self.index.append(i)
        except ModelError as exc:
            reason = str(exc).split(":", 1)[0]
            if reason not in (
                "nonfinite",
                "wrong_shape",
            ):  # the preprocessing does not fit the model: stop now
                raise UsageError(f"--model: {exc}") from None
            self.rejected[reason] += 1

    def add_group(
        self,
        baseline: Baseline,
        keep: np.ndarray | None = None,
        *,
        n_replicates: int = 2000,
        budget_days: float = 30.0,
    ) -> Baseline:
        """``baseline`` with the activation group fitted on the summaries of frames that ``keep`` (bool over
        captured frames, from the quality gates) retains; ValueError naming why it cannot be fitted. The group's
        window is the plan's, its rate and seed the baseline's; n_replicates, budget_days as in :class:`Budget`."""
        rows = [
            r
            for i, r in zip(self.index, self.rows, strict=True)
            if keep is None or (i < len(keep) and keep[i])
        ]
        widths = Counter(len(r) for r in rows)
        if not widths:
            raise ValueError(f"the model gave no usable output ({dict(self.rejected) or 'no frame sampled'})")
        width = widths.most_common(1)[0][0]
        th = baseline.thresholds
        budget = Budget(
            window=self.window, fps=th.fps, budget_days=budget_days, n_replicates=n_replicates, seed=th.seed
        )
        ref = build_activation_reference(
            np.stack([r for r in rows if len(r) == width]),
            model=ModelIdentity.of(self.runner),
            budget=budget,
            every_n=self.every_n,
        )
        return dataclasses.replace(baseline, activations=ref)


def plan_from_args(args: argparse.Namespace) -> ActivationPlan | None:
    """The plan of ``--model``/``--model-output`` (preprocessing from ``--config``'s [activations], flags on
    top), or None without ``--model``. Raises :class:`UsageError` naming the option or file."""
    if getattr(args, "model", None) is None:
        if getattr(args, "model_output", None) is not None:
            raise UsageError("--model-output needs --model PATH")
        return None
    section = ActivationsConfig()
    if getattr(args, "config", None):
        try:
            section = load_config(args.config).activations
        except ConfigError as exc:
            raise UsageError(f"configuration error: {exc}") from None
    output = args.model_output or section.output
    if output is None:
        raise UsageError("--model needs --model-output TENSOR (or [activations] output in --config)")
    pre = section.preprocess_args()
    for flag, key in (
        ("model_size", "size"),
        ("model_colour", "colour"),
        ("model_scale", "scale"),
        ("model_layout", "layout"),
        ("model_dtype", "dtype"),
    ):
        if getattr(args, flag, None) is not None:
            pre[key] = getattr(args, flag)
    for flag, key in (("model_mean", "mean"), ("model_std", "std")):
        if getattr(args, flag, None) is not None:
            try:
                pre[key] = triple(getattr(args, flag))
            except ValueError:
                raise UsageError(f"--{flag.replace('_', '-')} must be three numbers R,G,B") from None
    try:
        runner = ModelRunner(
            args.model,
            output,
            Preprocess(**pre),
            threads=args.model_threads or section.threads,
            output_layout=args.model_output_layout or section.output_layout,
        )
    except ModelError as exc:
        raise UsageError(f"--model: {exc}") from None
    return ActivationPlan(runner, args.model_every_n or section.every_n, args.model_window)


def summary_lines(b: Baseline, plan: ActivationPlan, indent: str = "  ") -> list[str]:
    a = b.activations
    lines = [
        f"{indent}activation group: {a.model_name} tensor {a.output!r} (sha256 {a.model_sha256[:16]}...), "
        f"{a.sample_count} samples (every {a.every_n} frames), {a.n_channels} channels -> {a.n_components} "
        f"components ({float(a.explained.sum()):.0%} of the variance), window {a.window} samples",
    ]
    for name, w, d in zip(a.names, a.warn, a.drift, strict=True):
        unit = {"act.psi": "nats (mean PSI)", "act.mahalanobis": "Mahalanobis distance"}.get(
            name, "|z| (rise)"
        )
        lines.append(f"{indent}  {name:<22} {w:9.4g} {d:9.4g}  {unit}")
    if plan.rejected:
        lines.append(f"{indent}  model outputs refused: {dict(plan.rejected)}")
    return lines


__all__ = ["ActivationPlan", "add_model_arguments", "plan_from_args", "summary_lines"]
