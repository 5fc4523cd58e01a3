"""Shared helpers of the frame-tap tests: the producer process's frame pattern and a reader loop."""

from __future__ import annotations

import time
from pathlib import Path

from camdrift.agent.tap import TapReader
from tests.agent._tap_producer import pattern

PRODUCER = Path(__file__).parents[1] / "_tap_producer.py"  # tests/agent: shared with the sources' tests

__all__ = ["PRODUCER", "pattern", "read_frames"]


def read_frames(reader: TapReader, n: int, limit_s: float = 20.0) -> list:
    frames = []
    end = time.monotonic() + limit_s
    while len(frames) < n and time.monotonic() < end:
        frame = reader.read(0.5)
        if frame is not None:
            frames.append(frame)
    assert len(frames) == n, f"got {len(frames)} of {n} frames"
    return frames
