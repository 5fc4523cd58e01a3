"""A stand-in inference app for the daemon tests: renders the synthetic production line and offers every frame
through the frame tap, as a real app would offer what it feeds its model.

Frames 0..onset-1 are healthy, then darker by ``--gain``; frame i has ``ts = i / fps``. With ``--flag K`` frame K is
also flagged. After ``--frames`` offers it keeps the tap open without offering (a stalled camera) for ``--hold`` s.
"""

from __future__ import annotations

import argparse
import sys
import time

from camdrift.agent.sim.line import HEALTHY, Drift, ProductionLine
from camdrift.agent.tap import FrameTap


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("name")
    p.add_argument("--frames", type=int, default=400)
    p.add_argument("--onset", type=int, default=10**9)
    p.add_argument("--gain", type=float, default=0.85)
    p.add_argument("--fps", type=float, default=5.0)
    p.add_argument("--rate", type=float, default=200.0, help="offers per second of wall time")
    p.add_argument("--flag", type=int, default=-1)
    p.add_argument("--hold", type=float, default=0.0)
    p.add_argument("--size", default="160x120")
    args = p.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    line = ProductionLine(seed=21, width=w, height=h, fps=args.fps)
    tap = FrameTap(args.name, pixel_format="bgr8", capacity=w * h * 3)
    print("ready", flush=True)
    drift = Drift(gain=args.gain)
    for i in range(args.frames):
        frame = line.frame(i, drift if i >= args.onset else HEALTHY)
        tap.offer(frame, ts=i / args.fps)
        if i == args.flag:
            tap.flag(frame, "operator corrected a false reject", ts=i / args.fps)
        time.sleep(1.0 / args.rate)
    print("done", flush=True)
    time.sleep(args.hold)
    tap.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
