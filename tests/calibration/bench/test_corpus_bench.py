"""``camdrift bench --corpus`` (corpus_bench.py): the per-scene and overall figures, the table, the options.

The figures are computed from scene results built by hand, so each one is checked against a count made here;
the corpus itself runs through the real CLI in test_corpus_scene.py.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys

import pytest

from camdrift.calibration.bench.corpus import CORPUS, QUICK
from camdrift.calibration.bench.corpus_bench import (
    SECTION,
    CorpusBench,
    format_table,
    peer_summary,
    summarize,
)
from camdrift.calibration.bench.corpus_run import Calibration
from camdrift.calibration.bench.corpus_scene import PeerOutcome, SceneResult, VerifyOutcome
from camdrift.calibration.bench.corpus_score import Alarm, Change, Healthy, Lamp


def _change(name: str, delay: float | None, cause: str, expected: str, shift=None, truth=None) -> Change:
    detected = None if delay is None else 10.0 + delay
    frames = None if delay is None else round(delay * 5)
    return Change(name, 10.0, detected, delay, frames, cause, expected, 0, 0, shift, truth)


def _scene(i: int, *, false: int = 0, refused: bool = False) -> SceneResult:
    calibration = Calibration(1 if refused else 0, "took 5 s", 6.0)
    if refused:
        return SceneResult(CORPUS[i], calibration, None, (), None, (), (), {}, 7.0)
    alarms = tuple(Alarm(100.0 + k, "shift.brightness", "lighting") for k in range(false))
    changes = (
        _change("gain_step", 0.4, "lighting", "lighting"),
        _change("gamma", 1.6, "lighting", "gamma"),  # caught, wrong cause
        _change(
            "camera_shift_rotated", 0.8, "camera_moved", "camera_moved", (19.0, 0.0, 1.0), (19.2, 0.0, 1.0)
        ),
        _change("noise", None, "", "noise"),  # missed
    )
    lamp = Lamp(
        0.008, 3600.0 + 24000.0, 3.9, 4.2, "crosses tolerance in ~3.9 days (2.8-6.3 at 95 %)", 0, (2.8, 6.3)
    )
    verifies = (
        VerifyOutcome("", 0, "pass", "", ""),
        VerifyOutcome("", 0, "warn", "", ""),
        VerifyOutcome("", 1, "fail", "", ""),
        VerifyOutcome("gain_step", 1, "fail", "lighting", "lighting"),
        VerifyOutcome("gamma", 1, "fail", "lighting", "gamma"),
    )
    peers = (
        PeerOutcome("psi", "", None, 2, 0),
        PeerOutcome("psi", "gain_step", 3.0, 1, 0),
        PeerOutcome("psi", "gamma", None, 0, 0),
        PeerOutcome("page-hinkley", "", None, 0, 0),
        PeerOutcome("page-hinkley", "gain_step", 0.6, 1, 0),
        PeerOutcome("page-hinkley", "gamma", 1.0, 1, 0),
    )
    return SceneResult(
        CORPUS[i], calibration, Healthy(20_000, alarms, 3), changes, lamp, verifies, peers, {}, 60.0
    )


def test_a_scene_row_counts_what_the_events_said() -> None:
    s = summarize("cups", (_scene(0, false=1),))
    assert (s.healthy_frames, s.false_started, s.warnings) == (20_000, 1, 3)
    assert (s.caught, s.changes, s.right_cause) == (3, 4, 2)
    assert s.median_s == pytest.approx(0.8)
    assert s.worst_s is None  # a change was missed: no worst delay to quote
    assert (s.moves_ok, s.moves) == (1, 1)
    assert s.lamp_lost == pytest.approx(0.008) and s.forecast == "3.9 d [2.8-6.3] (true 4.2 d)"
    assert (s.verify_fail, s.verify_warn, s.verify_healthy) == (1, 1, 3)
    assert (s.verify_right, s.verify_changes) == (1, 2)


def test_the_overall_row_pools_every_scene() -> None:
    s = summarize("overall", (_scene(0, false=1), _scene(1), _scene(2, false=2)))
    assert (s.healthy_frames, s.false_started, s.caught, s.changes) == (60_000, 3, 9, 12)
    assert s.forecast == ""  # one forecast per scene: the overall row quotes none
    assert s.calibrated


def test_a_refused_calibration_is_shown_not_hidden() -> None:
    bench = CorpusBench(QUICK, (_scene(0), _scene(3, refused=True)), 70.0)
    rows = bench.summaries()
    assert not rows[1].calibrated and not rows[-1].calibrated
    text = format_table(bench)
    assert "calibrate refused" in text


def test_peers_are_summarized_on_the_same_streams() -> None:
    scenes = (_scene(0), _scene(1))
    assert peer_summary(scenes, "psi") == {
        "false_alarms": 4,
        "caught": 2,
        "changes": 4,
        "median_delay_s": 3.0,
    }
    ph = peer_summary(scenes, "page-hinkley")
    assert (ph["false_alarms"], ph["caught"]) == (0, 4) and ph["median_delay_s"] == pytest.approx(0.8)


def test_table_has_a_row_per_scene_the_overall_and_each_change() -> None:
    bench = CorpusBench(QUICK, (_scene(0), _scene(1)), 125.0)
    text = format_table(bench)
    lines = text.splitlines()
    assert any(line.lstrip().startswith(CORPUS[0].label) for line in lines)
    assert any(line.lstrip().startswith("overall") for line in lines)
    gamma = next(line for line in lines if line.lstrip().startswith("gamma "))
    assert "1.6 lighting (!)" in gamma
    assert any(line.lstrip().startswith("noise") and "missed" in line for line in lines)
    assert "PSI>0.25" in text and "Page-Hinkley" in text
    assert lines[-1] == "  corpus wall time 125 s"


def test_json_carries_every_scene_and_no_nan() -> None:
    doc = CorpusBench(QUICK, (_scene(0), _scene(2)), 1.0).as_dict()
    text = json.dumps(doc, allow_nan=False)  # raises on a NaN or an infinity
    back = json.loads(text)
    assert [s["scene"] for s in back["scenes"]] == [CORPUS[0].label, CORPUS[2].label]
    assert back["summary"][-1]["label"] == "overall"
    assert not math.isnan(back["summary"][0]["median_s"])


def test_section_options_and_an_unknown_scene() -> None:
    p = argparse.ArgumentParser()
    SECTION.add_arguments(p)
    args = p.parse_args(["--corpus-size", "ci", "--corpus-scenes", "cups,static"])
    assert (args.corpus_size, args.corpus_scenes) == ("ci", "cups,static")
    assert (SECTION.name, SECTION.flag) == ("corpus", "--corpus")
    cmd = [sys.executable, "-m", "camdrift.agent.cli", "bench", "--no-kernels", "--corpus", "--corpus-scenes"]
    proc = subprocess.run([*cmd, "cups,belt"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "unknown corpus scene 'belt'" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
