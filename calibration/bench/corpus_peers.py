"""The in-process peers on the frames the agent analyses from a corpus clip: folklore PSI and Page-Hinkley.

A clip is read back through the agent's own source (``open_source``) and sampled by the agent's
:class:`~camdrift.agent.runtime.sampler.FrameSampler` at the default 5 fps, so the peers see the analysed
frames camdrift saw (same decoder, same picks), and their statistics come from the same kernel.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from camdrift.agent.frames import Frame, SourceEnded
from camdrift.agent.runtime.sampler import FrameSampler
from camdrift.agent.sources.uri import open_source
from camdrift.calibration.bench.corpus import ANALYSIS_FPS
from camdrift.calibration.bench.peers import FolklorePsi, PageHinkley
from camdrift.kernels import frame_stats

PEERS = ("psi", "page-hinkley")
WINDOW = 20  # the folklore PSI's window: camdrift's default window (analysed frames)


class AnalysedStats(NamedTuple):
    """times: (n,) stream time (s) of each analysed frame; luma_hists: (n, 256) int64 luma counts;
    luma_means: (n,) mean luma (DN8)."""

    times: np.ndarray
    luma_hists: np.ndarray
    luma_means: np.ndarray


def source_frames(uri: str) -> Iterator[Frame]:
    """Every frame the agent's own source gives for ``uri``, until it ends (the source is closed after)."""
    source = open_source(uri)
    source.open()
    try:
        while True:
            try:
                frame = source.read(1.0)
            except SourceEnded:
                return
            if frame is not None:
                yield frame
    finally:
        source.close()


def analysed_stats(uri: str) -> AnalysedStats:
    """Statistics of the frames the agent analyses from ``uri`` at its default rate, until the source ends."""
    sampler = FrameSampler(ANALYSIS_FPS)
    times, hists, means = [], [], []
    for frame in source_frames(uri):
        if not sampler.offer(frame.stream_time):
            continue
        s = frame_stats(frame.image)
        times.append(frame.stream_time)
        hists.append(s.luma_hist)
        means.append(s.luma_mean)
    return AnalysedStats(
        np.asarray(times, np.float64),
        np.asarray(hists, np.int64).reshape(-1, 256),
        np.asarray(means, np.float64),
    )


def peer_alarms(reference: AnalysedStats, stream: AnalysedStats) -> dict[str, np.ndarray]:
    """Stream time (s) of every alarm of each peer on ``stream``, both calibrated on ``reference``."""
    psi = FolklorePsi(reference.luma_hists.sum(axis=0), window=WINDOW)
    ph = PageHinkley()
    alarms: dict[str, list[float]] = {p: [] for p in PEERS}
    for t, hist, mean in zip(stream.times, stream.luma_hists, stream.luma_means, strict=True):
        if psi.update(hist).drift_detected:
            alarms["psi"].append(float(t))
        if ph.update(float(mean)).drift_detected:
            alarms["page-hinkley"].append(float(t))
    return {p: np.asarray(a, np.float64) for p, a in alarms.items()}
