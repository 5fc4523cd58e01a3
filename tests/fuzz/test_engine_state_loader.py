"""Fuzzing the engine-state loader (the file a restarting agent restores): raw corruptions of the golden state
file and crafted ones with a valid checksum. Every outcome is a restored engine that takes the next frame, or
one :class:`EngineStateError` line naming the file: no other exception, no hang."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from camdrift.agent.drift.engine import DriftEngine
from camdrift.agent.drift.engine_state import EngineStateError, StateIdentity, load_engine_state
from camdrift.agent.reference.archive import content_digest, pack_npz, unpack_npz
from camdrift.agent.reference.baseline import load_baseline
from tests.fuzz.support import assert_one_line, fuzz_settings, no_hang, scratch
from tests.fuzz.test_baseline_loader import SPECIAL, _mutate, json_value, mutation

DATA = Path(__file__).parents[1] / "agent" / "drift" / "data"
RAW = (DATA / "engine_state_v1.npz").read_bytes()
HEADER, ARRAYS = unpack_npz(DATA / "engine_state_v1.npz", "engine state", EngineStateError)
BASELINE = load_baseline(DATA / "engine_state_v1_baseline.npz")
# The identity the golden state was saved with (the fuzz is about the file, not about which baseline it names).
IDENTITY = StateIdentity(HEADER["baseline_id"], HEADER["camera_id"], tuple(HEADER["group_names"]))
FRAME = BASELINE.kernel.stats(np.full((BASELINE.resolution[1], BASELINE.resolution[0], 3), 90, np.uint8))


def _outcome(path: Path) -> None:
    engine = DriftEngine(BASELINE, camera_id=IDENTITY.camera_id)
    try:
        with no_hang():
            load_engine_state(path, IDENTITY, engine)
    except EngineStateError as exc:
        assert_one_line(str(exc), str(path))
        return
    engine.update(FRAME, engine.frame_index + 1, engine.stream_time + 1.0)


@fuzz_settings(1000)
@given(st.lists(mutation, min_size=1, max_size=4))
def test_raw_corruptions_restore_or_are_refused_in_one_line(ops: list[tuple]) -> None:
    _outcome(scratch("state-raw.npz", _mutate(RAW, ops)))


@st.composite
def crafted(draw: st.DrawFn) -> tuple[dict, dict[str, np.ndarray]]:
    header = json.loads(json.dumps(HEADER))
    arrays = {k: v.copy() for k, v in ARRAYS.items()}
    keys = [
        k
        for k in HEADER
        if k not in ("sha256", "format", "version", "baseline_id", "camera_id", "group_names")
    ]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["header", "header", "delete", "value", "value", "shape", "drop"]))
        if kind == "header":
            header[draw(st.sampled_from(keys))] = draw(
                json_value | st.sampled_from([-1, 0, 1, 10**9, -(10**9), 2**63, math.nan, math.inf])
            )
        elif kind == "delete":
            header.pop(draw(st.sampled_from(keys)), None)
        elif kind == "drop" and arrays:
            arrays.pop(draw(st.sampled_from(sorted(arrays))))
        elif arrays:
            name = draw(st.sampled_from(sorted(arrays)))
            a = arrays[name]
            if kind == "shape":
                shape = tuple(draw(st.lists(st.integers(0, 40), max_size=3)))
                arrays[name] = np.zeros(shape, a.dtype)
            elif a.size:
                flat = a.reshape(-1).copy()
                v = draw(st.sampled_from(SPECIAL) | st.integers(-(2**40), 2**40))
                if a.dtype.kind == "f":
                    flat[draw(st.integers(0, a.size - 1))] = v
                elif (isinstance(v, int) or math.isfinite(v)) and np.can_cast(
                    np.min_scalar_type(int(v)), a.dtype
                ):
                    flat[draw(st.integers(0, a.size - 1))] = int(v)
                arrays[name] = flat.reshape(a.shape)
    header.pop("sha256", None)
    header["sha256"] = content_digest(header, arrays)
    return header, arrays


@fuzz_settings(1000)
@given(crafted())
def test_crafted_states_with_a_valid_checksum_restore_or_are_refused(case) -> None:
    header, arrays = case
    _outcome(scratch("state-crafted.npz", pack_npz(header, arrays)))
