"""``camdrift bench --agent`` (bench/agent.py): the figures of a run as the README quotes them (agent CPU as a
share of one core, offer() medians and 99th percentiles in microseconds, RSS), the agent configuration the bench
starts, and one short real run beside the daemon."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

from camdrift.agent.config import load_config
from camdrift.calibration.bench.agent import SECTION, AgentLoad, OfferTimes, agent_config, agent_load, measure


def _offers() -> OfferTimes:
    skip = [1.0, 2.0, 3.0, 100.0]
    copy = [900.0, 1100.0, 1500.0]
    return OfferTimes(skip, copy, noop=[0.5, 0.5, 0.7], tight=[0.2, 0.3, 0.4], cpu=0.085, rss_mib=61.4)


def test_figures_of_a_run():
    load = agent_load(_offers(), 1920, 1080, 30.0, 5.0, 20.0)
    assert (load.offers, load.copies, load.agent_cpu, load.agent_rss_mib) == (7, 3, 0.085, 61.4)
    assert load.offer_skip_median_us == 2.5 and load.offer_skip_p99_us == pytest.approx(
        np.percentile([1, 2, 3, 100], 99)
    )
    assert (load.offer_copy_median_us, load.noop_median_us, load.offer_skip_tight_median_us) == (
        1100.0,
        0.5,
        0.3,
    )
    doc = json.loads(json.dumps(load.as_dict()))
    assert set(doc) == set(AgentLoad.__dataclass_fields__) and doc["agent_cpu"] == 0.085


def test_a_run_where_the_agent_took_no_frame_is_an_error():
    with pytest.raises(RuntimeError, match="took no frame"):
        agent_load(_offers()._replace(copy=[]), 1920, 1080, 30.0, 5.0, 20.0)


def test_format_quotes_the_targets():
    text = agent_load(_offers(), 1920, 1080, 30.0, 5.0, 20.0).format()
    assert text.startswith(
        "agent beside an app: 1920x1080 BGR8 offered at 30 fps through the tap, analysis at 5 fps"
    )
    assert "agent CPU: 8.5% of one core (target < 15%); RSS 61 MiB" in text
    assert "offer() not sampled: median 2.5 us" in text and "(target < 20 us)" in text
    assert "offer() copying a frame: median 1.10 ms" in text and "3 of 7 offers copied" in text


def test_bench_config_is_one_the_agent_accepts(tmp_path: Path):
    act = '[activations]\nenabled = false\nmodel = "m.onnx"\nevery_n = 5\n'
    cfg = agent_config(str(tmp_path), "bench-x", 5.0, act)
    doc = tomllib.loads(cfg.read_text())
    assert doc["source"]["uri"] == "shm:bench-x" and doc["analysis"]["max_fps"] == 5.0
    assert doc["sinks"]["console"]["enabled"] is False and doc["evidence"]["max_bytes"] == 0
    assert doc["baseline"]["path"] == f"{tmp_path}/baseline.npz" and doc["activations"]["every_n"] == 5
    config = load_config(str(cfg))
    assert config.source.uri == "shm:bench-x"


def test_section_runs_the_agent_bench():
    assert (SECTION.name, SECTION.flag) == ("agent", "--agent") and "(~30 s)" in SECTION.help


@pytest.mark.slow
def test_short_real_run_beside_the_daemon():
    load = measure(width=320, height=240, seconds=3.0, warmup=5.0)
    assert load.copies > 0 and load.offers > load.copies  # the agent samples a few of the 30 fps offers
    assert 0.0 < load.agent_cpu < 2.0 and load.agent_rss_mib > 10
    assert load.offer_skip_median_us < load.offer_copy_median_us
