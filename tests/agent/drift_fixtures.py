"""Small real inputs for the drift-engine tests: frames of the synthetic production line (real photographs),
their kernel statistics, and a baseline calibrated on them. Cached: each is computed once per test session."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from camdrift.agent.reference.baseline import Baseline
from camdrift.agent.sim.line import HEALTHY, Drift, ProductionLine
from camdrift.calibration.calibrate.build import Budget, build_baseline
from camdrift.kernels import FrameStats, KernelParams, frame_stats

SIZE = (160, 120)
KERNEL = {"thumb_size": (16, 16), "grid": 4}
WINDOW = 20
FPS = 5.0


def stats_of(seed: int, n: int, drift: Drift = HEALTHY, onset: int = 0, start: int = 0) -> list[FrameStats]:
    """Kernel statistics of frames ``start .. start+n-1`` of line ``seed``; ``drift`` from frame ``onset`` on."""
    line = ProductionLine(seed=seed, width=SIZE[0], height=SIZE[1], fps=FPS)
    return [
        frame_stats(line.frame(i, drift if i >= onset else HEALTHY), **KERNEL)
        for i in range(start, start + n)
    ]


@lru_cache(maxsize=4)
def small_baseline(seed: int = 3, n: int = 600, created_at: str = "2026-01-01T00:00:00+00:00") -> Baseline:
    return build_baseline(
        stats_of(seed, n),
        camera_id="cam-test",
        source=f"ProductionLine seed {seed}, {n} frames",
        kernel=KernelParams(resolution=SIZE, **KERNEL),
        budget=Budget(window=WINDOW, fps=FPS, n_replicates=400, seed=1),
        created_at=created_at,
    )


def activation_features(n: int, c: int, seed: int, rho: float = 0.6) -> np.ndarray:
    """(n, c) activation summaries with a few strong directions and AR(1) time correlation (like a video's).
    The directions are the same for every ``seed`` (one camera's content); the seed draws the noise."""
    mix = np.random.default_rng(0).normal(size=(c, c)) * np.linspace(3.0, 0.1, c)[:, None]
    rng = np.random.default_rng(seed)
    z = np.empty((n, c))
    z[0] = rng.normal(size=c)
    for i in range(1, n):
        z[i] = rho * z[i - 1] + np.sqrt(1 - rho * rho) * rng.normal(size=c)
    return z @ mix + 5.0


@lru_cache(maxsize=2)
def activation_reference(window: int = 8, channels: int = 12):
    """An activation group calibrated on synthetic summaries (no model file needed), every_n = 2."""
    from camdrift.agent.model.runner import Preprocess
    from camdrift.calibration.calibrate.activation_reference import ModelIdentity, build_activation_reference

    return build_activation_reference(
        activation_features(300, channels, seed=7),
        model=ModelIdentity("ab" * 32, "m.onnx", "feat", Preprocess()),
        budget=Budget(window=window, n_replicates=300),
        every_n=2,
    )


def classifier_outputs(n: int, seed: int, confidence_drop: float = 0.0, classes: int = 3) -> list:
    """A classifier's outputs on a belt of products that come in runs (a class persists ~10 frames), its
    logit margin lowered by ``confidence_drop`` (what a lamp ageing or a smudge does to the model)."""
    from camdrift.agent.predictions.outputs import classification

    rng = np.random.default_rng(seed)
    out, state = [], int(rng.integers(classes))
    for _ in range(n):
        if rng.random() < 0.1:
            state = int(rng.integers(classes))
        logits = rng.normal(0.0, 1.0, classes)
        logits[state] += 3.0 - confidence_drop
        p = np.exp(logits)
        out.append(classification(p / p.sum()))
    return out


@lru_cache(maxsize=2)
def output_reference(window: int = 8):
    """An output group calibrated on a simulated classifier's outputs (600 frames, classes named)."""
    from camdrift.calibration.calibrate.output_reference import build_output_reference

    return build_output_reference(
        classifier_outputs(600, seed=11),
        budget=Budget(window=window, fps=FPS, n_replicates=400),
        class_names=("ok", "scratch", "dent"),
    )
