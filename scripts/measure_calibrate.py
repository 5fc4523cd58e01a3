"""Wall time of ``camdrift calibrate`` on 1,000 frames of 1280x720 (a measurement, not a test).

Usage: ``.venv/bin/python scripts/measure_calibrate.py [--frames 1000] [--size 1280x720]``. Prints the time of the
whole command (fresh interpreter, as a technician runs it) and, in-process, of its parts: rendering the synthetic
frames, the kernels over them, and building the baseline (bins, features, block bootstrap, thresholds).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from camdrift.agent.sim.line import ProductionLine
from camdrift.calibration.calibrate.build import Budget, build_from_frames, reference_frames
from camdrift.kernels import KernelParams


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--size", default="1280x720")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as d:
        uri = f"synthetic:stationary?size={w}x{h}&frames={args.frames}"
        t = time.perf_counter()
        cmd = [
            sys.executable,
            "-m",
            "camdrift.agent.cli",
            "calibrate",
            "--source",
            uri,
            "--frames",
            str(args.frames),
        ]
        subprocess.run([*cmd, "--out", str(Path(d) / "b.npz"), "--quiet"], check=True, capture_output=True)
        whole = time.perf_counter() - t
    line = ProductionLine(seed=0, width=w, height=h)
    kernel = KernelParams(resolution=(w, h))
    render = kernels = 0.0
    stats = []
    for i in range(args.frames):  # one frame at a time: 1,000 frames of 1280x720 would hold 2.8 GB
        t = time.perf_counter()
        image = line.frame(i)
        t1 = time.perf_counter()
        stats.append(kernel.stats(image))
        render += t1 - t
        kernels += time.perf_counter() - t1
    t = time.perf_counter()
    build_from_frames(reference_frames(stats), camera_id="m", source=uri, kernel=kernel, budget=Budget())
    build = time.perf_counter() - t
    print(f"camdrift calibrate, {args.frames} frames of {w}x{h}: {whole:.1f} s wall (whole command)")
    print(f"  parts in-process: render {render:.1f} s, kernels {kernels:.1f} s, build baseline {build:.1f} s")


if __name__ == "__main__":
    main()
