"""Corpus clips on disk, as a user's camera would leave them: mp4v video files and PNG folders.

A clip is rendered by ``camdrift.agent.sim`` and written once; the CLI reads it back through its own ``video:``
or ``dir:`` source. Two exceptions, each because the file would add nothing but cost or would be wrong:

- The lamp decay runs at one frame a minute for days, which mp4v cannot carry: OpenCV's writer rounds the
  1/60 fps time base to 0.017 fps (stream time 2 % off, measured). It is always written as a PNG folder.
- The long healthy stream of a PNG scene (20,000 analysed frames, 120,000 files at 30 fps) is read through
  ``synthetic:stationary?fps=5``. PNG is lossless (a PNG round trip returns the rendered bytes; tested), and the
  renderer is a function of stream time with independent per-frame noise and flicker, so the frames the agent
  analyses from the folder (every 2nd or 6th file at the default 5 fps) and a 5 fps render have the same
  distribution; only disk (~300 GB at 1280x720) and hours of PNG encoding are saved. mp4v scenes keep their long
  healthy stream as a full-rate video file: the codec changes noise and sharpness.

Units: sizes (width, height) px, rates frames per second of stream time.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from camdrift.agent.sim.line import ProductionLine
from camdrift.agent.sim.scenarios import SCENARIOS, scenario_stream
from camdrift.calibration.bench.corpus import ANALYSIS_FPS, Clip, CorpusScene

# Level 0 (stored deflate blocks) writes a 1280x720 frame in ~35 ms against ~80 ms at level 1: the sensor noise
# leaves little to compress anyway (2.8 vs 1.6 MB). Decoding is the same libpng path either way.
PNG_PARAMS = (cv2.IMWRITE_PNG_COMPRESSION, 0)


def clip_format(scene: CorpusScene, clip: Clip) -> str:
    """How ``clip`` reaches the CLI: "mp4v", "png" or "synthetic" (see the module docstring)."""
    if clip.role == "lamp":
        return "png"
    if clip.role == "healthy" and scene.fmt == "png":
        return "synthetic"
    return scene.fmt


def _frames(scene: CorpusScene, clip: Clip):
    return scenario_stream(
        clip.scenario,
        clip.frames,
        seed=clip.seed,
        size=scene.size,
        fps=clip.fps,
        onset_frame=clip.onset if clip.onset is not None else 0,
        scene=scene.name,
    )


def write_clip(scene: CorpusScene, clip: Clip, folder: Path) -> str:
    """Write ``clip`` of ``scene`` under ``folder`` and return the source URI a user would pass the CLI."""
    fmt = clip_format(scene, clip)
    w, h = scene.size
    if fmt == "synthetic":
        frames = round(clip.frames * ANALYSIS_FPS / clip.fps)
        return (
            f"synthetic:{clip.scenario}?scene={scene.name}&seed={clip.seed}&fps={ANALYSIS_FPS:g}"
            f"&size={w}x{h}&frames={frames}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "mp4v":
        path = folder / f"{clip.name}.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), clip.fps, (w, h))
        if not writer.isOpened():
            raise OSError(f"OpenCV cannot write mp4v video {path}")
        try:
            for f in _frames(scene, clip):
                writer.write(f.image)
        finally:
            writer.release()
        return f"video:{path}"
    path = folder / clip.name
    path.mkdir(parents=True, exist_ok=True)
    for f in _frames(scene, clip):
        if not cv2.imwrite(str(path / f"{f.index:07d}.png"), f.image, PNG_PARAMS):
            raise OSError(f"OpenCV cannot write {path / f'{f.index:07d}.png'}")
    return f"dir:{path}?fps={clip.fps:.10g}&pattern=*.png"


def remove_clip(uri: str) -> None:
    """Delete the file or folder behind ``uri`` (nothing for a synthetic source)."""
    if uri.startswith("video:"):
        Path(uri[len("video:") :]).unlink(missing_ok=True)
    elif uri.startswith("dir:"):
        shutil.rmtree(uri[len("dir:") :].partition("?")[0], ignore_errors=True)


def first_affected(scene: CorpusScene, clip: Clip, limit_s: float = 60.0) -> int:
    """First source frame of ``clip`` that differs from the healthy render of the same seed: the onset for a
    camera or lighting change, the first frame a new product is in view for a content change. ``clip.frames``
    when nothing differs within the clip (or ``limit_s`` of stream time)."""
    if clip.onset is None:
        return clip.frames
    scenario = SCENARIOS[clip.scenario]
    w, h = scene.size
    drifted = ProductionLine(seed=clip.seed, width=w, height=h, fps=clip.fps, scene=scene.name)
    healthy = ProductionLine(seed=clip.seed, width=w, height=h, fps=clip.fps, scene=scene.name)
    shifted = replace(scenario, onset_frame=clip.onset)
    stop = min(clip.frames, clip.onset + max(1, round(limit_s * clip.fps)))
    for i in range(clip.onset, stop):
        if not np.array_equal(drifted.frame(i, shifted.drift_at(i, clip.fps)), healthy.frame(i)):
            return i
    return clip.frames
