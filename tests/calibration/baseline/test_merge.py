"""``camdrift baseline merge``: the union's thresholds, the sensitivity table (merged / input drift threshold in
each statistic's own unit), the refusal of a merge that loses more than 3x, and ``--force`` recording the loss.

Inputs are real: baselines calibrated by the CLI from rendered line footage (a ``synthetic:`` stream, PNG folders
of a night-lit line at gain 0.6, and the MJPG videos of ``line_dir``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from camdrift.agent.reference.baseline import load_baseline, save_baseline
from camdrift.agent.sim.line import Drift
from camdrift.calibration.baseline.merge import LOSS_LIMIT, absolute_drift, sensitivity
from tests.calibration.cli_fixtures import (
    SMALL,
    assert_clean_failure,
    camdrift,
    frames,
    line_dir_fixture,  # noqa: F401  (the line_dir fixture)
    write_folder,
)

REF_FRAMES = 300


def _calibrate(d: Path, source: str, out: str, *extra: str, frames_: int = REF_FRAMES) -> Path:
    proc = camdrift("calibrate", "--source", source, "--frames", frames_, "--out", out, *SMALL, *extra, cwd=d)
    assert proc.returncode == 0, proc.stderr
    return d / out


@pytest.fixture(scope="module", name="conditions")
def conditions_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two day captures of the line (seeds 1 and 2) and a night one (seed 5, light at 60 %), each calibrated."""
    d = tmp_path_factory.mktemp("conditions")
    for name, seed in (("day", 1), ("day2", 2)):
        _calibrate(
            d, f"synthetic:stationary?seed={seed}&size=160x120&fps=5&frames={REF_FRAMES}", f"{name}.npz"
        )
    write_folder(d / "night", frames(0, REF_FRAMES, Drift(gain=0.6), seed=5))
    _calibrate(d, "dir:night?fps=5", "night.npz")
    return d


def _ratios(stdout: str) -> dict[str, list[float]]:
    """statistic -> [x1, x2] read back from the printed sensitivity table (its rows: name, unit, the inputs'
    and the merged thresholds, then the ratios; indented, up to the first line that is not)."""
    rows: dict[str, list[float]] = {}
    lines = iter(stdout.splitlines())
    for line in lines:
        if line.split()[:2] == ["statistic", "unit"]:
            break
    for line in lines:
        if not line.startswith("  "):
            break
        parts = line.split()
        rows[parts[0]] = [float(parts[5]), float(parts[6])]
    return rows


def test_two_day_captures_merge_with_ratios_near_one(conditions: Path) -> None:
    proc = camdrift("baseline", "merge", "day.npz", "day2.npz", "--out", "days.npz", cwd=conditions)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 = day.npz, 2 = day2.npz" in proc.stdout and "warning" not in proc.stderr
    ratios = _ratios(proc.stdout)
    names = load_baseline(conditions / "days.npz").thresholds.names
    assert set(ratios) == set(names)
    # the same conditions twice: the union is about as sensitive as either capture
    assert all(0.5 < x < 2.0 for xs in ratios.values() for x in xs), ratios
    assert "merged 2 baselines (600 frames)" in proc.stdout


def test_day_and_night_merge_is_refused_naming_what_it_loses(conditions: Path) -> None:
    out = conditions / "both.npz"
    proc = camdrift("baseline", "merge", "day.npz", "night.npz", "--out", out, cwd=conditions)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()
    assert "not written" in proc.stderr and "--force" in proc.stderr
    ratios = _ratios(proc.stdout)
    # the histograms and the brightness lose most: a darkening the day baseline catches passes the union
    for name in ("psi.luma", "shift.brightness"):
        assert max(ratios[name]) > 10 * LOSS_LIMIT, (name, ratios[name])
        assert f"{name} x" in proc.stderr
    lost = [n for n, xs in ratios.items() if max(xs) > LOSS_LIMIT]
    assert all(f"{n} x" in proc.stderr for n in lost)
    kept = [n for n, xs in ratios.items() if max(xs) <= LOSS_LIMIT]
    assert all(f"{n} x" not in proc.stderr for n in kept)


def test_force_writes_the_lossy_merge_and_records_the_loss(conditions: Path) -> None:
    out = conditions / "forced.npz"
    proc = camdrift("baseline", "merge", "day.npz", "night.npz", "--out", out, "--force", cwd=conditions)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "warning" in proc.stderr and out.exists()
    merged = load_baseline(out)
    note = next(n for n in merged.thresholds.notes if n.startswith("merged with --force"))
    assert "psi.luma x" in note and "shift.brightness x" in note
    assert note in camdrift("baseline", "show", out).stdout
    # the recorded figures are the ones the library computes from the files
    rows = {
        r.name: r
        for r in sensitivity([load_baseline(conditions / p) for p in ("day.npz", "night.npz")], merged)
    }
    assert f"psi.luma x{rows['psi.luma'].loss:.3g}" in note
    m, unit = absolute_drift(merged, "shift.brightness")
    assert unit == "DN8" and np.isclose(m, rows["shift.brightness"].merged)


def test_merge_rebuilds_thresholds_from_the_union(line_dir: Path) -> None:
    day = line_dir / "ref.npz"
    night = line_dir / "night.npz"
    proc = camdrift(
        "calibrate",
        "--source",
        "video:dark.avi",
        "--frames",
        60,
        "--out",
        night,
        *SMALL,
        "--force",
        cwd=line_dir,
    )
    assert proc.returncode == 0, proc.stderr
    out = line_dir / "merged.npz"
    proc = camdrift("baseline", "merge", day, night, "--out", out, "--replicates", "200", "--force")
    assert proc.returncode == 0, proc.stderr
    assert "merged 2 baselines (360 frames)" in proc.stdout
    a, n, m = load_baseline(day), load_baseline(night), load_baseline(out)
    assert m.frame_count == 360 and m.reference_frames.hist.shape[0] == 360
    assert m.thresholds.window == 20
    # The union's reference mean lies between the two conditions', weighted by their frames
    i = m.scalar_names.index("brightness")
    expect = (300 * a.scalar_mean[i] + 60 * n.scalar_mean[i]) / 360
    assert np.isclose(m.scalar_mean[i], expect, rtol=1e-6)
    # and the night capture verifies against the merged reference, not against the day one
    verify = ("verify", "--source", "video:dark.avi", "--quiet")
    assert camdrift(*verify, "--baseline", out, cwd=line_dir).returncode == 0
    assert camdrift(*verify, "--baseline", day, cwd=line_dir).returncode == 1


def test_merge_refuses_what_cannot_be_merged(line_dir: Path, tmp_path: Path) -> None:
    lean = _calibrate(line_dir, "video:same.avi", "lean.npz", "--force", "--no-frames", frames_=60)
    proc = camdrift("baseline", "merge", "ref.npz", lean, "--out", tmp_path / "m.npz", cwd=line_dir)
    assert_clean_failure(proc, "lean.npz", "keeps no per-frame features")
    roi = _calibrate(line_dir, "video:same.avi", "roi.npz", "--force", "--roi", "0,0,80,60", frames_=60)
    proc = camdrift("baseline", "merge", "ref.npz", roi, "--out", tmp_path / "m.npz", cwd=line_dir)
    assert_clean_failure(proc, "roi.npz", "other kernel parameters", "roi None vs (0, 0, 80, 60)")
    old = tmp_path / "old.npz"  # the same capture as an older camdrift wrote it: ratios of channel means
    save_baseline(dataclasses.replace(load_baseline(line_dir / "ref.npz"), format_version=1), old)
    proc = camdrift("baseline", "merge", "ref.npz", old, "--out", tmp_path / "m.npz", cwd=line_dir)
    assert_clean_failure(proc, "old.npz", "median colour ratios (format 2) vs mean colour ratios (format 1)")
    proc = camdrift("baseline", "merge", "ref.npz", "--out", tmp_path / "m.npz", cwd=line_dir)
    assert_clean_failure(proc, "two or more")
    assert not (tmp_path / "m.npz").exists()


def test_a_merge_says_it_leaves_the_model_groups_out(conditions: Path) -> None:
    from tests.agent.drift_fixtures import output_reference

    day = load_baseline(conditions / "day.npz")
    save_baseline(dataclasses.replace(day, outputs=output_reference()), conditions / "day_out.npz")
    proc = camdrift("baseline", "merge", "day_out.npz", "day2.npz", "--out", "days_out.npz", cwd=conditions)
    assert proc.returncode == 0, proc.stderr
    assert "the model groups (activations, outputs) of day_out.npz are not merged" in proc.stderr
    assert load_baseline(conditions / "days_out.npz").outputs is None
    show = camdrift("baseline", "show", "day_out.npz", cwd=conditions)
    assert "  output group: classification, 600 frames with outputs; classes ok " in show.stdout
