"""Small real inputs for the drift-engine tests: frames of the synthetic production line (real photographs),
their kernel statistics, and a baseline calibrated on them. Cached: each is computed once per test session."""

from __future__ import annotations

from functools import lru_cache

from camdrift.agent.reference.baseline import Baseline
from camdrift.agent.sim.line import HEALTHY, Drift, ProductionLine
from camdrift.calibration.calibrate.build import build_baseline
from camdrift.kernels import FrameStats, frame_stats

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
        resolution=SIZE,
        window=WINDOW,
        fps=FPS,
        n_replicates=400,
        seed=1,
        created_at=created_at,
        **KERNEL,
    )
