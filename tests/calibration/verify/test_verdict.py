"""``verify``'s verdicts (verdict.py) on real frame statistics: every statistic is ``fail`` above its drift
threshold, ``warn`` above its warn threshold, else ``pass``, the capture's verdict is its worst row's, a failed
row names a cause that can move it, and the table and JSON carry what the technician reads."""

from __future__ import annotations

import json

import pytest

from camdrift.agent.sim.line import HEALTHY, Drift
from camdrift.calibration.verify.verdict import VERDICTS, VerifyResult, as_json, table, verify_stats
from tests.agent.drift_fixtures import FPS, WINDOW, small_baseline, stats_of


def _verify(drift: Drift = HEALTHY, n: int = 40) -> VerifyResult:
    stats = stats_of(3, n, drift, start=1000)  # later frames of the baseline's own line
    return verify_stats(small_baseline(), stats, [i / FPS for i in range(n)])


def _documented(row) -> str:
    return "fail" if row.statistic > row.drift else "warn" if row.statistic > row.warn else "pass"


def test_same_scene_passes_every_statistic():
    result = _verify()
    baseline = small_baseline()
    assert result.verdict == "pass"
    assert [r.name for r in result.rows] == list(baseline.thresholds.names)
    assert all(r.verdict == "pass" and r.cause == r.cause_text == "" for r in result.rows)
    assert (result.frames, result.windows) == (40, 40 - WINDOW + 1)  # every full window scored


def test_defocus_fails_sharpness_with_the_defocus_cause():
    result = _verify(Drift(defocus_sigma=2.0))
    assert result.verdict == "fail" and result.causes[0].code == "defocus"
    row = next(r for r in result.rows if r.name == "shift.sharpness")
    assert row.verdict == "fail" and row.cause == "defocus" and row.cause_text
    for r in result.rows:
        assert r.verdict == _documented(r), r
        assert (r.cause == "") == (r.verdict == "pass"), r
    assert result.verdict == max((r.verdict for r in result.rows), key=VERDICTS.index)


def test_darker_scene_rows_follow_the_thresholds():
    result = _verify(Drift(gain=0.9))
    assert {r.verdict for r in result.rows} <= set(VERDICTS)
    assert all(r.verdict == _documented(r) for r in result.rows)
    assert next(r for r in result.rows if r.name == "shift.brightness").verdict != "pass"


def test_table_and_json_carry_every_row():
    result = _verify(Drift(defocus_sigma=2.0))
    lines = table(result).splitlines()
    assert lines[0].split() == ["statistic", "value", "warn", "drift", "verdict", "likely", "cause"]
    assert len(lines) == 1 + len(result.rows)
    assert any(ln.startswith("shift.sharpness") and " fail " in ln and ln.endswith("defocus") for ln in lines)
    doc = json.loads(json.dumps(as_json(result)))
    assert (doc["verdict"], doc["frames"], doc["windows"]) == ("fail", 40, 40 - WINDOW + 1)
    assert set(doc["rows"][0]) == {"name", "statistic", "warn", "drift", "verdict", "cause", "cause_text"}
    assert doc["causes"][0]["code"] == "defocus" and isinstance(doc["causes"][0]["score"], float)


def test_capture_shorter_than_a_window_is_refused():
    with pytest.raises(ValueError, match=f"5 frames is less than one window of {WINDOW}"):
        _verify(n=5)
