"""The local sinks: JSON lines a tool can read back, console lines a person can read."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
import pytest

from camdrift.agent.output.events import Cause, Event, GroupState, Metrics, Sequencer, State
from camdrift.agent.output.sinks import Backlog, ConsoleSink, JsonlSink, read_jsonl

SCHEMA = json.loads((Path(__file__).resolve().parents[3] / "agent/schema/messages.schema.json").read_text())


def drift_started(frame_index: int = 120) -> Event:
    return Event(
        kind="drift.started",
        camera_id="line3-cam1",
        frame_index=frame_index,
        stream_time=frame_index / 5,
        episode_id="ep-1",
        group="luma",
        severity="warning",
        summary="image darker than baseline",
        causes=(Cause("lighting", "mean luma -18% since baseline, uniform across the frame: lighting", 0.9),),
        numbers={"psi": 0.41, "threshold": 0.12},
    )


def test_jsonl_sink_writes_schema_valid_lines_in_order(tmp_path: Path) -> None:
    path = tmp_path / "events" / "cam1.jsonl"
    sink = JsonlSink(path, Sequencer())
    sink.send(drift_started(120))
    sink.send(State("line3-cam1", 121, 24.2, (GroupState("luma", "drift", "ep-1", 0.41, 0.12, 24.0),)))
    sink.send(Metrics("line3-cam1", 122, 24.4, (), period_s=10.0))  # periodic: not for the file
    sink.send(drift_started(130))
    assert sink.healthy
    sink.stop()
    docs = read_jsonl(path)
    assert [d["schema"] for d in docs] == ["camdrift.event/1", "camdrift.state/1", "camdrift.event/1"]
    assert [d["seq"] for d in docs if d["schema"] == "camdrift.event/1"] == [1, 2]
    assert docs[0]["frame_index"] == 120 and docs[0]["stream_time"] == 24.0
    for doc in docs:
        jsonschema.validate(doc, SCHEMA)
    assert not sink.healthy
    with pytest.raises(RuntimeError, match="stopped"):
        sink.send(drift_started())


def test_jsonl_reader_skips_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    sink = JsonlSink(path, Sequencer())
    sink.send(drift_started())
    sink.stop()
    with open(path, "a") as f:
        f.write('{"schema": "camdrift.ev')  # the agent died mid-write
    assert len(read_jsonl(path)) == 1


def test_console_sink_prints_event_with_its_likely_cause() -> None:
    out = io.StringIO()
    ConsoleSink(out).send(drift_started())
    text = out.getvalue()
    assert "[line3-cam1] drift.started luma (episode ep-1) at frame 120, t=24.0s" in text
    assert "    image darker than baseline" in text
    assert "also possible" not in text  # a single cause


def test_console_sink_json_lines_for_log_collectors() -> None:
    out = io.StringIO()
    sink = ConsoleSink(out, fmt="json")
    sink.send(drift_started())
    sink.send(Metrics("line3-cam1", 122, 24.4, (), period_s=10.0))  # not an event: not printed
    (line,) = out.getvalue().splitlines()
    doc = json.loads(line)
    jsonschema.validate(doc, SCHEMA)
    assert doc["kind"] == "drift.started" and doc["frame_index"] == 120
    with pytest.raises(ValueError, match="console format"):
        ConsoleSink(out, fmt="xml")


def test_console_sink_can_show_only_some_kinds() -> None:
    out = io.StringIO()
    sink = ConsoleSink(out, kinds=("drift.ended",))
    sink.send(drift_started())
    assert out.getvalue() == ""


def test_local_sinks_hold_nothing_undelivered_and_stop_cleanly(tmp_path: Path) -> None:
    jsonl = JsonlSink(tmp_path / "events.jsonl", Sequencer())
    console = ConsoleSink(io.StringIO())
    for sink in (jsonl, console):
        sink.send(drift_started())
        assert sink.backlog == Backlog(0, {}) and sink.healthy
        sink.stop()
        sink.close()  # what the daemon calls after stop
    assert not jsonl.healthy  # stopped: the watchdog must not be fed by a closed file
    with pytest.raises(RuntimeError, match="is stopped"):
        jsonl.send(drift_started())
    assert len(read_jsonl(tmp_path / "events.jsonl")) == 1
