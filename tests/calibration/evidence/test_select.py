"""The filters of ``camdrift evidence export|curate``: --since, --episode, --reason; reading a live spool safely."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from camdrift.calibration.evidence.items import ExportError
from camdrift.calibration.evidence.select import Selection, parse_since, select, spool_records
from tests.calibration.evidence.spools import T0


def test_since_takes_durations_and_iso_times() -> None:
    now = 1_700_000_000.0
    assert parse_since("7d", now) == now - 7 * 86400
    assert parse_since("12h", now) == now - 12 * 3600 and parse_since("1.5m", now) == now - 90
    assert parse_since("2023-11-14T22:13:20Z", now) == now
    assert parse_since("2023-11-14T22:13:20", now) == now  # no zone: UTC
    with pytest.raises(ValueError, match="--since must be a duration like 7d"):
        parse_since("last week", now)


def test_since_keeps_captures_created_at_or_after(classifier: Path) -> None:
    records = spool_records(classifier)
    assert len(select(records, Selection())) == len(records) == 8
    kept = select(records, Selection(since=T0 + 3600))
    assert [r.evidence_id for r in kept][0] == "ep-focus-f36000" and len(kept) == 6


def test_episode_keeps_its_captures_and_the_flags_raised_during_it(classifier: Path) -> None:
    kept = select(spool_records(classifier), Selection(episode="ep-light"))
    assert [r.kind for r in kept] == ["episode", "episode", "flag"]


def test_an_unknown_episode_is_named_with_the_ones_the_spool_has(classifier: Path) -> None:
    with pytest.raises(
        ExportError, match=r"unknown episode 'ep-x' \(the spool's episodes: ep-focus, ep-light\)"
    ):
        select(spool_records(classifier), Selection(episode="ep-x"))


def test_reason_matches_the_kind_or_the_reason_text(classifier: Path) -> None:
    records = spool_records(classifier)
    assert len(select(records, Selection(reason="false_positive"))) == 2
    assert [r.reason for r in select(records, Selection(reason="other"))] == ["looks odd"]
    assert [r.reason for r in select(records, Selection(reason="looks odd"))] == ["looks odd"]
    assert select(records, Selection(reason="operator_corrected", since=T0 + 7450)) == []  # filters combine


def test_reading_a_spool_deletes_nothing_and_a_missing_one_is_named(classifier: Path, tmp_path: Path) -> None:
    spool = shutil.copytree(classifier, tmp_path / "spool")
    (spool / "being-written").mkdir()  # the agent renamed it into place, its manifest line is not written yet
    assert len(spool_records(spool)) == 8 and (spool / "being-written").is_dir()
    with pytest.raises(ExportError, match="evidence spool .*nope does not exist"):
        spool_records(tmp_path / "nope")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ExportError, match="evidence spool .*afile is a file, not a spool folder"):
        spool_records(tmp_path / "afile")
    (tmp_path / "empty").mkdir()
    assert spool_records(tmp_path / "empty") == []


def test_a_damaged_manifest_line_is_said_not_silently_dropped(tmp_path, capsys) -> None:
    from camdrift.agent.output.evidence import EvidenceSpool
    from camdrift.calibration.evidence.select import spool_records
    from tests.agent.output.helpers import capture

    spool = EvidenceSpool(tmp_path)
    photo = np.zeros((32, 32, 3), np.uint8)
    capture(spool, photo, "ep1", 1, 1.0)
    capture(spool, photo, "ep2", 2, 2.0)
    manifest = tmp_path / "manifest.jsonl"
    first, second = manifest.read_text().splitlines()
    manifest.write_text(first + "\n" + second[:30] + "\n")
    assert [r.evidence_id for r in spool_records(tmp_path)] == ["ep1-f1"]
    assert f"{manifest}:2: line does not read, skipped" in capsys.readouterr().err
