"""The output group inside a baseline file: it round-trips exactly, a baseline without it loads and hashes as
before, and a group that is damaged or out of range refuses to load, naming the field."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from camdrift.agent.reference.archive import content_digest, pack_npz
from camdrift.agent.reference.baseline import BaselineError, _to_parts, load_baseline, save_baseline
from camdrift.agent.reference.output_baseline import from_parts, to_parts
from tests.agent.drift_fixtures import output_reference, small_baseline


def test_parts_round_trip_exactly():
    ref = output_reference()
    header, arrays = to_parts(ref)
    back = from_parts(header, arrays)
    assert (back.kind, back.class_names, back.names, back.notes) == (
        ref.kind,
        ref.class_names,
        ref.names,
        ref.notes,
    )
    for name in ("class_counts", "frame_mean", "null_sd", "drift", "warn", "null_scale"):
        np.testing.assert_array_equal(getattr(back, name), getattr(ref, name))
    assert back.class_window == ref.class_window > ref.window


def test_a_group_written_without_a_class_mix_window_judges_the_mix_over_the_window():
    header, arrays = to_parts(output_reference())
    del header["mix_window"]  # written before the class mix had its own window
    back = from_parts(header, arrays)
    assert back.mix_window == 0 and back.class_window == back.window


def test_a_baseline_with_outputs_round_trips_and_one_without_hashes_as_before(tmp_path: Path):
    base = small_baseline()
    b = dataclasses.replace(base, outputs=output_reference())
    assert b.baseline_id != base.baseline_id
    save_baseline(b, tmp_path / "b.npz")
    got = load_baseline(tmp_path / "b.npz")
    assert got.outputs.class_names == ("ok", "scratch", "dent") and got.baseline_id == b.baseline_id
    save_baseline(base, tmp_path / "plain.npz")
    plain = load_baseline(tmp_path / "plain.npz")
    assert plain.outputs is None and plain.baseline_id == base.baseline_id


def _write(path: Path, header: dict, arrays: dict) -> Path:
    header = dict(header)
    header["sha256"] = content_digest(header, arrays)
    path.write_bytes(pack_npz(header, arrays))
    return path


@pytest.mark.parametrize(
    ("damage", "culprit"),
    [
        (lambda h, a: h["outputs"].update(kind="segmentation"), "outputs.kind"),
        (lambda h, a: h["outputs"].update(uncertain_below=1.5), "uncertain_below"),
        (lambda h, a: h["outputs"].update(names=["out.class_mix"]), "outputs.names"),
        (lambda h, a: h["outputs"].update(mix_window=3), "outputs.mix_window must be 0 or >= outputs.window"),
        (lambda h, a: h["outputs"].update(mix_window=-1), "mix_window must be an integer"),
        (lambda h, a: a.update({"out.drift": np.array([np.nan, 1.0, 1.0])}), "non-finite"),
        (lambda h, a: a.update({"out.warn": np.array([9e9, 1.0, 1.0])}), "want 0 < warn <= drift"),
        (lambda h, a: a.update({"out.null_sd": np.zeros(3)}), "out.null_sd"),
        (lambda h, a: a.update({"out.class_counts": np.ones(2)}), "out.class_counts"),
        (lambda h, a: a.pop("out.frame_mean"), "out.frame_mean is missing"),
    ],
)
def test_a_damaged_output_group_refuses_to_load(tmp_path: Path, damage, culprit):
    header, arrays = _to_parts(dataclasses.replace(small_baseline(), outputs=output_reference()))
    header["format"], header["version"] = header.get("format"), header.get("version")
    header["outputs"] = dict(header["outputs"])
    damage(header, arrays)
    with pytest.raises(BaselineError, match=culprit):
        load_baseline(_write(tmp_path / "bad.npz", header, arrays))
