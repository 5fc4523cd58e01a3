"""The detection scenario suite: camdrift's engine and the peer baselines over the same scenario streams.

Each stream (the healthy line at 320x240, the named sudden changes, the 7-day lamp decay) is rendered and its
:func:`~camdrift.kernels.frame_stats` computed ONCE; every in-process detector (camdrift's
:class:`~camdrift.agent.drift.engine.DriftEngine`, :class:`~camdrift.calibration.bench.peers.FolklorePsi`,
:class:`~camdrift.calibration.bench.peers.PageHinkley` on mean brightness) is fed the same stats in the same
pass, and the six per-frame scalars of :data:`PEER_SCALARS` are kept for the out-of-process alibi-detect peer.
Runs are cached in memory per process, so the bench and the tests pay for a stream once.

Every detector is calibrated on the same reference: its own seeded healthy stream (``REF_SEED``, 3000 frames by
default), distinct from the test streams (``TEST_SEED``). A change's delay counts analysed frames from the first
affected frame (the first frame that differs from the healthy render of the same seed) to the first alarm at or
after it; alarms before it are counted apart (``early_alarms``). Shared with ``tests/scenarios`` and
``tests/calibration/bench``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from camdrift.agent.drift.engine import DriftEngine
from camdrift.agent.reference.baseline import Baseline
from camdrift.agent.sim.line import ProductionLine
from camdrift.agent.sim.scenarios import SCENARIOS, scenario_stream
from camdrift.calibration.bench.peers import FolklorePsi, PageHinkley
from camdrift.calibration.calibrate.build import Budget, build_baseline
from camdrift.kernels import FrameStats, KernelParams, frame_stats

SIZE = (320, 240)  # (width, height) px
REF_SEED, TEST_SEED = 101, 202
WINDOW = 20  # camdrift's window (frames); the folklore PSI window is the same
SUDDEN = tuple(n for n, s in SCENARIOS.items() if s.kind == "sudden" and n != "new_variant_matched")
# Histogram-matched new object: invisible to pixel statistics by construction, left to the activation monitor.
ACTIVATION_ONLY = ("new_variant_matched",)
GRADUAL = ("lamp_decay",)
PEER_SCALARS = ("brightness", "contrast", "sharpness", "noise", "rg", "bg")
IN_PROCESS = ("camdrift", "psi", "page-hinkley")


@dataclass(frozen=True)
class SuiteSettings:
    """ref_frames: reference recording length (frames); n_replicates: camdrift's calibration bootstrap;
    stationary_frames: healthy test stream length; horizon: analysed frames a sudden change is watched for after
    its first affected frame; lamp_loss: the lamp stream runs until this fraction of the light is lost;
    cvm_ert / cvm_bootstraps: the alibi-detect peer's expected run time (frames) and threshold simulations."""

    ref_frames: int = 3000
    n_replicates: int = 2000
    stationary_frames: int = 20_000
    horizon: int = 150
    lamp_loss: float = 0.05
    cvm_ert: float = 20_000.0
    cvm_bootstraps: int = 130_000  # >= 1 / beta for 6 features at ERT 20,000 (alibi-detect refuses fewer)


DEFAULT = SuiteSettings()
# A smoke test of the same code: short streams, a small reference, a CVM peer configured in seconds.
QUICK = SuiteSettings(
    ref_frames=400,
    n_replicates=300,
    stationary_frames=1000,
    horizon=30,
    lamp_loss=0.01,
    cvm_ert=500.0,
    cvm_bootstraps=6000,
)


class SuiteReference(NamedTuple):
    """baseline: camdrift's; luma_hist: (256,) int64 luma counts summed over the reference frames (the folklore
    PSI's reference); scalars: (R, 6) float64 per-frame :data:`PEER_SCALARS`."""

    baseline: Baseline
    luma_hist: np.ndarray
    scalars: np.ndarray


class StreamRun(NamedTuple):
    """One stream through every in-process detector. times: (n,) stream time (s); alarms: detector name ->
    frame indices of its alarms (camdrift: ``drift.started``); causes: camdrift's top cause per alarm;
    psi_values: (n,) folklore PSI per frame (NaN until its window is full); scalars: (n, 6) :data:`PEER_SCALARS`;
    start: first affected frame (0 for the healthy stream)."""

    name: str
    start: int
    times: np.ndarray
    alarms: dict[str, tuple[int, ...]]
    causes: tuple[str, ...]
    psi_values: np.ndarray
    scalars: np.ndarray


def peer_scalars(s: FrameStats) -> np.ndarray:
    """(6,) float64 :data:`PEER_SCALARS` of one frame, as camdrift's features define them (DN8, ln, ratios)."""
    return np.array(
        [s.luma_mean, math.sqrt(s.luma_var), math.log1p(s.sharpness), s.noise_sigma, s.rg, s.bg], np.float64
    )


def scenario_stats(name: str, n: int, seed: int, fps: float | None = None) -> list[FrameStats]:
    """FrameStats of the first ``n`` frames of scenario ``name`` at :data:`SIZE`."""
    return [frame_stats(f.image) for f in scenario_stream(name, n, seed=seed, size=SIZE, fps=fps)]


def reference(fps: float, n_frames: int = 3000, n_replicates: int = 2000) -> SuiteReference:
    """The reference every detector is calibrated on: the healthy stream of seed ``REF_SEED`` at ``fps``,
    built once per process for each (fps, n_frames, n_replicates)."""
    return _reference(float(fps), int(n_frames), int(n_replicates))


@lru_cache(maxsize=4)
def _reference(fps: float, n_frames: int, n_replicates: int) -> SuiteReference:
    stats = scenario_stats("stationary", n_frames, REF_SEED, fps)
    baseline = build_baseline(
        stats,
        camera_id="line-3",
        source=f"stationary scenario, seed {REF_SEED}, {n_frames} frames at {fps:g} fps",
        kernel=KernelParams(resolution=SIZE),
        budget=Budget(window=WINDOW, fps=fps, seed=0, n_replicates=n_replicates),
        created_at="2026-01-01T00:00:00+00:00",
    )
    luma = np.sum([s.luma_hist for s in stats], axis=0, dtype=np.int64)
    return SuiteReference(baseline, luma, np.stack([peer_scalars(s) for s in stats]))


def first_affected(name: str, seed: int = TEST_SEED, fps: float | None = None, limit: int = 10_000) -> int:
    """First frame of scenario ``name`` that differs from the healthy render of the same seed: the onset itself
    for a camera or lighting change, the first frame a new product is in view for a content change."""
    scenario = SCENARIOS[name]
    fps = scenario.fps if fps is None else fps
    drifted = ProductionLine(seed=seed, width=SIZE[0], height=SIZE[1], fps=fps)
    healthy = ProductionLine(seed=seed, width=SIZE[0], height=SIZE[1], fps=fps)
    for i in range(scenario.onset_frame, scenario.onset_frame + limit):
        if (drifted.frame(i, scenario.drift_at(i, fps)) != healthy.frame(i)).any():
            return i
    raise ValueError(f"scenario {name!r} does not differ from the healthy line within {limit} frames")


def stream_fps(name: str) -> float:
    """Analysis rate of a suite stream: the lamp decay at its own (one frame a minute), the rest at 5 fps."""
    return SCENARIOS[name].fps if name in GRADUAL else 5.0


def stream_length(name: str, settings: SuiteSettings) -> tuple[int, int]:
    """(first affected frame, frames to render) of a suite stream under ``settings``."""
    if name == "stationary":
        return 0, settings.stationary_frames
    start = first_affected(name)
    if name in GRADUAL:
        s = SCENARIOS[name]
        phase = s.phases[0]
        n = s.onset_frame + math.ceil(settings.lamp_loss / phase.ramp_loss * phase.ramp_s * s.fps) + 1
        return start, n
    return start, start + settings.horizon + 1


@lru_cache(maxsize=32)
def run_stream(name: str, settings: SuiteSettings = DEFAULT) -> StreamRun:
    """Render suite stream ``name`` (seed ``TEST_SEED``) and feed every in-process detector the same stats."""
    fps = stream_fps(name)
    ref = reference(fps, settings.ref_frames, settings.n_replicates)
    start, n = stream_length(name, settings)
    engine = DriftEngine(ref.baseline)
    psi, ph = FolklorePsi(ref.luma_hist, window=WINDOW), PageHinkley()
    alarms: dict[str, list[int]] = {d: [] for d in IN_PROCESS}
    causes: list[str] = []
    times, psi_values, scalars = np.empty(n), np.empty(n), np.empty((n, len(PEER_SCALARS)))
    for f in scenario_stream(name, n, seed=TEST_SEED, size=SIZE, fps=fps):
        s = frame_stats(f.image)
        times[f.index], scalars[f.index] = f.t, peer_scalars(s)
        for d in engine.update(s, f.index, f.t).decisions:
            if d.kind == "drift.started":
                alarms["camdrift"].append(f.index)
                causes.append(d.top_cause)
        if psi.update(s.luma_hist).drift_detected:
            alarms["psi"].append(f.index)
        psi_values[f.index] = psi.value
        if ph.update(s.luma_mean).drift_detected:
            alarms["page-hinkley"].append(f.index)
    return StreamRun(
        name, start, times, {d: tuple(a) for d, a in alarms.items()}, tuple(causes), psi_values, scalars
    )


class Outcome(NamedTuple):
    """One detector on one changed stream. detected_at: frame index of the first alarm at or after ``start``
    within the stream (None: missed); delay_frames / delay_s: from ``start`` (analysed frames / stream s);
    cause: camdrift's top cause at that alarm ("" for peers); early_alarms: alarms before ``start``;
    light_lost: fraction of the lamp's light lost at detection (gradual streams; NaN otherwise)."""

    detector: str
    scenario: str
    start: int
    detected_at: int | None
    delay_frames: int | None
    delay_s: float | None
    cause: str
    expected_cause: str
    early_alarms: int
    light_lost: float


class Quiet(NamedTuple):
    """One detector on the healthy stream: alarms over ``frames`` analysed frames; per_10k = alarms per 10,000
    frames; warn_fraction: share of full windows above the 0.1 PSI warning (folklore PSI only, else NaN)."""

    detector: str
    frames: int
    alarms: int
    per_10k: float
    warn_fraction: float


def outcome(detector: str, run: StreamRun, alarms: tuple[int, ...]) -> Outcome:
    """Score one detector's alarm indices on a changed stream."""
    scenario = SCENARIOS[run.name]
    after = [i for i in alarms if i >= run.start]
    hit = after[0] if after else None
    cause = ""
    if detector == "camdrift" and hit is not None:
        cause = run.causes[run.alarms["camdrift"].index(hit)]
    lost = math.nan
    if run.name in GRADUAL and hit is not None:
        lost = 1.0 - scenario.drift_at(hit).gain
    return Outcome(
        detector=detector,
        scenario=run.name,
        start=run.start,
        detected_at=hit,
        delay_frames=None if hit is None else hit - run.start,
        delay_s=None if hit is None else float(run.times[hit] - run.times[run.start]),
        cause=cause,
        expected_cause=scenario.expected_cause or "",
        early_alarms=len(alarms) - len(after),
        light_lost=lost,
    )


def quiet(detector: str, run: StreamRun, alarms: tuple[int, ...]) -> Quiet:
    """Score one detector's alarm indices on the healthy stream."""
    n = len(run.times)
    warn = math.nan
    if detector == "psi":
        full = run.psi_values[~np.isnan(run.psi_values)]
        warn = float(np.mean(full > 0.1)) if full.size else math.nan
    return Quiet(detector, n, len(alarms), 1e4 * len(alarms) / n, warn)
