"""What the pipeline keeps when the app hands over its model's outputs: an input episode says what the model
did over the same frames, its capture keeps each frame's outputs and the agent's context, and the output group
raises its own episode when the model loses confidence while the pixels hold."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from camdrift.agent.frames import Frame
from camdrift.agent.output.events import Event
from camdrift.agent.output.evidence import EvidenceSpool
from camdrift.agent.runtime.capture import capture_context
from camdrift.agent.runtime.pipeline import Pipeline
from camdrift.agent.sim.line import HEALTHY, Drift, ProductionLine
from tests.agent.drift_fixtures import FPS, SIZE, classifier_outputs, output_reference, small_baseline
from tests.agent.runtime.test_pipeline import Collect


def _pipeline(tmp_path: Path) -> tuple[Pipeline, Collect]:
    sink = Collect()
    baseline = dataclasses.replace(small_baseline(), outputs=output_reference(window=20))
    spool = EvidenceSpool(tmp_path / "spool", min_interval_s=0)
    return Pipeline(baseline, camera_id="cam1", sinks=[sink], evidence=spool), sink


def _run(p: Pipeline, n: int, onset: int, drift: Drift, outputs: list) -> None:
    line = ProductionLine(seed=9, width=SIZE[0], height=SIZE[1], fps=FPS)
    for i in range(n):
        image = line.frame(i, drift if i >= onset else HEALTHY)
        p.analyse(Frame(image, i, i / FPS, "bgr8", outputs=outputs[i]))


def test_an_input_episode_carries_the_model_change_and_its_capture_the_outputs(tmp_path: Path):
    p, sink = _pipeline(tmp_path)
    outputs = classifier_outputs(40, 1) + classifier_outputs(40, 2, confidence_drop=2.5)
    _run(p, 80, 40, Drift(gain=0.8), outputs)
    started = [e for e in sink.of(Event) if e.kind == "drift.started"]
    assert started, [e.kind for e in sink.of(Event)]
    first = started[0]
    assert not first.group.startswith("out.")  # the light went first
    assert "; model over the same frames: share of uncertain predictions" in first.summary
    assert "out.confidence" in first.numbers and "out.confidence_ref" in first.numbers
    joined = [e for e in sink.of(Event) if e.group.startswith("out.") and e.kind == "drift.updated"]
    assert joined and "(in the episode that began with brightness)" in joined[0].summary  # the lamp first
    assert "; in the images: mean luma -20%" in joined[0].summary and "not separated" not in joined[0].summary
    spool_dir = tmp_path / "spool"
    doc = json.loads((spool_dir / first.evidence_id / "decision.json").read_text())
    assert len(doc["outputs"]) == 3 and all(o["kind"] == "classification" for o in doc["outputs"])
    assert doc["class_names"] == ["ok", "scratch", "dent"]
    assert doc["context"]["baseline_id"] == p.baseline_id and doc["context"]["episode_id"] == first.episode_id


def test_the_model_losing_confidence_alone_raises_an_output_episode(tmp_path: Path):
    p, sink = _pipeline(tmp_path)
    outputs = classifier_outputs(60, 3) + classifier_outputs(140, 4, confidence_drop=3.0)
    _run(p, 200, 10**9, Drift(), outputs)
    started = [e for e in sink.of(Event) if e.kind == "drift.started"]
    assert started and started[0].group.startswith("out.") and started[0].frame_index >= 60
    assert started[0].causes[0].code == "model_outputs"
    assert started[0].summary.startswith("model outputs changed: share of uncertain predictions")


def test_the_context_names_the_open_episode_and_what_drifts(tmp_path: Path):
    p, _ = _pipeline(tmp_path)
    assert capture_context(p.engine) == capture_context(p.engine)._replace(in_drift=())
    quiet = capture_context(p.engine, ("lighting", "mean luma -20%: lighting"))
    assert quiet.episode_id == quiet.cause == quiet.cause_code == "" and quiet.class_names == (
        "ok",
        "scratch",
        "dent",
    )
    _run(p, 80, 40, Drift(gain=0.8), classifier_outputs(80, 5))
    ctx = p.capture_context()
    assert ctx.episode_id and ctx.in_drift and ctx.cause and ctx.baseline_id == p.baseline_id
    assert ctx.cause_code == "lighting" and ctx.cause.startswith("mean luma -20% since baseline")
