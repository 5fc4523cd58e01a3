"""Engine state: save/restore mid-episode gives the same decisions as no restart; a state of another baseline,
camera or format version is refused; the golden v1 state file still loads and continues to the same decisions.

Regenerate the golden files only on purpose (a deliberate format change, with a new version):
``CAMDRIFT_REGEN_GOLDEN=1 pytest tests/agent/drift/test_engine_state.py``.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

from camdrift.agent.drift.engine import DriftEngine
from camdrift.agent.drift.engine_state import EngineStateError
from camdrift.agent.reference.baseline import load_baseline, save_baseline
from tests.agent.drift.test_engine import ONSET, N, _run, _stream
from tests.agent.drift_fixtures import small_baseline

DATA = Path(__file__).parent / "data"
GOLDEN_STATE = DATA / "engine_state_v1.npz"
GOLDEN_BASELINE = DATA / "engine_state_v1_baseline.npz"  # the baseline the golden state was saved against
GOLDEN_DECISIONS = DATA / "engine_state_v1_decisions.json"  # what the restored engine decides after the cut
GOLDEN_CUT = 130  # frames 0..129 are in the golden state, mid-episode
GOLDEN_DT = 2.0  # s between frames: the state holds closed minute buckets and non-zero CUSUMs


def test_restore_mid_episode_gives_the_same_decisions(tmp_path: Path) -> None:
    b = small_baseline()
    whole = _run(DriftEngine(b))
    cut = ONSET + 30
    first = DriftEngine(b)
    before = _run(first, 0, cut)
    assert first.drift_detected  # the episode is open when the process stops
    path = tmp_path / "state.npz"
    first.save_state(path)
    assert [p.name for p in tmp_path.iterdir()] == ["state.npz"]
    second = DriftEngine(b).load_state(path)
    assert second.state == first.state
    after = _run(second, cut, N)
    assert before + after == whole


def test_state_of_another_baseline_is_refused(tmp_path: Path) -> None:
    engine = DriftEngine(small_baseline())
    _run(engine, 0, 30)
    path = tmp_path / "state.npz"
    engine.save_state(path)
    other = DriftEngine(small_baseline(seed=4, n=300))
    with pytest.raises(EngineStateError, match="belongs to baseline"):
        other.load_state(path)
    with pytest.raises(EngineStateError, match="belongs to camera"):
        DriftEngine(small_baseline(), camera_id="elsewhere").load_state(path)


def _golden_engine(baseline) -> DriftEngine:
    """Shorter long windows than the default (2 h of minutes, 2 days of hours): a small golden file."""
    return DriftEngine(baseline, minute_buckets=120, hour_buckets=48)


def _golden_run(engine: DriftEngine, start: int, stop: int) -> list:
    out = []
    for i in range(start, stop):
        out += engine.update(_stream()[i], i, GOLDEN_DT * i).decisions
    return out


def _summary(decisions: list) -> list[list]:
    return [[d.kind, d.group, d.frame_index, d.episode_id, d.top_cause] for d in decisions]


def _regenerate_golden() -> None:
    DATA.mkdir(exist_ok=True)
    save_baseline(small_baseline(), GOLDEN_BASELINE)
    engine = _golden_engine(load_baseline(GOLDEN_BASELINE))
    _golden_run(engine, 0, GOLDEN_CUT)
    engine.save_state(GOLDEN_STATE)
    after = _golden_run(engine, GOLDEN_CUT, N)
    GOLDEN_DECISIONS.write_text(json.dumps(_summary(after), indent=1) + "\n")


def test_golden_v1_state_loads_and_continues_to_the_same_decisions() -> None:
    if os.environ.get("CAMDRIFT_REGEN_GOLDEN") == "1":
        _regenerate_golden()
    b = load_baseline(GOLDEN_BASELINE)
    restored = _golden_engine(b).load_state(GOLDEN_STATE)
    assert restored.drift_detected  # saved mid-episode
    whole = _golden_engine(b)
    _golden_run(whole, 0, GOLDEN_CUT)
    assert restored.state == whole.state
    after = _golden_run(restored, GOLDEN_CUT, N)
    expected = _golden_run(whole, GOLDEN_CUT, N)
    # The same decisions (kind, group, frame, episode, causes' order) exactly; their numbers to float
    # rounding: the restored windows' sums are rebuilt from the saved frames, not accumulated frame by frame.
    assert _summary(after) == _summary(expected)
    assert [d.score for d in after] == pytest.approx([d.score for d in expected], rel=1e-6)
    assert [c.code for d in after for c in d.causes] == [c.code for d in expected for c in d.causes]
    assert _summary(after) == json.loads(GOLDEN_DECISIONS.read_text())
    assert [d.kind for d in after][-1] == "drift.ended"


def _with_header(path: Path, out: Path, **changes) -> None:
    """A copy of the state file at ``path`` with header fields changed (the hash left as it was)."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {name: z[name] for name in z.files}
    header = json.loads(arrays.pop("header").tobytes().decode()) | changes
    buf = io.BytesIO()
    np.savez(buf, header=np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays)
    out.write_bytes(buf.getvalue())


@pytest.mark.parametrize("version", [2, 0, "1"])
def test_state_of_an_unknown_version_is_refused_naming_it(tmp_path: Path, version) -> None:
    path = tmp_path / "future.npz"
    _with_header(GOLDEN_STATE, path, version=version)
    with pytest.raises(EngineStateError, match=f"engine state version {version!r} is not supported"):
        _golden_engine(load_baseline(GOLDEN_BASELINE)).load_state(path)
