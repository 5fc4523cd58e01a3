"""Config + baseline -> the running parts: the same checks and the same pipeline at start and on a reload."""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path

import pytest

from camdrift.agent.output.events import Sequencer
from camdrift.agent.output.sinks import ConsoleSink, JsonlSink
from camdrift.agent.reference.baseline import load_baseline, save_baseline
from camdrift.agent.runtime.assembly import (
    StartupError,
    activation_sampler,
    assemble,
    build_sinks,
    checked_baseline,
    evidence_spool,
    for_reload,
    frame_sampler,
    mqtt_sinks,
)
from camdrift.calibration.calibrate.build import keep_frames, reference_frames
from tests.agent.drift_fixtures import small_baseline, stats_of
from tests.agent.runtime.helpers import agent_config, frames, workshop


def analysed(parts, n: int, start: int = 0):
    for f in frames(n, start):
        parts.pipeline.analyse(f)
    return parts


def test_a_baseline_that_does_not_fit_the_source_is_refused_naming_why(tmp_path: Path, baseline_file: Path):
    with pytest.raises(StartupError, match="no baseline at .*none.npz: run `camdrift calibrate"):
        checked_baseline(agent_config(tmp_path, tmp_path / "none.npz"))
    cfg = agent_config(tmp_path, baseline_file, source={"pixel_format": "gray8"})
    with pytest.raises(StartupError, match="calibrated on bgr8 frames but source.pixel_format is gray8"):
        checked_baseline(cfg)
    with pytest.raises(
        StartupError, match="was calibrated with stride 1 but analysis.stride is 2; calibrate at the stride"
    ):
        checked_baseline(agent_config(tmp_path, baseline_file, analysis={"stride": 2}))
    with pytest.raises(
        StartupError, match=r"was calibrated with roi None but source.roi is \(0, 0, 10, 10\)"
    ):
        checked_baseline(agent_config(tmp_path, baseline_file, source={"roi": [0, 0, 10, 10]}))
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(StartupError, match="bad.npz refused"):
        checked_baseline(agent_config(tmp_path, tmp_path / "bad.npz"))


def test_a_start_restores_the_windows_saved_at_the_last_stop(tmp_path: Path, baseline_file: Path, caplog):
    cfg = agent_config(tmp_path, baseline_file)
    shop = workshop(cfg)
    first = analysed(assemble(cfg, checked_baseline(cfg), shop), 30)
    first.pipeline.save_state(str(shop.paths.engine_state))
    with caplog.at_level(logging.INFO, logger="camdrift.agent"):
        again = assemble(cfg, checked_baseline(cfg), shop)
    assert "restored engine state from" in caplog.text
    assert again.pipeline.stream_time == first.pipeline.stream_time == pytest.approx(29 / 5.0)


def test_a_state_that_does_not_load_leaves_fresh_windows(tmp_path: Path, baseline_file: Path, caplog):
    cfg = agent_config(tmp_path, baseline_file)
    shop = workshop(cfg)
    shop.paths.engine_state.write_bytes(b"not a state")
    with caplog.at_level(logging.WARNING, logger="camdrift.agent"):
        parts = assemble(cfg, checked_baseline(cfg), shop)
    assert "not restored (starting fresh windows)" in caplog.text
    assert parts.pipeline.stream_time == -math.inf


def test_a_reload_with_the_same_baseline_keeps_windows_counters_and_spool(
    tmp_path: Path, baseline_file: Path
):
    cfg = agent_config(tmp_path, baseline_file)
    shop = workshop(cfg)
    old = analysed(assemble(cfg, checked_baseline(cfg), shop), 30)
    faster = agent_config(tmp_path, baseline_file, analysis={"max_fps": 10.0})
    new = assemble(faster, checked_baseline(faster), shop, previous=old)
    assert new.pipeline is not old.pipeline and new.sinks is old.sinks
    assert new.pipeline.stream_time == old.pipeline.stream_time and new.pipeline.counters.analysed == 30
    assert new.evidence is old.evidence and new.sampler.fps == 10.0
    other_rate = agent_config(tmp_path, baseline_file, evidence={"rate": 1.0})
    assert assemble(other_rate, checked_baseline(other_rate), shop, previous=new).evidence is not old.evidence


def test_a_reload_with_a_new_baseline_starts_fresh_windows(tmp_path: Path, baseline_file: Path):
    cfg = agent_config(tmp_path, baseline_file)
    shop = workshop(cfg)
    old = analysed(assemble(cfg, checked_baseline(cfg), shop), 30)
    old.pipeline.save_state(str(shop.paths.engine_state))  # not restored on a reload
    save_baseline(small_baseline(seed=5), tmp_path / "new.npz")
    cfg2 = agent_config(tmp_path, tmp_path / "new.npz")
    new = assemble(cfg2, checked_baseline(cfg2), shop, previous=old)
    assert new.baseline.baseline_id != old.baseline.baseline_id
    assert new.pipeline.stream_time == -math.inf and new.pipeline.counters.analysed == 0


def test_a_reload_applies_all_but_the_restart_only_sections(tmp_path: Path, baseline_file: Path):
    running = agent_config(tmp_path, baseline_file)
    new = agent_config(
        tmp_path / "other",
        baseline_file,
        source={"uri": "shm:line9"},
        sinks={"jsonl": {"path": "/tmp/x.jsonl"}},
        mqtt={"host": "broker"},
        evidence={"dir": "/data/ev", "rate": 2.0},
        analysis={"max_fps": 2.0},
    )
    cfg, changed = for_reload(running, new)
    assert changed == ["source", "sinks", "mqtt", "state", "evidence.dir"]
    assert (cfg.source, cfg.sinks, cfg.mqtt, cfg.state) == (
        running.source,
        running.sinks,
        running.mqtt,
        running.state,
    )
    assert (
        cfg.evidence.dir == running.evidence.dir and cfg.evidence.rate == 2.0 and cfg.analysis.max_fps == 2.0
    )
    assert for_reload(running, running) == (running, [])


def test_replays_run_without_a_cpu_budget(tmp_path: Path, baseline_file: Path):
    assert frame_sampler(agent_config(tmp_path, baseline_file)).budget is None  # would always read as over it
    live = frame_sampler(agent_config(tmp_path, baseline_file, source={"uri": "shm:line3"}))
    assert live.budget is not None and live.budget.budget == 0.15
    assert live.stride == 1 and live.fps == 5.0


def test_evidence_off_keeps_no_spool(tmp_path: Path, baseline_file: Path):
    for evidence in ({"max_bytes": 0}, {"rate": 0.0}):
        cfg = agent_config(tmp_path, baseline_file, evidence=evidence)
        assert evidence_spool(cfg, workshop(cfg).paths) is None
    cfg = agent_config(tmp_path, baseline_file, evidence={"rate": 6.0})
    spool = evidence_spool(cfg, workshop(cfg).paths)
    assert spool.min_interval_s == 600.0 and spool.root == tmp_path / "state/evidence"


def test_the_extra_sinks_come_first_then_the_config_ones(tmp_path: Path, baseline_file: Path):
    """The MQTT outbox commits before the JSON-lines file: a line in the file is never an undelivered event."""
    extra = ConsoleSink()
    cfg = agent_config(
        tmp_path,
        baseline_file,
        sinks={"console": {"enabled": True}, "jsonl": {"path": str(tmp_path / "e.jsonl")}},
    )
    sinks = build_sinks(cfg, workshop(cfg, make_sinks=lambda c, paths, seq: [extra]))
    assert [type(s) for s in sinks] == [ConsoleSink, JsonlSink, ConsoleSink] and sinks[0] is extra


def test_activations_need_a_baseline_with_the_group(tmp_path: Path, baseline_file: Path):
    cfg = agent_config(tmp_path, baseline_file, activations={"enabled": True, "model": "m.onnx"})
    with pytest.raises(StartupError, match="the baseline has no activation group"):
        activation_sampler(cfg, small_baseline())
    assert activation_sampler(agent_config(tmp_path, baseline_file), small_baseline()) is None


def test_no_mqtt_sink_without_a_broker(tmp_path: Path, baseline_file: Path):
    cfg = agent_config(tmp_path, baseline_file)
    assert mqtt_sinks(cfg, workshop(cfg).paths, Sequencer()) == []


def test_the_agent_leaves_the_per_frame_reference_features_on_disk(tmp_path: Path):
    """A baseline keeps its reference frames' features for ``baseline merge`` (most of the file); the agent
    loads it without them, and the file still loads whole for merging."""
    path = tmp_path / "with-frames.npz"
    b = small_baseline()
    save_baseline(
        dataclasses.replace(b, reference_frames=keep_frames(reference_frames(stats_of(3, 600)))), path
    )
    assert load_baseline(path).reference_frames is not None
    assert checked_baseline(agent_config(tmp_path, path)).reference_frames is None


def test_each_agent_is_its_own_sparkplug_node_by_default(tmp_path: Path, baseline_file: Path):
    from tests.agent.mqtt.broker import free_port

    mqtt = {"host": "127.0.0.1", "port": free_port(), "site": "plant-1", "sparkplug": {"enabled": True}}
    cfg = agent_config(tmp_path, baseline_file, mqtt=mqtt)
    sinks = mqtt_sinks(cfg, workshop(cfg).paths, Sequencer())
    try:
        assert [type(s).__name__ for s in sinks] == ["MqttSink", "SparkplugSink"]
        assert sinks[1].edge_node_id == "plant-1-cam1" and sinks[1].group_id == "camdrift"
    finally:
        for sink in sinks:
            sink.stop()
            sink.close()
