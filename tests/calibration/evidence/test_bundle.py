"""``--format tar``: the chosen captures packed as they are, with a manifest that reads back."""

from __future__ import annotations

import tarfile
from pathlib import Path

from camdrift.agent.output.evidence import read_manifest
from camdrift.calibration.evidence.bundle import write_bundle
from camdrift.calibration.evidence.select import Selection, select, spool_records
from tests.calibration.evidence.spools import T0


def test_the_bundle_holds_the_chosen_captures_and_a_manifest_that_reads_back(
    classifier: Path, tmp_path: Path
) -> None:
    chosen = select(spool_records(classifier), Selection(since=T0 + 3600))
    out = write_bundle(classifier, chosen, tmp_path / "out")
    assert out == tmp_path / "out" / "evidence.tar.gz"
    with tarfile.open(out) as tar:
        names = tar.getnames()
        tar.extractall(tmp_path / "x", filter="data")
    assert read_manifest(tmp_path / "x/evidence/manifest.jsonl") == chosen  # versioned lines
    for r in chosen:
        assert all(f"evidence/{r.evidence_id}/{name}" in names for name in r.files)
    assert not any("ep-light" in n for n in names)
    assert not list((tmp_path / "out").glob(".*"))  # written under a temporary name, then renamed
