"""What ``camdrift bench --agent`` reads from outside the agent process: its CPU time, RSS and PSS from
``/proc/<pid>``, when its log says the first frame was analysed, and how soon it re-attaches to a tap segment
an app re-created."""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path
from typing import IO

import numpy as np

from camdrift.agent.tap import FrameTap


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process ``pid`` has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """Resident set size: every page the process has mapped in, shared libraries included."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pss_mib(pid: int) -> float:
    """Proportional set size: shared pages (libraries other processes map too) divided among their users."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return float("nan")


STOP_MARK = re.compile(r"stopping with (\d+) numba specialisations loaded")


def specialisations_at_stop(log_text: str) -> int:
    """The count the agent logs as it stops (-1 when the line is missing)."""
    found = STOP_MARK.findall(log_text)
    return int(found[-1]) if found else -1


class FirstFrame:
    """Watches the agent's log for its "first frame analysed" line: when it came (s after ``started``,
    monotonic) and what the line says."""

    MARK = "first frame analysed "

    def __init__(self, log_file: IO[str], started: float) -> None:
        self._log, self._started = log_file, started
        self.seconds: float | None = None
        self.note = ""

    def poll(self) -> None:
        if self.seconds is not None:
            return
        self._log.seek(0)
        for line in self._log.read().splitlines():
            if self.MARK in line:
                self.seconds = time.monotonic() - self._started
                self.note = line.split(self.MARK, 1)[1].strip()
                return


def reattach_seconds(
    name: str, capacity: int, frame: np.ndarray, offer_fps: float, gap: float = 2.0
) -> float:
    """The app restarts: its tap is closed (the segment retired and removed), ``gap`` s later a new one is
    created under the same name and frames are offered at ``offer_fps``; seconds from the new segment to the
    agent's first copy from it (NaN if none within 30 s)."""
    time.sleep(gap)
    tap = FrameTap(name, capacity=capacity)
    try:
        start = time.monotonic()
        k = 0
        seconds = float("nan")
        while time.monotonic() - start < (30.0 if math.isnan(seconds) else seconds + 0.5):
            if tap.offer(frame, ts=k / offer_fps) and math.isnan(seconds):
                seconds = time.monotonic() - start
            k += 1
            time.sleep(max(0.0, start + k / offer_fps - time.monotonic()))
        return seconds  # offered 0.5 s more after the copy, so the agent reads it before the app goes
    finally:
        tap.close()
