"""``camdrift evidence curate``: balanced training additions, per-episode caps, disputed items held back."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from camdrift.agent.cli import main
from camdrift.calibration.evidence.curate import (
    Disagreement,
    curate,
    read_disagreements,
    stratum,
    write_manifest,
)
from camdrift.calibration.evidence.items import ExportError, read_items
from camdrift.calibration.evidence.select import spool_records
from tests.calibration.evidence.spools import T0

FOCUS_0 = "ep-focus-f36000__frame_00.jpg"
CORRECTED = "flag-f74000-t7400000__frame_00.jpg"


@pytest.fixture(scope="module")
def items(classifier: Path) -> list:
    return read_items(classifier, spool_records(classifier))


def test_strata_are_source_group_and_the_class_to_train_on(items: list) -> None:
    by_name = {it.item: it for it in items}
    assert stratum(by_name[FOCUS_0]) == ("episode", "defocus", "dent")
    assert stratum(by_name[CORRECTED]) == ("flag", "operator_corrected", "dent")  # corrected, not "scratch"
    assert stratum(by_name["ep-light-f6000__frame_01.jpg"]) == ("episode", "lighting", "(none)")


def test_rounds_take_one_item_per_stratum_flags_first(items: list) -> None:
    result = curate(items, {}, max_items=9)
    assert len(result.selected) == 9 and len({stratum(it) for it in result.selected}) == 9  # one per stratum
    assert [it.kind for it in result.selected[:4]] == ["flag"] * 4
    assert result.selected[0].created_at == T0 + 7300  # within a stratum: newest episode first
    everything = curate(items, {})
    assert len(everything.selected) == len(items)
    assert all(available == selected for available, selected in everything.balance.values())


def test_no_episode_gives_more_than_per_group_items(items: list) -> None:
    result = curate(items, {}, per_group=1)
    per_episode = Counter((it.kind, it.episode_id or it.evidence_id) for it in result.selected)
    assert max(per_episode.values()) == 1  # one per episode from its own frames, one from the flags in it
    assert per_episode["episode", "ep-light"] == 1 and per_episode["episode", "ep-focus"] == 1
    assert len(result.selected) == len(per_episode)


def test_disputed_items_are_held_back_and_count_towards_no_cap(items: list) -> None:
    disputed = {FOCUS_0: Disagreement(FOCUS_0, 0.5, {"ana": "dent", "ben": "ok"})}
    result = curate(items, disputed)
    assert FOCUS_0 not in {it.item for it in result.selected} and len(result.selected) == len(items) - 1
    assert [(it.item, d.labels["ben"]) for it, d in result.held] == [(FOCUS_0, "ok")]
    assert result.balance[("episode", "defocus", "dent")] == (1, 1)


def _agreement_report(tmp_path: Path, *flags: str) -> Path:
    """A real ``camdrift agreement --out`` report: two annotators who disagree on FOCUS_0 and CORRECTED."""
    rows = ["item,annotator,label"]
    for item, ana, ben in [
        (FOCUS_0, "dent", "ok"),
        (CORRECTED, "dent", "scratch"),
        ("ep-light-f0__frame_00.jpg", "ok", "ok"),
        ("ep-light-f0__frame_01.jpg", "scratch", "scratch"),
    ]:
        rows += [f"{item},ana,{ana}", f"{item},ben,{ben}"]
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    assert (
        main(["agreement", str(tmp_path / "labels.csv"), "--out", str(tmp_path / "report.json"), *flags]) == 0
    )
    return tmp_path / "report.json"


def test_the_manifest_lists_existing_images_and_holds_back_what_annotators_dispute(
    classifier: Path, items: list, tmp_path: Path
) -> None:
    disputed = read_disagreements(_agreement_report(tmp_path))
    assert set(disputed) == {FOCUS_0, CORRECTED}
    result = curate(items, disputed, max_items=5, per_group=2)
    out = write_manifest(
        result, classifier, tmp_path / "next" / "additions.json", T0, {"max": 5, "per_group": 2}
    )
    doc = json.loads(out.read_text())
    assert doc["version"] == 1 and doc["spool"] == str(classifier.resolve()) and doc["rule"]["per_group"] == 2
    assert len(doc["items"]) == 5 and {a["item"] for a in doc["adjudicate"]} == {FOCUS_0, CORRECTED}
    for entry in doc["items"] + doc["adjudicate"]:
        image = Path(entry["image"])
        assert (
            image.is_absolute() and image.is_file() and image.parent == tmp_path / "next" / "additions_images"
        )
        assert entry["source"] in ("flag", "episode") and entry["item"] == image.name
    (held,) = [a for a in doc["adjudicate"] if a["item"] == CORRECTED]
    assert (
        held["class"] == "dent"
        and held["labels"] == {"ana": "dent", "ben": "scratch"}
        and held["disagreement"] > 0
    )
    assert sum(b["selected"] for b in doc["balance"]) == 5
    assert sum(b["available"] for b in doc["balance"]) == len(items) - 2


def test_a_report_that_is_not_an_agreement_report_is_named(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text('{"items": []}')
    with pytest.raises(ExportError, match="r.json: not a camdrift agreement report"):
        read_disagreements(tmp_path / "r.json")
    with pytest.raises(ExportError, match="agreement report .*missing.json does not exist"):
        read_disagreements(tmp_path / "missing.json")


def test_every_disputed_item_is_held_back_however_few_boundary_cases_the_report_shows(
    items: list, tmp_path: Path
) -> None:
    report = _agreement_report(tmp_path, "--top", "1")
    assert len(json.loads(report.read_text())["boundary_cases"]) == 1
    disputed = read_disagreements(report)
    assert set(disputed) == {FOCUS_0, CORRECTED}
    assert {it.item for it, _ in curate(items, disputed).held} == {FOCUS_0, CORRECTED}


def test_a_report_without_disputed_items_is_refused_not_read_from_its_cut_boundary_cases(
    tmp_path: Path,
) -> None:
    doc = json.loads(_agreement_report(tmp_path).read_text())
    del doc["disputed_items"]
    (tmp_path / "old.json").write_text(json.dumps(doc))
    with pytest.raises(ExportError, match="old.json lists no 'disputed_items'.* run camdrift agreement"):
        read_disagreements(tmp_path / "old.json")
