"""The demo's timeline (timeline.py): the scenario's truth as spans of stream time, the agent's episodes read
back from its event documents, and the two-band picture a person takes in at a glance."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from camdrift.agent.sim.scenarios import SCENARIOS, Phase, Scenario
from camdrift.calibration.demo.timeline import (
    Episode,
    TruthPhase,
    draw_timeline,
    episodes_from_events,
    truth_phases,
)


def test_truth_phases_of_the_demo_scenario_in_stream_seconds():
    demo = SCENARIOS["demo"]
    phases = truth_phases(demo)
    assert phases[0] == TruthPhase(0.0, demo.onset_frame / demo.fps, None, "healthy line")
    assert len(phases) == 1 + len(demo.phases)
    assert [p.cause for p in phases[1:3]] == ["lighting", None]
    assert [p.label for p in phases[1:4]] == ["lamps ageing", "healthy again", "camera bumped"]
    for a, b in zip(phases, phases[1:], strict=False):
        assert a.end_s == b.start_s  # spans follow each other without gaps
    assert phases[-1].end_s is None  # the last phase runs to the end of the stream
    assert phases[2].start_s == (demo.onset_frame + 900) / demo.fps


def test_every_phase_is_labelled_in_plain_words():
    s = Scenario(
        "x", "sequence", None, (Phase(0, cause="gamma"), Phase(10), Phase(20, cause="noise")), onset_frame=5
    )
    assert [p.label for p in truth_phases(s)] == [
        "healthy line",
        "gamma changed",
        "healthy again",
        "sensor noise up",
    ]


def _event(kind: str, eid: str | None, t: float, code: str | None = None) -> dict:
    causes = [] if code is None else [{"code": code}]
    return {"kind": kind, "episode_id": eid, "stream_time": t, "causes": causes, "summary": f"{kind} {eid}"}


def test_episodes_pair_start_and_end_by_episode_id_in_time_order():
    events = [
        _event("drift.started", "e1", 10.0, "lighting"),
        _event("state", None, 11.0),
        _event("drift.started", "e2", 12.0),
        _event("drift.ended", "e1", 20.0),
        _event("drift.ended", "unknown", 21.0),
        _event("drift.started", "e3", 30.0, "defocus"),
    ]
    eps = episodes_from_events(events)
    assert eps == [
        Episode(10.0, 20.0, "lighting", "drift.started e1"),
        Episode(12.0, None, None, "drift.started e2"),  # no cause given, never ended
        Episode(30.0, None, "defocus", "drift.started e3"),
    ]


def test_picture_has_the_two_bands_and_the_cause_colours(tmp_path: Path):
    demo = SCENARIOS["demo"]
    found = [Episode(70.0, 100.0, "lighting", "lamps"), Episode(300.0, None, "camera_moved", "bump")]
    out = draw_timeline(tmp_path / "sub" / "timeline.png", truth_phases(demo), found, 600.0)
    image = cv2.imread(str(out))
    assert out == tmp_path / "sub" / "timeline.png" and image.shape == (230, 1200, 3)
    lamps, bumped = (60, 170, 240), (200, 120, 60)  # BGR of lighting and camera_moved
    assert np.any(np.all(image[50:95] == lamps, axis=2)) and np.any(np.all(image[125:170] == lamps, axis=2))
    assert np.any(np.all(image[125:170] == bumped, axis=2))


def test_unwritable_picture_is_an_oserror(tmp_path: Path):
    (tmp_path / "timeline.png").write_text("a file where a folder is needed")
    with pytest.raises(OSError):
        draw_timeline(tmp_path / "timeline.png" / "in-a-file.png", [], [], 10.0)
