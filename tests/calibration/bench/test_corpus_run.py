"""The real CLI as the corpus runs it (corpus_run.py): ``camdrift calibrate``, ``run`` and ``verify`` in
subprocesses, on small synthetic sources and an image folder (160x120 px at 5 fps).

- calibrate writes a baseline (exit 0), or refuses a reference below the minimum (exit 1) with the message
  saying how much more footage to capture; a source that cannot be opened is a CliError naming it (exit 2);
- each run starts from a fresh engine state, also when a workdir is reused;
- run returns the JSON events the agent published, a drift.started with the right cause after a gain step;
- verify's JSON is read back as pass with no cause on healthy footage and as fail with the top cause on changed
  footage.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from camdrift.agent.sim.scenarios import scenario_stream
from camdrift.calibration.bench.corpus_run import (
    AgentRun,
    Calibration,
    CliError,
    Verification,
    calibrate,
    run_agent,
    verify,
)

REFERENCE = (
    "synthetic:stationary?seed=3&size=160x120&fps=5&frames=400"  # 80 s: above the minimum (200 frames)
)
SHORT = "synthetic:stationary?seed=3&size=160x120&fps=5&frames=100"  # 20 s: below it
GAIN_STEP = "synthetic:gain_step?seed=9&size=160x120&fps=5&frames=400"  # +15 % light from frame 300 (60 s)
HEALTHY = "synthetic:stationary?seed=7&size=160x120&fps=5&frames=45"  # a verify clip: 9 s


@pytest.fixture(scope="module", name="reference")
def reference_fixture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Calibration, Path]:
    out = tmp_path_factory.mktemp("corpus-run") / "baseline.npz"
    return calibrate(REFERENCE, out, 80.0), out


@pytest.fixture(scope="module", name="baseline")
def baseline_fixture(reference: tuple[Calibration, Path]) -> Path:
    calibration, out = reference
    assert calibration.exit_code == 0, calibration.message
    return out


def test_calibrate_writes_the_baseline(reference: tuple[Calibration, Path]) -> None:
    calibration, out = reference
    assert calibration.exit_code == 0, calibration.message
    assert out.is_file() and out.stat().st_size > 0
    assert calibration.message and calibration.seconds > 0


def test_calibrate_below_the_minimum_says_how_much_more_to_capture(tmp_path: Path) -> None:
    out = tmp_path / "short.npz"
    c = calibrate(SHORT, out, 20.0)
    assert c.exit_code == 1
    assert "below the minimum of 200 frames" in c.message and "capture at least 20 s more" in c.message
    assert not out.exists()


def test_a_source_that_cannot_be_opened_is_a_cli_error_naming_it(tmp_path: Path, baseline: Path) -> None:
    missing = f"video:{tmp_path / 'missing.mp4'}"
    with pytest.raises(CliError, match=rf"camdrift calibrate --source {missing}: exit 2: .*cannot open"):
        calibrate(missing, tmp_path / "b.npz", 10.0)
    with pytest.raises(CliError, match=rf"camdrift run --source {missing}: exit 2: .*cannot open"):
        run_agent(missing, baseline, tmp_path / "run")
    assert not (tmp_path / "b.npz").exists()


def test_run_returns_the_published_events_of_a_gain_step(tmp_path: Path, baseline: Path) -> None:
    run = run_agent(GAIN_STEP, baseline, tmp_path / "gain")
    assert isinstance(run, AgentRun) and run.exit_code == 0 and run.seconds > 0
    assert run.events and all(e["schema"].startswith("camdrift.event/") for e in run.events)
    kinds = [e["kind"] for e in run.events]
    assert kinds[:2] == ["baseline.loaded", "agent.started"] and kinds[-1] == "agent.stopping"
    started = [e for e in run.events if e["kind"] == "drift.started"]
    assert started, kinds
    assert all(e["stream_time"] >= 60.0 for e in started)  # nothing on the healthy 60 s before the step
    assert started[0]["stream_time"] < 70.0 and started[0]["causes"][0]["code"] == "lighting"
    assert (tmp_path / "gain" / "events.jsonl").is_file()


def test_each_run_starts_from_a_fresh_state(tmp_path: Path, baseline: Path) -> None:
    uri = "synthetic:stationary?seed=9&size=160x120&fps=5&frames=10"
    ends = []
    for _ in range(2):
        events = run_agent(uri, baseline, tmp_path / "same").events
        ends.append(next(e["stream_time"] for e in events if e["kind"] == "source.ended"))
    assert ends == [1.8, 1.8]


def _png_folder(path: Path, scenario: str, seed: int, frames: int) -> str:
    """A folder of PNG files of ``scenario`` changed from the first frame, as its dir: URI."""
    path.mkdir(parents=True)
    for f in scenario_stream(scenario, frames, seed=seed, size=(160, 120), fps=5.0, onset_frame=0):
        assert cv2.imwrite(str(path / f"{f.index:05d}.png"), f.image)
    return f"dir:{path}?fps=5&pattern=*.png"


def test_verify_passes_healthy_and_fails_changed_footage_with_its_cause(
    tmp_path: Path, baseline: Path
) -> None:
    assert verify(HEALTHY, baseline) == Verification(0, "pass", "")
    changed = _png_folder(tmp_path / "brighter", "gain_step", 8, 45)
    assert verify(changed, baseline) == Verification(1, "fail", "lighting")
