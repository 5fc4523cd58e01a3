"""What the detection corpus is (corpus.py): its four scenes and every clip planned over them.

- the scenes form the orthogonal array the module states: each level of size, source rate and file format is
  used twice, and every pair of levels of two factors occurs once;
- every clip has its own seed, within a scene and across scenes, and the reference seed is never a test clip's;
- clip lengths follow the settings: the reference is ``ref_s`` of source frames, the long healthy stream holds
  ``healthy_frames`` analysed at 5 fps, a change has its healthy lead-in, the lamp runs until ``lamp_loss``;
- a scene list names an unknown scene, the mono scene has no white balance, a format must be one the corpus
  writes.
The files are tested in test_corpus_files.py, the end-to-end run in test_corpus_scene.py.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace

import pytest

from camdrift.agent.sim.scenarios import CHANGE_LIST, SCENARIOS
from camdrift.calibration.bench.corpus import (
    ANALYSIS_FPS,
    CI,
    CORPUS,
    FULL,
    LAMP,
    QUICK,
    SUDDEN_CHANGES,
    CorpusScene,
    CorpusSettings,
    changes_of,
    clips,
    lamp_frames,
    scenes_named,
)

# Every clip the corpus can plan: all sudden changes, the lamp, and the full verify set.
EVERYTHING = CorpusSettings(changes=None, lamp=True)
FACTORS = {"size": lambda s: s.size, "fps": lambda s: s.fps, "fmt": lambda s: s.fmt}


def test_scenes_form_the_orthogonal_array() -> None:
    assert [s.index for s in CORPUS] == [0, 1, 2, 3]
    assert len({s.name for s in CORPUS}) == 4
    for name, level in FACTORS.items():
        counts = Counter(level(s) for s in CORPUS)
        assert len(counts) == 2 and set(counts.values()) == {2}, (name, counts)
    for (a, la), (b, lb) in itertools.combinations(FACTORS.items(), 2):
        pairs = Counter((la(s), lb(s)) for s in CORPUS)
        assert len(pairs) == 4 and set(pairs.values()) == {1}, (a, b, pairs)


def test_scene_table_is_the_documented_one() -> None:
    assert [s.label for s in CORPUS] == [
        "cups 640x360 30fps mp4v",
        "parts_mono 1280x720 10fps mp4v",
        "mixed 640x360 10fps png",
        "static 1280x720 30fps png",
    ]


@pytest.mark.parametrize("settings", (FULL, CI, QUICK, EVERYTHING), ids=("full", "ci", "quick", "everything"))
def test_every_clip_has_its_own_seed_and_the_reference_seed_is_never_tested(settings: CorpusSettings) -> None:
    plans = {s.name: clips(s, settings) for s in CORPUS}
    seeds = [c.seed for plan in plans.values() for c in plan]
    assert len(seeds) == len(set(seeds)), Counter(seeds).most_common(3)
    references = {c.seed for plan in plans.values() for c in plan if c.role == "reference"}
    tested = {c.seed for plan in plans.values() for c in plan if c.role != "reference"}
    assert len(references) == len(CORPUS) and references.isdisjoint(tested)
    for plan in plans.values():  # one file per clip: names never collide in a scene's workdir
        assert len({c.name for c in plan}) == len(plan)
        assert [c.role for c in plan].count("reference") == 1


@pytest.mark.parametrize("scene", CORPUS, ids=lambda s: s.name)
def test_clip_lengths_follow_the_settings(scene: CorpusScene) -> None:
    settings = CorpusSettings(ref_s=100.0, healthy_frames=20_000, lead_s=12.0, watch_s=10.0, verify_s=9.0)
    plan = clips(scene, settings)
    by_role: dict[str, list] = {}
    for c in plan:
        by_role.setdefault(c.role, []).append(c)
    (ref,) = by_role["reference"]
    assert (ref.scenario, ref.frames, ref.onset, ref.fps) == (
        "stationary",
        round(100 * scene.fps),
        None,
        scene.fps,
    )
    (healthy,) = by_role["healthy"]
    # 20,000 analysed frames at the agent's 5 fps: 4,000 s of stream time, at the scene's own source rate
    assert healthy.frames == round(20_000 / ANALYSIS_FPS * scene.fps) and healthy.onset is None
    assert healthy.frames / scene.fps * ANALYSIS_FPS == pytest.approx(20_000)
    for c in by_role["change"]:
        assert c.onset == round(12 * scene.fps) and c.frames == round(22 * scene.fps) and c.fps == scene.fps
    assert [c.scenario for c in by_role["change"]] == list(changes_of(scene, settings))
    assert len(by_role["verify-healthy"]) == settings.verify_clips
    for c in by_role["verify-healthy"]:
        assert (c.scenario, c.frames, c.onset) == ("stationary", round(9 * scene.fps), None)
    for c in by_role["verify-change"]:  # changed from the first frame: verify sees only the change
        assert (c.frames, c.onset) == (round(9 * scene.fps), 0)
    assert [c.scenario for c in by_role["verify-change"]] == [c.scenario for c in by_role["change"]]
    (lamp,) = by_role["lamp"]
    assert (lamp.scenario, lamp.fps) == (LAMP, SCENARIOS[LAMP].fps)


def test_lamp_clip_runs_an_hour_healthy_then_until_the_light_lost() -> None:
    for loss in (0.02, 0.05):
        onset, frames = lamp_frames(CorpusSettings(lamp_loss=loss))
        assert onset == 60  # one frame a minute: an hour
        lamp = replace(SCENARIOS[LAMP], onset_frame=onset)  # as the clip is rendered
        assert lamp.drift_at(onset - 1).gain == 1.0
        # the last frame has lost lamp_loss of the light, the one before it not yet
        assert 1.0 - lamp.drift_at(frames - 1).gain == pytest.approx(loss, abs=1e-9)
        assert 1.0 - lamp.drift_at(frames - 2).gain < loss


def test_settings_leave_out_what_they_do_not_run() -> None:
    cups = CORPUS[0]
    quick = clips(cups, QUICK)
    assert [c.role for c in quick] == ["reference", "healthy", "change", "verify-healthy", "verify-change"]
    assert {c.scenario for c in quick if c.role.endswith("change")} == {"gain_step"}
    assert not any(c.role == "lamp" for c in clips(cups, CI))
    assert sum(c.role == "verify-healthy" for c in clips(cups, FULL)) == 20


def test_sudden_changes_are_the_issue_list_without_the_lamp() -> None:
    assert LAMP in CHANGE_LIST and LAMP not in SUDDEN_CHANGES
    assert SUDDEN_CHANGES == tuple(c for c in CHANGE_LIST if c != LAMP)
    assert all(SCENARIOS[c].kind == "sudden" for c in SUDDEN_CHANGES)


def test_changes_of_leaves_out_white_balance_for_the_mono_scene() -> None:
    mono = next(s for s in CORPUS if s.name == "parts_mono")
    assert "white_balance" not in changes_of(mono, FULL)
    assert changes_of(mono, FULL) == tuple(c for c in SUDDEN_CHANGES if c != "white_balance")
    for colour in (s for s in CORPUS if s.name != "parts_mono"):
        assert changes_of(colour, FULL) == SUDDEN_CHANGES
    asked = CorpusSettings(changes=("white_balance", "gain_step"))
    assert changes_of(mono, asked) == ("gain_step",)
    assert changes_of(CORPUS[0], asked) == ("white_balance", "gain_step")  # the settings' order
    assert not any(c.scenario == "white_balance" for c in clips(mono, EVERYTHING))


def test_scenes_named_picks_in_the_order_named() -> None:
    assert scenes_named(None) == CORPUS and scenes_named("") == CORPUS
    assert [s.name for s in scenes_named(" static , cups,")] == ["static", "cups"]


def test_scenes_named_names_the_unknown_scene() -> None:
    with pytest.raises(ValueError, match=r"unknown corpus scene 'kitchen'.*cups, parts_mono, mixed, static"):
        scenes_named("cups,kitchen")


def test_corpus_scene_refuses_an_unknown_format() -> None:
    with pytest.raises(ValueError, match=r"corpus scene 'cups': format must be one of .*'avi'"):
        CorpusScene("cups", (640, 360), 30.0, "avi", 0)
