"""Group state machines (hysteresis, persistence, recovery) and camera-level episodes (one id each)."""

from __future__ import annotations

import doctest

import pytest

import camdrift.agent.drift.decision as decision_module
from camdrift.agent.drift.decision import DRIFT, OK, WARNING, Episodes, Hysteresis, episode_id


def _run(g: Hysteresis, scores: list[float]) -> list[str]:
    return [g.update(s).state for s in scores]


def test_doctests() -> None:
    assert doctest.testmod(decision_module).failed == 0


def test_persistence_needs_k_consecutive_frames() -> None:
    g = Hysteresis("x", warn=1.0, drift=2.0, persistence=3, recovery=2)
    assert _run(g, [3, 3, 0.5, 3, 3]) == [WARNING, WARNING, OK, WARNING, WARNING]
    assert g.update(3).state == DRIFT
    assert g.transition is not None and g.transition.kind == "drift"


def test_hysteresis_exit_below_entry_and_recovery_after_m_frames() -> None:
    g = Hysteresis("x", warn=1.0, drift=2.0, persistence=1, recovery=3)
    assert g.update(2.5).state == DRIFT
    # between exit (1.0) and drift (2.0): stays in drift however long
    assert _run(g, [1.5] * 20) == [DRIFT] * 20
    # below exit, but interrupted: the count restarts
    assert _run(g, [0.5, 0.5, 1.5, 0.5, 0.5]) == [DRIFT] * 5
    assert g.update(0.5).state == OK
    assert g.transition is not None and g.transition.kind == "recovered"


def test_warning_clears() -> None:
    g = Hysteresis("x", warn=1.0, drift=2.0)
    assert _run(g, [1.5, 0.9]) == [WARNING, OK]
    assert g.transition is not None and g.transition.kind == "cleared"


@pytest.mark.parametrize("kw", [{"warn": 3.0, "drift": 2.0}, {"warn": 1.0, "drift": 2.0, "persistence": 0}])
def test_bad_settings_are_refused(kw: dict) -> None:
    with pytest.raises(ValueError):
        Hysteresis("x", **kw)


def test_one_episode_one_id_from_start_to_end() -> None:
    groups = {n: Hysteresis(n, warn=1.0, drift=2.0, persistence=2, recovery=2) for n in ("a", "b")}
    ep = Episodes("cam", "base")
    script = [
        {"a": 3, "b": 0},
        {"a": 3, "b": 0},  # a enters drift -> started
        {"a": 3, "b": 3},
        {"a": 3, "b": 3},  # b joins -> updated
        {"a": 0, "b": 3},
        {"a": 0, "b": 3},  # a recovers, b still in drift: no end
        {"a": 0, "b": 0},
        {"a": 0, "b": 0},  # b recovers -> ended
        {"a": 3, "b": 0},
        {"a": 3, "b": 0},  # a new episode
    ]
    events = []
    for frame, scores in enumerate(script):
        transitions = [t for n, s in scores.items() if (t := groups[n].update(s).transition)]
        for kind, group in ep.kinds(transitions, frame, frame / 5):
            events.append((kind, group, frame, ep.current))
        ep.close_if_ended()
    kinds = [(k, g, f) for k, g, f, _ in events]
    assert kinds == [
        ("warning", "a", 0),
        ("drift.started", "a", 1),
        ("drift.updated", "b", 3),
        ("drift.ended", "b", 7),
        ("warning", "a", 8),
        ("drift.started", "a", 9),
    ]
    first = {e[3] for e in events[1:4]}
    assert len(first) == 1 and first == {episode_id("cam", "base", 1, 1 / 5)}
    assert events[5][3] != events[1][3]
    assert ep.current == episode_id("cam", "base", 9, 9 / 5)


def test_episode_ids_are_deterministic_and_distinct() -> None:
    assert episode_id("cam", "b", 10, 2.0) == episode_id("cam", "b", 10, 2.0)
    assert len({episode_id("cam", "b", i, i / 5) for i in range(1000)}) == 1000
    assert episode_id("cam", "b", 10, 2.0) != episode_id("cam2", "b", 10, 2.0)


def test_the_source_is_part_of_the_episode_id() -> None:
    """Two recordings with the same timing (an episode at the same frame and stream time) are two episodes;
    the same source replayed gives the same id, and no source named gives the ids of before."""
    a = episode_id("cam", "b", 10, 2.0, "video:/data/dark.avi (1 bytes, mtime_ns 1)")
    b = episode_id("cam", "b", 10, 2.0, "video:/data/blur.avi (1 bytes, mtime_ns 1)")
    assert a != b and a == episode_id("cam", "b", 10, 2.0, "video:/data/dark.avi (1 bytes, mtime_ns 1)")
    assert episode_id("cam", "b", 10, 2.0, "") == episode_id("cam", "b", 10, 2.0) not in (a, b)
    g = Hysteresis("a", warn=1.0, drift=2.0, persistence=1, recovery=1)
    ep = Episodes("cam", "b", source_id="shm:line7")
    ep.kinds([g.update(3.0).transition], 10, 2.0)
    assert ep.current == episode_id("cam", "b", 10, 2.0, "shm:line7")
    assert ep.state_header() == {"episode": ep.current, "episode_groups": ["a"]}  # the state holds no source


def test_a_capped_warn_equal_to_drift_still_leaves_the_drift_state():
    """Baselines from before warn < drift was enforced may have warn == drift (even at 1e308, as a crafted
    file found by the fuzz suite): the engine runs on them and a recovered statistic leaves the drift state."""
    g = Hysteresis("psi.red", warn=4.0, drift=4.0, persistence=1, recovery=1)
    assert [g.update(s).state for s in (1.0, 5.0, 5.0, 1.0)] == ["ok", "drift", "drift", "ok"]
    assert Hysteresis("psi.red", warn=1e308, drift=1e308).update(1.0).state == "ok"
