"""Timing helpers for the benchmarks: repeated calls, median and p90 in milliseconds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np


class Timing(NamedTuple):
    """Wall time per call over ``n`` calls after one warm-up call: median and 90th percentile, ms."""

    median_ms: float
    p90_ms: float
    n: int


def interleaved(fns: dict[str, Callable[[], object]], n: int, rounds: int = 5) -> dict[str, Timing]:
    """Times several functions in alternating rounds, so machine noise hits them alike."""
    for fn in fns.values():
        fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    per_round = max(1, n // rounds)
    for _ in range(rounds):
        for name, fn in fns.items():
            for _ in range(per_round):
                t0 = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - t0)
    return {
        name: Timing(float(np.median(s) * 1e3), float(np.percentile(s, 90) * 1e3), len(s))
        for name, s in samples.items()
    }
