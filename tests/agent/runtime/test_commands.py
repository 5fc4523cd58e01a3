"""Carrying out the operators' commands against a real pipeline: a capture saves the last analysed frame, an
acknowledgement names only the open episode and is kept on disk (a damaged file is ignored, never fatal), and a
failure is an error reply, never an exception in the agent's loop."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from camdrift.agent.mqtt.commands import Command
from camdrift.agent.output.events import State
from camdrift.agent.output.evidence import EvidenceSpool
from camdrift.agent.runtime.commands import CommandRunner, load_acknowledged
from tests.agent.runtime.test_pipeline import ONSET, _frames, _pipeline


def _parts(tmp_path: Path, evidence: bool = True) -> tuple[SimpleNamespace, list]:
    pipe, sink = _pipeline()
    spool = EvidenceSpool(tmp_path / "evidence") if evidence else None
    return SimpleNamespace(pipeline=pipe, evidence=spool, sinks=[sink]), sink


def test_capture_and_ack_against_a_real_pipeline(tmp_path: Path) -> None:
    parts, sink = _parts(tmp_path)
    statuses: list[int] = []
    runner = CommandRunner(tmp_path / "acknowledged.json", lambda: statuses.append(1), lambda: 1.7e9)
    assert runner.run(Command("c0", "capture"), parts).error == "no frame analysed yet"
    for f in _frames()[: ONSET + 15]:
        parts.pipeline.analyse(f)
    capture = runner.run(Command("c1", "capture"), parts)
    assert capture.ok and (tmp_path / "evidence" / capture.evidence_id / "frame_00.jpg").is_file()
    again = runner.run(Command("c2", "capture"), parts)  # no new frame since: the same capture, not a second
    assert again.ok and again.evidence_id == capture.evidence_id
    assert [r.evidence_id for r in parts.evidence.records()].count(capture.evidence_id) == 1
    episode = parts.pipeline.engine.snapshot().episode_id
    assert episode and not runner.run(Command("a0", "ack", "other"), parts).ok
    assert runner.run(Command("a1", "ack", episode), parts).ok
    assert sink.of(State)[-1].episode.acknowledged is True
    assert load_acknowledged(tmp_path / "acknowledged.json") == episode
    before = len(sink.of(State))
    assert (
        runner.run(Command("r1", "refresh"), parts).ok
        and statuses == [1]
        and len(sink.of(State)) == before + 1
    )
    parts.pipeline.headline.acknowledged = None
    runner.restore(parts)  # as after a restart
    assert parts.pipeline.headline.acknowledged == episode


def test_failures_are_replies(tmp_path: Path) -> None:
    parts, _ = _parts(tmp_path, evidence=False)
    for f in _frames()[: ONSET + 15]:
        parts.pipeline.analyse(f)
    runner = CommandRunner(tmp_path / "no-such-dir" / "x" / "acknowledged.json", lambda: None, lambda: 1.7e9)
    assert runner.run(Command("c", "capture"), parts).error == "evidence is off (evidence.max_bytes = 0)"
    episode = parts.pipeline.engine.snapshot().episode_id
    (tmp_path / "no-such-dir").write_text("a file where a folder should be")
    reply = runner.run(Command("a", "ack", episode), parts)
    assert not reply.ok and reply.error.startswith("failed:")


def test_a_damaged_acknowledgement_file_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "acknowledged.json"
    assert load_acknowledged(path) is None
    for text in ("{", "[]", '{"episode_id": 3}', '{"episode_id": ""}', " " * 5000):
        path.write_text(text)
        assert load_acknowledged(path) is None
