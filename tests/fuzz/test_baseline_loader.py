"""Fuzzing the baseline loader: raw corruptions of a real small baseline file, and crafted files whose checksum
is valid but whose content is out of range. Every outcome is a loaded baseline the engine can run on, or one
:class:`BaselineError` line naming the file: no other exception, no hang."""

from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from camdrift.agent.drift.engine import DriftEngine
from camdrift.agent.reference.archive import content_digest, pack_npz, unpack_npz
from camdrift.agent.reference.baseline import Baseline, BaselineError, load_baseline
from tests.fuzz.support import CASES, assert_one_line, fuzz_settings, no_hang, scratch

GOLDEN = Path(__file__).parents[1] / "agent" / "reference" / "data" / "baseline_v1.npz"
RAW = GOLDEN.read_bytes()
HEADER, ARRAYS = unpack_npz(GOLDEN, "baseline", BaselineError)


def _interesting_offsets(data: bytes) -> list[int]:
    """Where the zip structures and the .npy headers lie: local headers, data starts, the central directory."""
    out = [0, len(data) - 22, len(data) - 1]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            out += [info.header_offset + k for k in (4, 6, 8, 14, 18, 22, 26, 30)]
            out += [info.header_offset + 30 + len(info.filename) + k for k in (0, 6, 8, 10, 20, 60)]
        out.append(data.rfind(b"PK\x01\x02"))
    return sorted({o for o in out if 0 <= o < len(data)})


OFFSETS = _interesting_offsets(RAW)
position = st.one_of(
    st.integers(0, len(RAW) - 1), st.builds(lambda o, d: o + d, st.sampled_from(OFFSETS), st.integers(-4, 4))
)
mutation = st.one_of(
    st.tuples(st.just("set"), position, st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("insert"), position, st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("delete"), position, st.integers(1, 64)),
    st.tuples(st.just("truncate"), position, st.just(0)),
    st.tuples(st.just("bitflip"), position, st.integers(0, 7)),
)


def _mutate(data: bytes, ops: list[tuple]) -> bytes:
    b = bytearray(data)
    for op, pos, arg in ops:
        pos = min(max(pos, 0), max(len(b) - 1, 0))
        if op == "set":
            b[pos : pos + len(arg)] = arg
        elif op == "insert":
            b[pos:pos] = arg
        elif op == "delete":
            del b[pos : pos + arg]
        elif op == "truncate":
            del b[pos:]
        elif b:
            b[pos] ^= 1 << arg
    return bytes(b)


def _check_outcome(path: Path) -> Baseline | None:
    """Load ``path``: a baseline the engine runs one frame on, or a one-line refusal naming the file."""
    try:
        with no_hang():
            baseline = load_baseline(path)
    except BaselineError as exc:
        assert_one_line(str(exc), str(path))
        return None
    w, h = baseline.resolution
    engine = DriftEngine(baseline)
    if w * h <= 640 * 480:
        channels = {"gray8": 1, "gray16": 1}.get(baseline.pixel_format, 3)
        img = np.full((h, w, channels) if channels > 1 else (h, w), 100, np.uint8)
        if baseline.pixel_format in ("bgr8", "rgb8", "gray8"):
            try:
                stats = baseline.kernel.stats(img)
            except ValueError:  # the frame does not fit the baseline's kernel: the agent rejects such frames
                return baseline
            engine.update(stats, 0, 0.0)
    return baseline


@fuzz_settings()
@given(st.lists(mutation, min_size=1, max_size=4))
def test_raw_corruptions_load_or_are_refused_in_one_line(ops: list[tuple]) -> None:
    _check_outcome(scratch("raw.npz", _mutate(RAW, ops)))


# -- crafted: valid checksum, content out of range ------------------------------------------------------------

json_value = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.sampled_from([0, 1, -1, 2, 255, 256, 65536, 10**12])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([math.inf, -math.inf, math.nan, 5e-324, 1e308, -0.0])
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
HEADER_PATHS = [(k,) for k in HEADER if k not in ("sha256", "format", "version")] + [
    ("thresholds", k) for k in HEADER["thresholds"]
]
ARRAY_NAMES = sorted(ARRAYS)
SPECIAL = [math.nan, math.inf, -math.inf, -1.0, 0.0, 1e308, -1e308, 5e-324, 1e-300, 300.0, 257.0]


@st.composite
def crafted(draw: st.DrawFn) -> tuple[dict, dict[str, np.ndarray]]:
    header = json.loads(json.dumps(HEADER))
    arrays = {k: v.copy() for k, v in ARRAYS.items()}
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(["header", "header", "delete", "value", "value", "shape", "dtype", "drop", "th"])
        )
        if kind in ("header", "delete"):
            path = draw(st.sampled_from(HEADER_PATHS))
            table = header if len(path) == 1 else header.get("thresholds")
            if not isinstance(table, dict):
                continue
            if kind == "delete":
                table.pop(path[-1], None)
            else:
                table[path[-1]] = draw(json_value)
        elif kind == "value":
            name = draw(st.sampled_from(sorted(arrays)))
            a = arrays[name]
            if a.size:
                flat = a.reshape(-1).astype(np.float64)
                flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from(SPECIAL) | st.floats())
                with np.errstate(all="ignore"):
                    arrays[name] = flat.astype(a.dtype if a.dtype.kind == "f" else np.float64).reshape(
                        a.shape
                    )
        elif kind == "shape":
            name = draw(st.sampled_from(ARRAY_NAMES))
            shape = tuple(draw(st.lists(st.integers(0, 40), max_size=3)))
            arrays[name] = np.zeros(shape, draw(st.sampled_from([np.float64, np.int64, np.uint8])))
        elif kind == "dtype":
            name = draw(st.sampled_from(sorted(arrays)))
            with np.errstate(all="ignore"):
                arrays[name] = arrays[name].astype(
                    draw(st.sampled_from([np.int8, np.uint32, np.float16, np.bool_]))
                )
        elif kind == "drop":
            arrays.pop(draw(st.sampled_from(ARRAY_NAMES)), None)
        else:  # the thresholds the verdict rests on: +inf, NaN, warn above drift, zero
            name = draw(st.sampled_from(["thresholds.drift", "thresholds.warn", "thresholds.null_scale"]))
            if name in arrays and arrays[name].size:
                # a flat float copy: an earlier "dtype" step may have made it integer or boolean (no inf there),
                # and a "shape" step 0-dimensional (no index)
                a = arrays[name]
                flat = a.astype(np.float64).reshape(-1)
                flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from(SPECIAL))
                arrays[name] = flat.reshape(a.shape)
    header.pop("sha256", None)
    header["sha256"] = content_digest(header, arrays)
    return header, arrays


@fuzz_settings()
@given(crafted())
def test_crafted_baselines_with_a_valid_checksum_load_usable_or_are_refused(case) -> None:
    header, arrays = case
    path = scratch("crafted.npz", pack_npz(header, arrays))
    baseline = _check_outcome(path)
    if baseline is not None:  # what loads is usable: finite thresholds, 0 < warn <= drift
        t = baseline.thresholds
        assert np.isfinite(t.drift).all() and np.isfinite(t.warn).all()
        assert ((t.warn > 0) & (t.warn <= t.drift)).all()


def test_the_fuzz_runs_as_many_cases_as_the_issue_asks() -> None:
    assert CASES >= 2000
