"""A stand-in for the inference app, run as a separate process by the tap tests (tests/agent/tap/).

Offers frame k (k = 0, 1, ...) whose pixels are ``pattern(k, shape)`` with ``ts = k / 100`` and activations
``[k, k+1, k+2]``; with ``--flag-every N`` it also flags every N-th frame with reason ``"k=<k>"``. Prints
"ready <pid>" once the tap exists, then runs until killed or ``--seconds`` have passed.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from camdrift.agent.tap import FrameTap


def pattern(k: int, shape: tuple[int, ...]) -> np.ndarray:
    """Frame k: a ramp offset by k, so any mix of two frames (a torn copy) differs from every pattern."""
    n = int(np.prod(shape))
    return ((np.arange(n, dtype=np.int64) + k * 7) % 251).astype(np.uint8).reshape(shape)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("name")
    p.add_argument("--shape", default="48x64x3", help="HxW or HxWxC")
    p.add_argument("--format", default="bgr8")
    p.add_argument("--flag-every", type=int, default=0)
    p.add_argument("--interval", type=float, default=0.002, help="s between offers (0: as fast as possible)")
    p.add_argument("--seconds", type=float, default=60.0, help="safety limit")
    args = p.parse_args()
    shape = tuple(int(v) for v in args.shape.split("x"))
    tap = FrameTap(args.name, pixel_format=args.format, capacity=int(np.prod(shape)) + 64)
    print(f"ready {tap.path}", flush=True)
    end = time.monotonic() + args.seconds
    cache: dict[
        int, np.ndarray
    ] = {}  # pattern(k) depends on k mod 251 only; cached so writes come back to back
    k = 0
    while time.monotonic() < end:
        frame = cache.get(k % 251)
        if frame is None:
            frame = cache[k % 251] = pattern(k, shape)
        tap.offer(frame, ts=k / 100, activations=np.array([k, k + 1, k + 2], np.float32))
        if args.flag_every and k % args.flag_every == 0:
            tap.flag(frame, f"k={k}", ts=k / 100)
        k += 1
        if args.interval:
            time.sleep(args.interval)
    tap.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
