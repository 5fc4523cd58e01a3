"""The contract of the drift engine's stateful parts, checked on every class that keeps it.

For each part: ``update`` returns the part itself; its state saved mid-stream (through JSON and copied arrays,
as the state file holds it) and restored into a fresh part behaves exactly like the part that never stopped, on
the rest of a seeded stream; and where the part keeps something a batch computation can give (running sums,
window statistics, CUSUM sums) the incremental value equals the batch one after every update. A new stateful
class in agent/drift without a case here fails :func:`test_every_stateful_class_has_a_case`.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pytest

import camdrift.agent.drift as drift_package
from camdrift.agent.drift.activations import ActivationMonitor
from camdrift.agent.drift.contract import Monitor, Section, Stateful, StatisticFamily, copy_into, prefixed
from camdrift.agent.drift.decision import Episodes, Hysteresis, Transition
from camdrift.agent.drift.engine import DriftEngine
from camdrift.agent.drift.families import Families, Filed
from camdrift.agent.drift.features import FrameFeatures
from camdrift.agent.drift.outputs import OutputMonitor
from camdrift.agent.drift.slow import SlowDriftMonitor
from camdrift.agent.drift.statistics import Cusum, window_statistics
from camdrift.agent.drift.window_monitor import WindowMonitor
from camdrift.agent.drift.windows import RingSum, SlidingWindow, TimeBuckets
from camdrift.agent.predictions.outputs import detection
from camdrift.agent.sim.line import Drift
from camdrift.kernels.activations import histogram_by_edges, project
from tests.agent.drift_fixtures import (
    FPS,
    activation_features,
    activation_reference,
    classifier_outputs,
    output_reference,
    small_baseline,
    stats_of,
)

N, CUT = 90, 47  # stream length, and where the state is saved


@lru_cache(maxsize=1)
def _stats() -> tuple:
    """Frames of the line with the light 15 % up from frame 40: window statistics in warning and drift."""
    return tuple(stats_of(9, N, Drift(gain=1.15), onset=40))


@lru_cache(maxsize=1)
def _features() -> tuple[FrameFeatures, ...]:
    m = WindowMonitor(small_baseline())
    return tuple(m.features(s) for s in _stats())


def _rng_stream(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(N, *shape))


@dataclass(frozen=True)
class Case:
    """make: a fresh part; feed(part, i): the stream's i-th observation in (returns what update returned);
    observe(part): what a user of the part sees after an update; batch(i): that computed from scratch over
    observations 0..i (None where the part has no batch equivalent)."""

    make: Callable[[], Any]
    feed: Callable[[Any, int], Any]
    observe: Callable[[Any], Any]
    batch: Callable[[int], Any] | None = None


# --- the seeded streams -----------------------------------------------------------------------------------------

_X3 = _rng_stream(1, (3,))
_TIMES = np.cumsum(
    np.random.default_rng(2).choice([0.5, 20.0, 70.0, 400.0], size=N, p=[0.5, 0.3, 0.15, 0.05])
)
_CUSUM_X = _rng_stream(3, ()) + np.linspace(0.0, 2.0, N)
_SCORES = np.abs(np.cumsum(np.random.default_rng(4).normal(0.0, 0.6, size=N)))
_ACTS = activation_features(N, 12, seed=8) + np.linspace(0.0, 3.0, N)[:, None]
_ACTS[[5, 33, 60]] = np.nan  # counted, never fed
# the classifier's confidence falls from frame 50 on; frames 7 and 41 carry a detector's outputs (refused)
_OUTPUTS = classifier_outputs(50, seed=12) + classifier_outputs(N - 50, seed=13, confidence_drop=2.5)
_OUTPUTS[7] = _OUTPUTS[41] = detection(np.zeros((1, 4)), [0], [0.5])


def _small_features(i: int) -> FrameFeatures:
    rng = np.random.default_rng(100 + i)
    return FrameFeatures(
        rng.integers(0, 50, size=(4, 6)),
        rng.normal(size=5),
        rng.uniform(0, 255, size=(4, 4)),
        rng.normal(size=(2, 2)),
        rng.normal(size=(2, 2)),
    )


def _transitions(i: int) -> list[Transition]:
    rng = np.random.default_rng(200 + i)
    kinds = ("drift", "recovered", "warning", "cleared")
    return [
        Transition(str(rng.choice(kinds)), str(rng.choice(("a", "b", "c")))) for _ in range(rng.integers(3))
    ]


def _slow_feed(m: SlowDriftMonitor, i: int) -> SlowDriftMonitor:
    """A brightness ramp at 7 s a frame (a minute bucket every ~9 frames), a sudden change on frames 40..54."""
    x = _features()[i].scalars.copy()
    x[0] += 0.4 * i
    return m.update(7.0 * i, x, 40 <= i < 55)


def _window_feed(m: WindowMonitor, i: int) -> WindowMonitor:
    return m.update(_features()[i])


def _engine_feed(e: DriftEngine, i: int) -> DriftEngine:
    return e.update(
        _stats()[i], i, i / FPS, activations=_ACTS[i] if i % 2 == 0 else None, outputs=_OUTPUTS[i]
    )


def _activation_engine() -> DriftEngine:
    import dataclasses

    b = dataclasses.replace(small_baseline(), activations=activation_reference(), outputs=output_reference())
    return DriftEngine(b)


def _output_counts_batch(i: int) -> np.ndarray:
    ref = output_reference()
    good = [o for o in _OUTPUTS[: i + 1] if o.kind == "classification"][-ref.class_window :]
    return np.bincount([min(o.label, ref.n_classes) for o in good], minlength=ref.n_classes + 1)


def _families() -> Families:
    b = small_baseline()
    act = ActivationMonitor(activation_reference())
    return Families([Filed(WindowMonitor(b)), Filed(SlowDriftMonitor(b)), Filed(act, "act.", "activations")])


def _families_feed(f: Families, i: int) -> None:
    pixels, slow, act = f.members
    _window_feed(pixels, i)
    _slow_feed(slow, i)
    act.update(_ACTS[i])


def _family_view(m: StatisticFamily) -> tuple:
    return (list(m.transitions), m.statistics(), [m.score(g.name) for g in m.groups])


# --- batch equivalents ------------------------------------------------------------------------------------------


def _ring_batch(i: int) -> np.ndarray:
    return _X3[max(0, i - 4) : i + 1].sum(axis=0)


def _window_sums_batch(i: int) -> FrameFeatures:
    rows = [_small_features(j) for j in range(max(0, i - 5), i + 1)]
    return FrameFeatures(*(np.sum(parts, axis=0) for parts in zip(*rows, strict=True)))


def _buckets_batch(i: int) -> tuple:
    """Means of the live minute buckets (the last 6) from the raw observations."""
    ids = np.floor(_TIMES[: i + 1] / 60.0).astype(int)
    live = sorted({b for b in ids if b > ids[-1] - 6})
    return tuple(_X3[: i + 1][ids == b].mean(axis=0) for b in live)


def _cusum_batch(i: int) -> tuple[float, float]:
    """Page's CUSUM in closed form: S+_n = C_n - min_{j<=n} C_j with C = cumsum(x - k), C_0 = 0 (no cap)."""
    up = np.concatenate([[0.0], np.cumsum(_CUSUM_X[: i + 1] - 0.5)])
    down = np.concatenate([[0.0], np.cumsum(-_CUSUM_X[: i + 1] - 0.5)])
    return float(up[-1] - up.min()), float(down[-1] - down.min())


def _window_scores_batch(i: int) -> np.ndarray | None:
    m = WindowMonitor(small_baseline())
    rows = _features()[max(0, i - 19) : i + 1]
    if len(rows) < 20:
        return None
    sums = FrameFeatures(*(np.sum(parts, axis=0) for parts in zip(*rows, strict=True)))
    return window_statistics(sums, len(rows), m.ref).scores


def _activation_counts_batch(i: int) -> np.ndarray:
    ref = activation_reference()
    good = [a for a in _ACTS[: i + 1] if np.isfinite(a).all()][-ref.window :]
    return histogram_by_edges(project(np.array(good), ref.mean, ref.basis), ref.edges)


CASES: dict[type, Case] = {
    RingSum: Case(
        lambda: RingSum(5, (3,)), lambda r, i: r.update(_X3[i]), lambda r: r.sum.copy(), _ring_batch
    ),
    SlidingWindow: Case(
        lambda: SlidingWindow(6, _small_features(0)),
        lambda w, i: w.update(_small_features(i)),
        lambda w: (w.sums(), w.recent_sums(3), w.count),
        _window_sums_batch,
    ),
    TimeBuckets: Case(
        lambda: TimeBuckets(60.0, 6, 3),
        lambda tb, i: tb.update(_TIMES[i], _X3[i]),
        lambda tb: tuple(tb.series(include_current=True)[2]),
        _buckets_batch,
    ),
    Cusum: Case(
        lambda: Cusum(0.5, 4.0),
        lambda c, i: c.update(_CUSUM_X[i]),
        lambda c: (c.pos, c.neg),
        _cusum_batch,
    ),
    Hysteresis: Case(
        lambda: Hysteresis("x", warn=1.0, drift=2.0, persistence=2, recovery=3),
        lambda g, i: g.update(_SCORES[i]),
        lambda g: (g.state, g.transition),
    ),
    WindowMonitor: Case(
        lambda: WindowMonitor(small_baseline()),
        _window_feed,
        lambda m: (*_family_view(m), m.alert_start, m.evidence(), None if m.last is None else m.recent(5)),
        _window_scores_batch,
    ),
    SlowDriftMonitor: Case(
        lambda: SlowDriftMonitor(small_baseline(), minute_buckets=30, hour_buckets=4),
        _slow_feed,
        lambda m: (*_family_view(m), m.numbers(), m.forecast(None, 0.1)),
    ),
    ActivationMonitor: Case(
        lambda: ActivationMonitor(activation_reference()),
        lambda m, i: m.update(_ACTS[i]),
        lambda m: (*_family_view(m), dict(m.rejected), m.numbers()),
        _activation_counts_batch,
    ),
    OutputMonitor: Case(
        lambda: OutputMonitor(output_reference()),
        lambda m, i: m.update(_OUTPUTS[i]),
        lambda m: (*_family_view(m), dict(m.rejected), m.numbers(), m.change()),
        _output_counts_batch,
    ),
    DriftEngine: Case(_activation_engine, _engine_feed, lambda e: (e.decisions, e.state, e.snapshot())),
    Episodes: Case(
        lambda: Episodes("cam", "base"),
        lambda ep, i: (ep.kinds(_transitions(i), i, i / FPS), ep.close_if_ended()),
        lambda ep: (ep.current, ep.groups),
    ),
    Families: Case(_families, _families_feed, lambda f: f.statistics()),
}


def _incremental(case: Case, part: Any) -> Any:
    """What the part holds that its batch equivalent gives."""
    if isinstance(part, WindowMonitor):
        return None if part.last is None else part.last.scores
    if isinstance(part, ActivationMonitor | OutputMonitor):
        return part.counts
    if isinstance(part, SlidingWindow):
        return part.sums()
    return case.observe(part)


def same(a: Any, b: Any) -> bool:
    """Exact equality through tuples, lists, dicts and arrays (a restored part must not differ by one ulp)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=np.asarray(a).dtype.kind == "f")
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return bool(a == b)


def _stateful_classes() -> set[type]:
    """Every class defined in camdrift.agent.drift that keeps the state half of the contract."""
    out = set()
    for info in pkgutil.iter_modules(drift_package.__path__):
        module = importlib.import_module(f"camdrift.agent.drift.{info.name}")
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and obj.__module__ == module.__name__
                and not getattr(obj, "_is_protocol", False)
                and all(callable(getattr(obj, n, None)) for n in ("state_arrays", "state_header", "restore"))
            ):
                out.add(obj)
    return out


def test_every_stateful_class_has_a_case() -> None:
    assert _stateful_classes() == set(CASES)


@pytest.mark.parametrize("cls", list(CASES), ids=lambda c: c.__name__)
def test_update_returns_the_part_itself(cls: type) -> None:
    case = CASES[cls]
    part = case.make()
    assert isinstance(part, Stateful)
    if cls in (Episodes, Families):  # state only: fed by the engine, not updated
        assert not isinstance(part, Monitor)
        return
    assert isinstance(part, Monitor)
    for i in range(N):
        assert case.feed(part, i) is part


def _saved(part: Stateful) -> tuple[dict, dict]:
    """The part's state as a state file holds it: the header through JSON, the arrays copied."""
    header = json.loads(json.dumps(part.state_header()))
    arrays = {k: np.array(v, copy=True) for k, v in part.state_arrays().items()}
    for name, a in arrays.items():
        assert a.dtype.kind in "biuf", f"{name}: {a.dtype} cannot go into a state file"
    return header, arrays


@pytest.mark.parametrize("cls", list(CASES), ids=lambda c: c.__name__)
def test_restored_part_behaves_like_the_uninterrupted_one(cls: type) -> None:
    case = CASES[cls]
    whole, first = case.make(), case.make()
    for i in range(CUT):
        case.feed(whole, i)
        case.feed(first, i)
    header, arrays = _saved(first)
    restored = case.make()
    restored.restore(header, arrays)
    assert same(_saved(restored), (header, arrays))  # restoring then saving gives the same state
    for i in range(CUT, N):
        case.feed(restored, i)
        case.feed(whole, i)
        assert same(case.observe(restored), case.observe(whole)), f"{cls.__name__} differs at {i}"


@pytest.mark.parametrize(
    "cls", [c for c, case in CASES.items() if case.batch is not None], ids=lambda c: c.__name__
)
def test_incremental_equals_batch(cls: type) -> None:
    case = CASES[cls]
    part = case.make()
    for i in range(N):
        case.feed(part, i)
        got, want = _incremental(case, part), case.batch(i)
        if want is None:
            assert got is None
        elif isinstance(got, FrameFeatures):
            for g, w in zip(got, want, strict=True):
                np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-9)
        else:
            for g, w in zip(np.atleast_1d(got) if isinstance(got, np.ndarray) else got, want, strict=True):
                np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-9)


def test_a_saved_array_of_the_wrong_shape_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match=r"sums: array of shape \(3,\)"):
        copy_into("sums", np.zeros(2), np.zeros(3))
    tb = TimeBuckets(60.0, 6, 3)
    arrays = TimeBuckets(60.0, 5, 3).state_arrays()
    with pytest.raises(ValueError, match="ids: array of shape"):
        tb.restore({"current": 0}, arrays)


def test_a_section_files_a_parts_keys_under_its_prefix() -> None:
    data = prefixed("window.", {"a": 1, "b": 2}) | {"other": 3}
    view = Section(data, "window.")
    assert dict(view) == {"a": 1, "b": 2} and len(view) == 2
    with pytest.raises(KeyError, match="window.c"):
        view["c"]
