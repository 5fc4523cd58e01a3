"""bench/agent_probe.py: what the agent bench reads about another process (its CPU, RSS and PSS, its first-frame
log line) and the re-attach measurement with a real tap and reader."""

from __future__ import annotations

import os
import threading
import time
import uuid

import numpy as np

from camdrift.agent.tap import TapReader
from camdrift.calibration.bench.agent_probe import (
    FirstFrame,
    cpu_seconds,
    pss_mib,
    reattach_seconds,
    rss_mib,
    specialisations_at_stop,
)


def test_proc_figures_of_this_process():
    before = cpu_seconds(os.getpid())
    end = time.process_time() + 0.2
    while time.process_time() < end:
        pass
    assert cpu_seconds(os.getpid()) - before >= 0.1
    assert 10 < pss_mib(os.getpid()) <= rss_mib(os.getpid())


def test_first_frame_line_is_found_with_its_note(tmp_path):
    with open(tmp_path / "agent.log", "w+") as log:
        first = FirstFrame(log, time.monotonic())
        log.write("2026-12-04 10:00:00 INFO camdrift.agent: analysing shm:x\n")
        log.flush()
        first.poll()
        assert first.seconds is None
        log.write(
            "... INFO camdrift.agent: first frame analysed 0.81 s after the process started (9 numba x)\n"
        )
        log.flush()
        first.poll()
        assert first.seconds is not None and first.note.startswith("0.81 s after the process started")


def test_the_count_of_specialisations_is_read_from_the_stop_line():
    text = "x INFO camdrift.agent: stopping with 14 numba specialisations loaded\n"
    assert specialisations_at_stop(text) == 14 and specialisations_at_stop("no such line") == -1


def test_reattach_is_timed_to_the_first_copy_from_the_new_segment():
    """A reader waiting on the tap's path, as the agent's reopening source does, takes a frame from the
    re-created segment; the figure is the time from its creation to that copy."""
    name = f"probe-{uuid.uuid4().hex[:8]}"
    frame = np.zeros((24, 32, 3), np.uint8)
    got: list[int] = []

    def agent() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not got:
            try:
                with TapReader(name) as reader:
                    while not got and time.monotonic() < deadline:
                        if reader.read(0.1) is not None:
                            got.append(1)
            except Exception:
                time.sleep(0.05)

    thread = threading.Thread(target=agent)
    thread.start()
    seconds = reattach_seconds(name, frame.nbytes, frame, 30.0, gap=0.1)
    thread.join()
    assert got and 0.0 < seconds < 5.0
