"""The benchmarks' timing helper: warm-up, interleaved rounds, sample counts and the ms figures.

Time is faked (every call advances a fake perf_counter by a chosen duration), so the figures are exact and no
test depends on the machine's speed.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from camdrift.agent.bench import timing
from camdrift.agent.bench.timing import Timing, interleaved


class FakeTime:
    """A perf_counter that only moves when a timed function runs, by that function's next duration (s)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.calls: list[str] = []

    def perf_counter(self) -> float:
        return self.now

    def fn(self, name: str, durations: Callable[[int], float]) -> Callable[[], None]:
        count = 0

        def call() -> None:
            nonlocal count
            self.calls.append(name)
            self.now += durations(count)
            count += 1

        return call


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    clock = FakeTime()
    monkeypatch.setattr(timing.time, "perf_counter", clock.perf_counter)
    return clock


def test_one_warm_up_call_each_then_alternating_rounds(fake: FakeTime) -> None:
    fns = {"a": fake.fn("a", lambda i: 0.001), "b": fake.fn("b", lambda i: 0.001)}
    result = interleaved(fns, n=6, rounds=3)
    assert fake.calls == ["a", "b"] + ["a", "a", "b", "b"] * 3
    assert result["a"].n == result["b"].n == 6


def test_sample_count_is_whole_rounds_of_at_least_one_call(fake: FakeTime) -> None:
    fns = {"a": fake.fn("a", lambda i: 0.001)}
    assert interleaved(fns, n=3, rounds=5)["a"].n == 5  # fewer calls than rounds: one per round
    assert interleaved(fns, n=12, rounds=5)["a"].n == 10  # rounded down to whole rounds


def test_median_and_p90_in_milliseconds_leave_out_the_warm_up(fake: FakeTime) -> None:
    # The warm-up call (index 0) takes 1 s: it must not count. Then 1, 2, ..., 10 ms.
    slow_start = fake.fn("a", lambda i: 1.0 if i == 0 else i * 1e-3)
    steady = fake.fn("b", lambda i: 4e-3)
    result = interleaved({"a": slow_start, "b": steady}, n=10, rounds=5)
    assert result["a"] == Timing(pytest.approx(5.5), pytest.approx(9.1), 10)
    assert result["b"] == Timing(pytest.approx(4.0), pytest.approx(4.0), 10)
    assert result["a"]._asdict().keys() == {"median_ms", "p90_ms", "n"}  # the --json keys
