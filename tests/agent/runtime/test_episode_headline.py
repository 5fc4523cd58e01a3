"""The open episode the retained state names: its start and latest top cause follow the events; after a restart
that restored an episode the headline says only its id; a new episode does not inherit the old one's start."""

from __future__ import annotations

from camdrift.agent.drift.decision import Cause, Decision
from camdrift.agent.drift.engine import EngineSnapshot
from camdrift.agent.output.events import Event
from camdrift.agent.runtime.episode_headline import EpisodeHeadline


def _decision(kind: str, t: float, episode: str, cause: str | None) -> tuple[Decision, Event]:
    causes = (Cause(cause, f"{cause} changed", 2.0),) if cause else ()
    d = Decision(
        kind, "shift.brightness", int(t * 5), t, episode, 9.0, 4.0, ("shift.brightness",), (), causes
    )
    event = Event(
        kind=kind,
        camera_id="cam",
        frame_index=d.frame_index,
        stream_time=t,
        episode_id=episode,
        group=d.group,
        severity="critical",
        summary=f"{cause} changed" if cause else "recovered",
        causes=causes,
    )
    return d, event


def _snap(episode: str) -> EngineSnapshot:
    return EngineSnapshot(0, 0.0, episode, True, True, ())


def test_the_headline_follows_the_episode_events():
    h = EpisodeHeadline()
    assert h.state(_snap("")) is None
    h.update(*_decision("drift.started", 10.0, "ep-1", "lighting"))
    assert h.state(_snap("ep-1")) == ("ep-1", 10.0, "lighting", "lighting changed", False)
    h.update(*_decision("drift.updated", 25.0, "ep-1", "white_balance"))
    assert h.state(_snap("ep-1")) == (
        "ep-1",
        10.0,
        "white_balance",
        "white_balance changed",
        False,
    )  # began at 10 s
    h.update(*_decision("drift.ended", 40.0, "ep-1", None))
    assert h.state(_snap("")) is None and h.current is None
    h.update(*_decision("drift.started", 50.0, "ep-2", "noise"))
    assert h.state(_snap("ep-2")).since == 50.0


def test_after_a_restart_the_restored_episode_is_named_without_a_cause():
    h = EpisodeHeadline()
    assert h.state(_snap("ep-7")) == ("ep-7", None, None, None, False)
    h.update(*_decision("drift.updated", 90.0, "ep-7", "smudge"))  # an update does not know when it began
    assert h.state(_snap("ep-7")) == ("ep-7", None, "smudge", "smudge changed", False)
    h.acknowledged = "ep-7"  # an operator acknowledged it (kept on disk across the restart)
    assert h.state(_snap("ep-7")).acknowledged and not h.state(_snap("ep-8")).acknowledged
