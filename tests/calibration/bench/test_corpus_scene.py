"""One corpus scene end to end (corpus_scene.py): ``run_scene`` on the ``cups`` scene (640x360, 30 fps, mp4v) at
the QUICK settings, the real CLI on real video files, as a user would run it.

- the reference calibrates (100 s of footage) and the baseline is written in the workdir;
- the long healthy stream raises no drift.started, the gain step is caught after its onset with cause lighting;
- verify passes the healthy clip and fails the changed one with cause lighting;
- the peers are scored on the same streams, and every clip file is deleted once used.
The units are tested in test_corpus.py, test_corpus_files.py, test_corpus_run.py and test_corpus_score.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from camdrift.calibration.bench.corpus import CORPUS, QUICK
from camdrift.calibration.bench.corpus_peers import PEERS
from camdrift.calibration.bench.corpus_scene import SceneResult, VerifyOutcome, run_scene

CUPS = CORPUS[0]


@pytest.fixture(scope="module", name="workdir")
def workdir_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("corpus-scene") / "cups"


@pytest.fixture(scope="module", name="result")
def result_fixture(workdir: Path) -> SceneResult:
    return run_scene(CUPS, QUICK, workdir)


@pytest.mark.slow
def test_the_reference_calibrates_and_the_baseline_is_written(result: SceneResult, workdir: Path) -> None:
    assert result.scene == CUPS
    assert result.calibration.exit_code == 0, result.calibration.message
    assert (workdir / "baseline.npz").is_file()
    assert result.formats == {
        "reference": "mp4v",
        "healthy": "mp4v",
        "change": "mp4v",
        "verify-healthy": "mp4v",
        "verify-change": "mp4v",
    }
    assert result.lamp is None  # not run at QUICK
    assert result.seconds >= result.calibration.seconds > 0


@pytest.mark.slow
def test_the_healthy_stream_raises_no_drift(result: SceneResult) -> None:
    assert result.healthy is not None
    assert result.healthy.frames == QUICK.healthy_frames  # 60 s at 30 fps, analysed at 5 fps
    assert result.healthy.alarms == ()


@pytest.mark.slow
def test_the_gain_step_is_caught_with_cause_lighting(result: SceneResult) -> None:
    (change,) = result.changes
    assert change.change == "gain_step" and change.expected == "lighting"
    assert change.affected_t == pytest.approx(QUICK.lead_s)  # the onset: every pixel brighter from it
    assert change.detected_t is not None, change
    assert 0.0 <= change.delay_s <= QUICK.watch_s
    assert change.cause == "lighting" and change.early == 0


@pytest.mark.slow
def test_verify_passes_the_healthy_clip_and_fails_the_changed_one(result: SceneResult) -> None:
    assert result.verifies == (
        VerifyOutcome("", 0, "pass", "", ""),
        VerifyOutcome("gain_step", 1, "fail", "lighting", "lighting"),
    )


@pytest.mark.slow
def test_the_peers_are_scored_on_the_healthy_stream_and_the_change(result: SceneResult) -> None:
    assert [(p.peer, p.change) for p in result.peers] == [(p, "") for p in PEERS] + [
        (p, "gain_step") for p in PEERS
    ]
    for p in result.peers:
        if p.change == "":
            assert p.delay_s is None and p.early == 0
    ph = next(p for p in result.peers if p.peer == "page-hinkley" and p.change == "gain_step")
    assert ph.early == 0


@pytest.mark.slow
def test_every_clip_file_is_deleted_once_used(result: SceneResult, workdir: Path) -> None:
    assert not list(workdir.rglob("*.mp4"))
    # left: the baseline and one directory per clip run, each with its own events and engine state (the agent's
    # evidence, thumbnails included, lives in that state)
    top = sorted(p.name for p in workdir.iterdir())
    assert top == ["baseline.npz", "change-gain_step-s1010", "healthy-stationary-s1002"]
    for run in top[1:]:
        assert sorted(p.name for p in (workdir / run).iterdir()) == ["events.jsonl", "state"]
