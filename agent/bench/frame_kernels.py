"""Frame-kernel benchmark: the fused ``frame_stats`` pass against a memory read and an OpenCV call chain.

All timings are single-threaded (OpenCV is set to one thread; the kernels are serial) and interleaved in rounds so
that the noise of a shared machine hits every contender alike; the ratios are what to quote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from importlib import resources
from typing import NamedTuple

import cv2
import numpy as np

from camdrift.agent.bench.timing import Timing, interleaved
from camdrift.kernels import frame_stats, touch_bytes

IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


class KernelRow(NamedTuple):
    """One frame size: timings of every contender (ms/frame) and the ratios that matter."""

    width: int
    height: int
    memory_read: Timing
    fused_stride1: Timing
    fused_stride2: Timing
    opencv_chain: Timing

    @property
    def speedup_stride1(self) -> float:
        return self.opencv_chain.median_ms / self.fused_stride1.median_ms

    @property
    def speedup_stride2(self) -> float:
        return self.opencv_chain.median_ms / self.fused_stride2.median_ms

    @property
    def stride2_cost(self) -> float:
        """Time at stride 2 as a fraction of stride 1 (a quarter of the pixels: ideally near 0.25)."""
        return self.fused_stride2.median_ms / self.fused_stride1.median_ms


def natural_frame(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A BGR8 frame of real photographic content (the package's photos) with mild sensor noise."""
    data = resources.files("camdrift.agent.sim") / "data"
    photos = sorted(p for p in data.iterdir() if p.name.endswith((".jpg", ".png")))
    if not photos:
        raise RuntimeError(f"no photographs found in the package data folder {data}")
    rng = np.random.default_rng(seed)
    tiles = []
    for photo in photos:
        img = cv2.imdecode(np.frombuffer(photo.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
        if img is not None and img.ndim == 3:
            tiles.append(img)
    # Tile the photos side by side so the frame holds several textures, then scale to the requested size.
    row_h = min(t.shape[0] for t in tiles)
    mosaic = np.hstack([cv2.resize(t, (t.shape[1] * row_h // t.shape[0], row_h)) for t in tiles])
    frame = cv2.resize(mosaic, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)
    frame += rng.normal(0.0, 2.0, frame.shape).astype(np.float32)
    return np.clip(frame, 0, 255).astype(np.uint8)


def opencv_chain(frame: np.ndarray) -> tuple:
    """The same statistics by the usual OpenCV calls (histograms, moments, sharpness, noise, thumbnail)."""
    hists = [cv2.calcHist([frame], [c], None, [256], [0, 256]) for c in range(3)]
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    hists.append(cv2.calcHist([gray], [0], None, [256], [0, 256]))
    moments = cv2.meanStdDev(frame)
    sharpness = cv2.meanStdDev(cv2.Laplacian(gray, cv2.CV_32F, ksize=1))
    noise = cv2.norm(cv2.filter2D(gray, cv2.CV_32F, IMMERKAER), cv2.NORM_L1)
    thumb = cv2.resize(gray, (64, 64), interpolation=cv2.INTER_AREA)
    return hists, moments, sharpness, noise, thumb


def frame_pool(width: int, height: int, min_bytes: int = 96 << 20) -> list[np.ndarray]:
    """Distinct frames whose total size exceeds the last-level cache, so every call reads its frame cold from
    memory as a frame freshly written by a camera or decoder would be."""
    first = natural_frame(width, height, seed=0)
    count = max(2, -(-min_bytes // first.nbytes))
    rng = np.random.default_rng(1)
    # Re-noising one photo is enough to make the pages distinct; content statistics stay natural.
    return [first] + [
        np.clip(first.astype(np.int16) + rng.integers(-2, 3, first.shape, dtype=np.int16), 0, 255).astype(
            np.uint8
        )
        for _ in range(count - 1)
    ]


def bench_size(width: int, height: int, n: int) -> KernelRow:
    pool = frame_pool(width, height)
    cursor = {"read": 0, "s1": 0, "s2": 0, "cv": 0}

    def cycling(name: str, fn):
        def call():
            i = cursor[name] = (cursor[name] + 1) % len(pool)
            return fn(pool[i])

        return call

    t = interleaved(
        {
            "read": cycling("read", touch_bytes),
            "s1": cycling("s1", lambda f: frame_stats(f, stride=1)),
            "s2": cycling("s2", lambda f: frame_stats(f, stride=2)),
            "cv": cycling("cv", opencv_chain),
        },
        n,
    )
    return KernelRow(width, height, t["read"], t["s1"], t["s2"], t["cv"])


_STARTUP_PROBE = """
import json, time
t0 = time.perf_counter()
import numpy as np
from camdrift.kernels import frame_stats
t1 = time.perf_counter()
frame = np.random.default_rng(0).integers(0, 256, (720, 1280, 3)).astype(np.uint8)
t2 = time.perf_counter()
frame_stats(frame)
frame_stats(frame, stride=2)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "first_call_s": t3 - t2}))
"""


class Startup(NamedTuple):
    """Seconds: first-call JIT (empty numba cache) and process start to a first analysed frame (warm cache)."""

    cold_first_call_s: float
    warm_process_to_first_frame_s: float
    warm_first_call_s: float


def _probe(env: dict[str, str]) -> tuple[float, dict]:
    import time

    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _STARTUP_PROBE], env=env, check=True, capture_output=True, text=True
    ).stdout
    return time.perf_counter() - t0, json.loads(out.strip().splitlines()[-1])


def bench_startup() -> Startup:
    with tempfile.TemporaryDirectory(prefix="camdrift-numba-") as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        _, cold = _probe(env)  # compiles and fills the empty cache
        wall, warm = _probe(env)  # loads from the cache, as a service restart would
    return Startup(cold["first_call_s"], wall, warm["first_call_s"])


def format_rows(rows: list[KernelRow]) -> str:
    lines = [
        "frame kernels, BGR8 natural content, frames cold from memory, one thread (ms/frame: median / p90)",
        f"{'size':>10} {'memory read':>16} {'fused s=1':>16} {'fused s=2':>16} {'OpenCV chain':>16}"
        f" {'chain/s1':>9} {'chain/s2':>9} {'s2/s1':>6}",
    ]
    for r in rows:
        cells = [r.memory_read, r.fused_stride1, r.fused_stride2, r.opencv_chain]
        text = " ".join(f"{c.median_ms:>8.2f} /{c.p90_ms:>6.2f}" for c in cells)
        lines.append(
            f"{r.width}x{r.height:<5} {text} {r.speedup_stride1:>8.2f}x {r.speedup_stride2:>8.2f}x"
            f" {r.stride2_cost:>6.2f}"
        )
    return "\n".join(lines)


def format_startup(s: Startup) -> str:
    return (
        f"first-call JIT (empty numba cache): {s.cold_first_call_s:.2f} s\n"
        f"process start to first analysed frame (warm cache): {s.warm_process_to_first_frame_s:.2f} s"
        f" (of which first call {s.warm_first_call_s * 1e3:.0f} ms)"
    )
