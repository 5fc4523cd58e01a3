"""``verify``'s verdicts (verdict.py) on real frame statistics: a statistic fails when the agent's rule put it in
drift, warns when it only rose above its warn threshold (even above drift, for fewer windows than the rule), the
capture's verdict is its worst row's with the agent's own cause, and a capture too short for the rule is refused.
"""

from __future__ import annotations

import json

import pytest

from camdrift.agent.sim.line import HEALTHY, Drift
from camdrift.calibration.verify.verdict import VERDICTS, VerifyResult, as_json, table, verify_stats
from tests.agent.drift_fixtures import FPS, WINDOW, small_baseline, stats_of


def _verify(drift: Drift = HEALTHY, n: int = 40, last: int | None = None) -> VerifyResult:
    """Later frames of the baseline's own line; ``drift`` in the ``last`` frames (all of them by default)."""
    onset = 1000 + n - (n if last is None else last)
    stats = stats_of(3, n, drift, onset=onset, start=1000)
    return verify_stats(small_baseline(), stats, [i / FPS for i in range(n)])


def test_same_scene_passes_every_statistic():
    result = _verify()
    baseline = small_baseline()
    assert result.verdict == "pass" and result.event is None and result.causes == ()
    assert [r.name for r in result.rows] == list(baseline.thresholds.names)
    assert all(r.verdict == "pass" and r.cause == r.cause_text == "" and r.run == 0 for r in result.rows)
    assert (result.frames, result.windows, result.persistence) == (40, 40 - WINDOW + 1, 3)
    assert result.reason == "every statistic stayed below its warn threshold over 21 windows"


def test_defocus_fails_with_the_agents_cause_and_rule():
    result = _verify(Drift(defocus_sigma=2.0))
    assert result.verdict == "fail" and result.causes[0].code == "defocus"
    assert result.event.kind == "drift.started" and result.causes == result.event.causes
    # in drift from the first full window on: the episode starts at the third (frame WINDOW + 1)
    assert result.event.frame_index == WINDOW + 1
    row = next(r for r in result.rows if r.name == "shift.sharpness")
    assert row.verdict == "fail" and row.cause == "defocus" and row.run == result.windows
    assert f"for {result.windows} consecutive windows (the agent's rule: 3)" in result.reason
    for r in result.rows:
        assert (r.verdict == "fail") == (r.run >= 3), r  # the rule, read back from the rows
        assert (r.cause == "") == (r.verdict == "pass"), r
    assert result.verdict == max((r.verdict for r in result.rows), key=VERDICTS.index)


def test_over_the_drift_threshold_for_fewer_windows_than_the_rule_warns():
    # the one-window rule verify used to apply would fail this capture; the agent would not start an episode
    result = _verify(Drift(gain=0.5), last=2)
    row = next(r for r in result.rows if r.name == "shift.brightness")
    assert row.statistic > row.drift and row.run == 2 and row.verdict == "warn"
    assert result.verdict == "warn" and result.event.kind == "warning"
    assert result.causes[0].code == "lighting"
    assert "for 2 consecutive windows, fewer than the agent's 3 for drift" in result.reason
    assert _verify(Drift(gain=0.5), last=3).verdict == "fail"


def test_table_and_json_carry_every_row_and_the_rule():
    result = _verify(Drift(defocus_sigma=2.0))
    lines = table(result).splitlines()
    assert lines[0].split() == [
        "what",
        "was",
        "measured",
        "score",
        "verdict",
        "in",
        "a",
        "row",
        "likely",
        "cause",
        "id",
    ]
    assert len(lines) == 2 + len(result.rows)  # the header, a row per statistic, the note on the score
    sharp = next(ln for ln in lines if ln.endswith(" shift.sharpness"))
    assert sharp.startswith("sharpness ") and " fail " in sharp and "defocus or dirty lens" in sharp
    row = next(r for r in result.rows if r.name == "shift.sharpness")
    assert f"{row.statistic / row.drift:.2f}x" in sharp
    # rows whose own cause is not the headline's are secondary, not a contradiction
    headline = result.causes[0].code
    for r in result.rows:
        line = next(ln for ln in lines if ln.endswith(f" {r.name}"))
        assert ("(secondary)" in line) == (r.verdict != "pass" and bool(r.cause) and r.cause != headline)
    doc = json.loads(json.dumps(as_json(result)))
    assert (doc["verdict"], doc["frames"], doc["windows"], doc["persistence"]) == ("fail", 40, 21, 3)
    assert doc["reason"] == result.reason
    assert doc["event"] == {
        "kind": "drift.started",
        "group": result.event.group,
        "frame_index": WINDOW + 1,
        "stream_time": (WINDOW + 1) / FPS,
    }
    assert set(doc["rows"][0]) == {
        "name",
        "statistic",
        "warn",
        "drift",
        "verdict",
        "cause",
        "cause_text",
        "run",
    }
    assert doc["causes"][0]["code"] == "defocus" and isinstance(doc["causes"][0]["score"], float)


@pytest.mark.parametrize("n", [5, WINDOW, WINDOW + 1])
def test_capture_too_short_for_the_rule_is_refused(n: int):
    with pytest.raises(ValueError, match=f"{n} frames make .* verify needs at least {WINDOW + 2} frames"):
        _verify(Drift(defocus_sigma=2.0), n=n)


def test_readiness_asks_the_class_mix_question_when_the_model_outputs_come_along():
    import dataclasses

    from tests.agent.drift_fixtures import classifier_outputs, output_reference

    baseline = dataclasses.replace(small_baseline(), outputs=output_reference(window=WINDOW))
    stats, times = stats_of(3, 80, start=1000), [i / FPS for i in range(80)]
    healthy = verify_stats(baseline, stats, times, classifier_outputs(80, 31))
    out_rows = [r.name for r in healthy.rows if r.name.startswith("out.")]
    assert healthy.verdict == "pass" and out_rows == ["out.class_mix", "out.confidence", "out.uncertain"]
    unsure = verify_stats(baseline, stats, times, classifier_outputs(80, 32, confidence_drop=3.0))
    assert unsure.verdict == "fail" and unsure.causes[0].code == "model_outputs"
    assert unsure.event.group.startswith("out.") and "share of uncertain predictions" in unsure.causes[0].text
    without = verify_stats(baseline, stats, times)  # no outputs handed over: the group is not asked
    assert not [r for r in without.rows if r.name.startswith("out.")]
