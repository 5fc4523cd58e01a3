"""One corpus scene end to end: write its clips, run the real CLI on them, score the events, delete the files.

The order is a user's: ``calibrate --duration 100s`` on the reference, ``run`` on the long healthy stream, on
every change and on the lamp decay, ``verify`` on healthy and changed clips. Each clip is deleted once used,
so the disk holds one clip at a time (the largest, a 1280x720 30 fps PNG reference, is ~8 GB).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from camdrift.agent.sim.scenarios import SCENARIOS
from camdrift.calibration.bench import corpus_run
from camdrift.calibration.bench.corpus import Clip, CorpusScene, CorpusSettings, clips
from camdrift.calibration.bench.corpus_files import clip_format, first_affected, remove_clip, write_clip
from camdrift.calibration.bench.corpus_peers import PEERS, AnalysedStats, analysed_stats, peer_alarms
from camdrift.calibration.bench.corpus_score import (
    Change,
    Healthy,
    Lamp,
    score_change,
    score_healthy,
    score_lamp,
)


class VerifyOutcome(NamedTuple):
    """``camdrift verify`` on one clip: change "" for a healthy clip; expected: the change's cause code."""

    change: str
    exit_code: int
    verdict: str
    cause: str
    expected: str


class PeerOutcome(NamedTuple):
    """A peer on one stream: change "" for the healthy stream; delay_s: first alarm at or after the first
    affected frame (None: missed, or the healthy stream); alarms: its alarms (on the healthy stream: false);
    early: alarms before the first affected frame."""

    peer: str
    change: str
    delay_s: float | None
    alarms: int
    early: int


@dataclass(frozen=True)
class SceneResult:
    """Everything measured on one scene. calibration: calibrate's outcome on the reference; seconds: wall time
    of the scene; formats: how each clip role reached the CLI (mp4v, png, synthetic)."""

    scene: CorpusScene
    calibration: corpus_run.Calibration
    healthy: Healthy | None
    changes: tuple[Change, ...]
    lamp: Lamp | None
    verifies: tuple[VerifyOutcome, ...]
    peers: tuple[PeerOutcome, ...]
    formats: dict[str, str]
    seconds: float


def _peer(peer: str, change: str, times: np.ndarray, affected_t: float | None) -> PeerOutcome:
    if affected_t is None:
        return PeerOutcome(peer, change, None, len(times), 0)
    after = times[times >= affected_t - 1e-9]
    delay = float(after[0] - affected_t) if after.size else None
    return PeerOutcome(peer, change, delay, int(after.size), int(times.size - after.size))


def _peers(ref: AnalysedStats | None, uri: str, change: str, affected_t: float | None) -> list[PeerOutcome]:
    if ref is None:
        return []
    alarms = peer_alarms(ref, analysed_stats(uri))
    return [_peer(p, change, alarms[p], affected_t) for p in PEERS]


def run_scene(
    scene: CorpusScene, settings: CorpusSettings, workdir: Path, *, peers: bool = True
) -> SceneResult:
    """Measure ``scene`` under ``settings`` in ``workdir`` (created; clip files deleted after use)."""
    t0 = time.perf_counter()
    workdir.mkdir(parents=True, exist_ok=True)
    plan = clips(scene, settings)
    formats = {c.role: clip_format(scene, c) for c in plan}
    baseline = workdir / "baseline.npz"
    ref_clip = next(c for c in plan if c.role == "reference")
    uri = write_clip(scene, ref_clip, workdir)
    try:
        calibration = corpus_run.calibrate(uri, baseline, settings.ref_s)
        ref = analysed_stats(uri) if peers and calibration.exit_code == 0 else None
    finally:
        remove_clip(uri)
    if calibration.exit_code != 0:
        return SceneResult(scene, calibration, None, (), None, (), (), formats, time.perf_counter() - t0)
    healthy, changes, lamp, verifies, peer_rows = None, [], None, [], []
    for clip in plan:
        if clip.role == "reference":
            continue
        uri = write_clip(scene, clip, workdir)
        try:
            if clip.role.startswith("verify"):
                verifies.append(_verify(uri, baseline, clip))
                continue
            events = corpus_run.run_agent(uri, baseline, workdir / clip.name).events
            if clip.role == "healthy":
                stats = analysed_stats(uri)
                healthy = score_healthy(events, len(stats.times))
                alarms = peer_alarms(ref, stats) if ref is not None else {}
                peer_rows += [_peer(p, "", alarms[p], None) for p in alarms]
            elif clip.role == "lamp":
                lamp = score_lamp(events, clip)
            else:
                change = score_change(events, clip, first_affected(scene, clip), scene.size)
                changes.append(change)
                peer_rows += _peers(ref, uri, clip.scenario, change.affected_t)
        finally:
            remove_clip(uri)
    return SceneResult(
        scene,
        calibration,
        healthy,
        tuple(changes),
        lamp,
        tuple(verifies),
        tuple(peer_rows),
        formats,
        time.perf_counter() - t0,
    )


def _verify(uri: str, baseline: Path, clip: Clip) -> VerifyOutcome:
    v = corpus_run.verify(uri, baseline)
    change = "" if clip.role == "verify-healthy" else clip.scenario
    expected = (SCENARIOS[clip.scenario].expected_cause or "") if change else ""
    return VerifyOutcome(change, v.exit_code, v.verdict, v.cause, expected)
