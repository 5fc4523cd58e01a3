"""FrameSampler rate limiting by stream time, and CPU-budget control with injected clocks."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

from camdrift.agent.runtime import sampler as sampler_module
from camdrift.agent.runtime.sampler import CpuBudget, FrameSampler


def test_doctests():
    assert doctest.testmod(sampler_module).failed == 0


@given(
    gaps=st.lists(st.floats(0.0, 2.0, allow_nan=False), min_size=1, max_size=200),
    max_fps=st.floats(0.5, 60.0),
)
def test_rate_limit_spacing_and_no_starvation(gaps, max_fps):
    # At most max_fps on average: accepted frames i < j satisfy t_j - t_i > (j - i - 1) / max_fps (the sampler
    # keeps a grid of due times, so one pair may be closer than a period but no run of frames gets ahead). And
    # a dropped frame always had an accepted one less than a period before it (no frame dropped needlessly).
    s = FrameSampler(max_fps)
    period = 1.0 / max_fps
    t, accepted = 0.0, []
    for gap in gaps:
        t += gap
        if s.offer(t):
            accepted.append(t)
        else:
            assert accepted and t - accepted[-1] < period
    for i, ti in enumerate(accepted):
        for j in range(i + 1, len(accepted)):
            assert accepted[j] - ti > (j - i - 1) * period - 1e-9
    assert s.analysed == len(accepted) and s.analysed + s.dropped == len(gaps)


def test_steady_stream_is_thinned_to_max_fps():
    s = FrameSampler(5.0)
    taken = [k for k in range(300) if s.offer(k / 30)]  # 10 s at 30 fps
    assert taken == list(range(0, 300, 6))


def test_stream_time_going_back_restarts_the_grid():
    s = FrameSampler(1.0)
    assert s.offer(100.0) and not s.offer(100.5)
    assert s.offer(0.0)  # reopened source: its clock starts again
    assert not s.offer(0.5) and s.offer(1.0)


class FakeProcess:
    """Wall clock = stream time of a live 10 fps camera; each analysed frame costs ``cost(stride)`` CPU seconds."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.wall = 0.0

    def run(self, sampler: FrameSampler, seconds: float, cost) -> list[int]:
        levels = []
        for _ in range(round(seconds * 10)):
            self.wall += 0.1
            if sampler.offer(self.wall):
                self.cpu += cost(sampler.stride)
            levels.append(sampler.level)
        return levels


def make(proc: FakeProcess, **kw) -> FrameSampler:
    budget = CpuBudget(0.15, window=5.0, cpu_clock=lambda: proc.cpu, wall_clock=lambda: proc.wall)
    return FrameSampler(5.0, budget=budget, **kw)


def test_moderate_overload_settles_on_a_wider_stride():
    proc = FakeProcess()
    s = make(proc)
    # 0.1 s per full-resolution frame at 5 fps is half a core; stride 2 reads a quarter of the pixels: 12.5 %.
    proc.run(s, 60, cost=lambda stride: 0.1 / stride**2)
    assert (s.level, s.stride, s.fps) == (1, 2, 5.0)
    assert s.describe() == "within budget, recovering: stride 2, 5 fps (cpu 12% of a core)"


def test_persistent_overload_climbs_one_rung_per_window_to_min_fps():
    proc = FakeProcess()
    s = make(proc, min_fps=0.5)
    levels = proc.run(s, 60, cost=lambda stride: 1.0)  # hopeless: every analysed frame costs 1 s
    changes = [b - a for a, b in zip(levels, levels[1:], strict=False) if b != a]
    assert changes and set(changes) == {1}
    assert (s.stride, s.fps) == (4, 0.5) and s.state.over_budget
    assert s.describe().startswith("over budget: stride 4, 0.5 fps")


def test_recovers_one_rung_per_calm_spell():
    proc = FakeProcess()
    s = make(proc, recover_after=20.0)
    proc.run(s, 20, cost=lambda stride: 1.0)
    top = s.level
    assert top >= 3
    levels = proc.run(s, 100, cost=lambda stride: 0.0)
    assert levels[-1] == max(0, top - 100 // 20)
    changes = [i for i in range(1, len(levels)) if levels[i] != levels[i - 1]]
    assert all(b - a >= 20 * 10 - 1 for a, b in zip(changes, changes[1:], strict=False))  # >= 20 s apart


def test_budget_measures_fraction_per_window():
    cpu, wall = [0.0], [0.0]
    b = CpuBudget(0.5, window=2.0, cpu_clock=lambda: cpu[0], wall_clock=lambda: wall[0])
    wall[0], cpu[0] = 1.0, 0.9
    assert b.update().fraction is None  # window not complete yet
    wall[0], cpu[0] = 2.5, 1.0
    assert b.update().fraction == pytest.approx(0.4) and not b.over
    wall[0], cpu[0] = 4.5, 2.2
    assert b.update().fraction == pytest.approx(0.6) and b.over and b.windows == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_fps": 0.0}, "max_fps"),
        ({"max_fps": float("inf")}, "max_fps"),
        ({"max_fps": 5.0, "stride": 0}, "stride"),
        ({"max_fps": 5.0, "min_fps": 6.0}, "min_fps"),
        ({"max_fps": 5.0, "low_water": 1.0}, "low_water"),
        ({"max_fps": 5.0, "max_stride_factor": 3}, "max_stride_factor"),
    ],
)
def test_sampler_rejects_impossible_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FrameSampler(**kwargs)


@pytest.mark.parametrize("budget", [0.0, 1.5, -0.1])
def test_budget_must_be_a_fraction_of_one_core(budget):
    with pytest.raises(ValueError, match=r"budget must be in \(0, 1\]"):
        CpuBudget(budget)


def test_start_up_is_not_charged_to_the_budget():
    """Imports, the baseline and the kernels' first call cost seconds of CPU before and during the first
    analysed frame; the budget's first window starts after it, so a start does not read as over budget."""
    proc = FakeProcess()
    proc.cpu = 3.0  # start-up before the first frame
    s = make(proc)
    proc.wall += 0.1
    assert s.offer(proc.wall)
    proc.cpu += 2.0  # the first analysed frame: the kernels' compilation
    levels = proc.run(s, 30, cost=lambda stride: 0.01)  # steady: 5 % of a core
    assert set(levels) == {0} and s.budget.fraction == pytest.approx(0.05, abs=0.01)
    assert not s.state.over_budget


def test_the_request_interval_follows_every_rate_change():
    proc = FakeProcess()
    s = make(proc, max_stride_factor=1, min_fps=0.5, recover_after=10.0)
    asked: list[float] = []
    s.follow(asked.append)
    assert asked == [0.2]  # 1 / 5 fps, at once
    proc.run(s, 12, cost=lambda stride: 1.0)  # over budget: 5 -> 2.5 fps -> ...
    assert asked[1:3] == [0.4, 0.8]
    assert asked[-1] == pytest.approx(1.0 / s.fps)
    proc.run(s, 200, cost=lambda stride: 0.0)  # calm: back one rung per calm spell, to 5 fps
    assert s.fps == 5.0 and asked[-1] == 0.2
    back = asked[asked.index(max(asked)) :]
    assert len(back) >= 3 and all(b == a / 2 for a, b in zip(back, back[1:], strict=False))  # each step asked
