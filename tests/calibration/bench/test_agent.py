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

START = (0.93, "0.88 s after the process started (9 numba specialisations loaded)")


def _offers() -> OfferTimes:
    skip = [1.0, 2.0, 3.0, 100.0]
    copy = [900.0, 1100.0, 1500.0]
    return OfferTimes(
        skip, copy, noop=[0.5, 0.5, 0.7], tight=[0.2, 0.3, 0.4], cpu=0.085, rss_mib=61.4, pss_mib=40.2
    )


def test_figures_of_a_run():
    load = agent_load(_offers(), 1920, 1080, 30.0, 5.0, 20.0, START, 0.31)
    assert (load.offers, load.copies, load.agent_cpu, load.agent_rss_mib, load.agent_pss_mib) == (
        7,
        3,
        0.085,
        61.4,
        40.2,
    )
    assert (load.start_to_first_frame_s, load.agent_start_note, load.reattach_s) == (*START, 0.31)
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
        agent_load(_offers()._replace(copy=[]), 1920, 1080, 30.0, 5.0, 20.0, START, 0.31)


def test_format_is_a_table_of_figures_beside_their_targets():
    lines = agent_load(_offers(), 1920, 1080, 30.0, 5.0, 20.0, START, 0.31).format().splitlines()
    assert lines[0].startswith(
        "agent beside an app: 1920x1080 BGR8 offered at 30 fps through the tap, analysis at 5 fps"
    )
    rows = {line[:42].strip(): line[42:].split() for line in lines[1:]}
    assert rows["agent CPU beside the tap"] == ["8.5", "%", "of", "a", "core", "<=", "6", "%"]
    assert rows["agent RSS / PSS at steady state"][:4] == ["61", "/", "40", "MiB"]
    assert rows["process start to first analysed frame"][:2] == ["0.93", "s"]
    assert "9 numba specialisations loaded" in " ".join(rows["the agent's own log line"])
    assert rows["re-attach to a re-created tap segment"] == ["0.31", "s", "<=", "1", "s"]
    assert rows["frames copied by the app"][:5] == ["3", "of", "7", "offered", "(0.1"]
    assert rows["offer() not sampled, median / p99"][:3] == ["2.5", "/", "97.1"]
    assert rows["offer() copying a frame, median / p99"][:3] == ["1.10", "/", "1.49"]
    assert max(map(len, lines)) <= 120


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
    assert (SECTION.name, SECTION.flag) == ("agent", "--agent") and "(~35 s)" in SECTION.help


@pytest.mark.slow
def test_short_real_run_beside_the_daemon():
    load = measure(width=320, height=240, seconds=3.0, warmup=5.0)
    assert load.copies > 0 and load.offers > load.copies  # the agent samples a few of the 30 fps offers
    assert 0.0 < load.agent_cpu < 2.0 and load.agent_rss_mib > 10
    assert load.offer_skip_median_us < load.offer_copy_median_us
    assert 0.0 < load.start_to_first_frame_s < 60 and "numba specialisations loaded" in load.agent_start_note
    assert 0.0 < load.reattach_s < 5.0 and 10 < load.agent_pss_mib <= load.agent_rss_mib
    assert load.specialisations >= 1
