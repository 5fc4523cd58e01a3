"""The real daemon with ``[activations]`` on: it runs the calibrated model (a tiny NHWC ONNX model built here)
every n-th analysed frame and publishes the activation group's state; another model file is refused at start
naming both hashes."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from camdrift.agent.frames import Frame
from camdrift.agent.model.runner import ModelRunner, Preprocess
from camdrift.agent.model.sampling import ActivationSampler
from camdrift.agent.output.sinks import read_jsonl
from camdrift.agent.reference.baseline import load_baseline, save_baseline
from camdrift.agent.runtime.pipeline import Pipeline
from camdrift.agent.sim.line import ProductionLine
from camdrift.calibration.calibrate.activation_reference import calibrate_activations
from tests.agent.drift_fixtures import SIZE, small_baseline
from tests.agent.model_fixtures import tiny_nhwc_model

SCHEMA = json.loads((Path(__file__).resolve().parents[3] / "agent/schema/messages.schema.json").read_text())
PRE = Preprocess(size=(32, 32), mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), layout="nhwc")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("act-daemon")
    model = tmp / "tiny.onnx"
    tiny_nhwc_model(model)
    line = ProductionLine(seed=3, width=SIZE[0], height=SIZE[1])
    b, _ = calibrate_activations(
        small_baseline(),
        (line.frame(i) for i in range(600)),
        ModelRunner(model, "relu", PRE),
        every_n=2,
        window=8,
        n_replicates=300,
    )
    assert b.activations.output == "relu"
    save_baseline(b, tmp / "baseline.npz")
    return tmp / "baseline.npz", model


def config(tmp: Path, baseline: Path, model: Path) -> Path:
    cfg = tmp / "cam.toml"
    cfg.write_text(
        '[camera]\nid = "cam1"\n[source]\nuri = "synthetic:stationary?seed=4&frames=120&size=160x120"\n'
        f'[baseline]\npath = "{baseline}"\n[state]\ndir = "{tmp}/state"\n[sinks.jsonl]\npath = "{tmp}/out.jsonl"\n'
        f'[sinks.console]\nenabled = false\n[activations]\nenabled = true\nmodel = "{model}"\n'
    )
    return cfg


def run(cfg: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "camdrift.agent.cli", "run", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_daemon_runs_the_model_and_publishes_the_activation_group(setup, tmp_path: Path) -> None:
    baseline, model = setup
    res = run(config(tmp_path, baseline, model))
    assert res.returncode == 0, res.stderr
    docs = read_jsonl(tmp_path / "out.jsonl")
    for doc in docs:
        jsonschema.validate(doc, SCHEMA)
    states = [d for d in docs if d["schema"].startswith("camdrift.state/")]
    assert states
    groups = states[-1]["groups"]
    # 120 frames, one summary every 2: the 8-sample window filled and was scored
    assert groups["act.psi"]["verdict"] in ("ok", "warning") and groups["act.psi"]["score"] is not None
    assert groups["act.mahalanobis"]["threshold"] > 0


def test_another_model_file_is_refused_naming_both_hashes(setup, tmp_path: Path) -> None:
    baseline, _ = setup
    other = tmp_path / "other.onnx"
    tiny_nhwc_model(other, seed=9)
    res = run(config(tmp_path, baseline, other))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    want = load_baseline(baseline).activations.model_sha256
    assert want[:16] in res.stderr and ModelRunner(other, "relu", PRE).sha256[:16] in res.stderr
    no_group = tmp_path / "plain.npz"
    save_baseline(dataclasses.replace(load_baseline(baseline), activations=None), no_group)
    res = run(config(tmp_path, no_group, other))
    assert res.returncode == 2 and "no activation group" in res.stderr


def test_pipeline_uses_the_apps_activations_and_counts_bad_ones(setup) -> None:
    """Activations handed over with the frame (as the tap delivers them) are used instead of a model run; a
    NaN vector from the app is counted and skipped."""
    baseline, model = setup
    b = load_baseline(baseline)
    app_model = ModelRunner(model, "relu", PRE)  # the app computes the same tensor itself
    sampler = ActivationSampler(ModelRunner(model, "relu", PRE), every_n=b.activations.every_n)
    pipe = Pipeline(b, camera_id="cam1", sinks=[], activations=sampler)
    line = ProductionLine(seed=8, width=SIZE[0], height=SIZE[1])
    for i in range(40):
        image = line.frame(i)
        act = app_model.features(image).astype(np.float32) if i < 30 else np.full(8, np.nan, np.float32)
        pipe.analyse(Frame(image, i, line.time(i), "bgr8", activations=act))
    m = pipe.engine.activations
    assert sampler.model_runs == 0 and sampler.app_provided == 20
    assert m.samples == 15 and dict(m.rejected) == {"nonfinite": 5}
    assert m.full and m.last is not None


def test_without_a_sampler_the_activation_group_is_not_watched(setup) -> None:
    """A baseline with the group, an agent with activations off: no act.* group that would warm up forever."""
    b = load_baseline(setup[0])
    pipe = Pipeline(b, camera_id="cam1", sinks=[])
    assert pipe.engine.activations is None
    assert not [g for g in pipe.group_states() if g.group.startswith("act.")]
