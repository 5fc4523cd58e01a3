"""The in-process peers on the frames the agent analyses from a corpus clip (corpus_peers.py).

- ``analysed_stats`` reads a clip through the agent's own source and keeps the frames its 5 fps sampler picks,
  with their luma histograms and means from the kernel;
- ``peer_alarms`` calibrates folklore PSI and Page-Hinkley on a reference and returns the stream time of every
  alarm: Page-Hinkley (mean brightness) alarms after a 15 % gain step, and not on a healthy stream.
Small synthetic sources (160x120 px at 10 fps) keep it fast.
"""

from __future__ import annotations

import numpy as np
import pytest

from camdrift.agent.sim.scenarios import scenario_stream
from camdrift.calibration.bench.corpus_peers import PEERS, AnalysedStats, analysed_stats, peer_alarms
from camdrift.kernels import frame_stats

SOURCE = "synthetic:{name}?seed={seed}&size=160x120&fps=10&frames={frames}"


@pytest.fixture(scope="module", name="reference")
def reference_fixture() -> AnalysedStats:
    return analysed_stats(SOURCE.format(name="stationary", seed=1, frames=600))  # 60 s: 300 analysed frames


def test_analysed_stats_samples_a_10fps_source_at_5fps() -> None:
    stats = analysed_stats(SOURCE.format(name="stationary", seed=2, frames=50))
    assert stats.times == pytest.approx(np.arange(25) * 0.2)
    assert stats.times.dtype == np.float64
    assert stats.luma_hists.shape == (25, 256) and stats.luma_hists.dtype == np.int64
    assert (stats.luma_hists.sum(axis=1) == 160 * 120).all()
    assert stats.luma_means.shape == (25,)
    # the statistics of exactly the picked frames: every second one of the source
    frames = [f.image for f in scenario_stream("stationary", 50, seed=2, size=(160, 120), fps=10.0)]
    for k in (0, 7, 24):
        s = frame_stats(frames[2 * k])
        assert np.array_equal(stats.luma_hists[k], s.luma_hist) and stats.luma_means[k] == s.luma_mean


def test_analysed_stats_of_an_empty_source() -> None:
    stats = analysed_stats(SOURCE.format(name="stationary", seed=2, frames=0))
    assert stats.times.shape == (0,) and stats.luma_hists.shape == (0, 256) and stats.luma_means.shape == (0,)


def test_page_hinkley_alarms_after_a_gain_step(reference: AnalysedStats) -> None:
    # gain_step: +15 % light from source frame 300, 30 s into the stream
    stream = analysed_stats(SOURCE.format(name="gain_step", seed=4, frames=700))
    alarms = peer_alarms(reference, stream)
    assert tuple(alarms) == PEERS
    assert all(a.dtype == np.float64 for a in alarms.values())
    ph = alarms["page-hinkley"]
    assert ph.size > 0 and ph[0] >= 30.0 and ph[0] < 40.0, ph
    assert set(ph) <= set(stream.times)  # stream times of analysed frames


def test_no_peer_alarm_on_a_healthy_stream(reference: AnalysedStats) -> None:
    stream = analysed_stats(SOURCE.format(name="stationary", seed=5, frames=700))
    alarms = peer_alarms(reference, stream)
    assert {p: a.size for p, a in alarms.items()} == {"psi": 0, "page-hinkley": 0}
