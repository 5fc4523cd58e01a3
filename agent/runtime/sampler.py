"""Which frames to analyse: at most ``max_fps`` by stream time, within a CPU budget.

:class:`CpuBudget` measures the agent's own process CPU time against wall time over windows of a few seconds.
:class:`FrameSampler` rate-limits frames by their stream time and, when the budget reports the agent over
budget, steps up a ladder of cheaper settings: the pixel stride first (1 -> 2 -> 4 times the configured stride,
each step a quarter of the pixels), then halving the rate (down to ``min_fps``). After ``recover_after`` seconds
below ``low_water`` times the budget it steps back down one rung at a time. Frames that are not analysed are
dropped by the caller, never queued.

The budget is first measured from the end of the first analysed frame: start-up (imports, the baseline, the
kernels' first call) is not the agent's steady cost, and counting it made every start read as over budget. A
source that is asked for frames (the frame tap: each request makes the app copy one) follows the rate through
:meth:`FrameSampler.follow`, so every step down, step back and reload changes what the app is asked for.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import NamedTuple

__all__ = ["CpuBudget", "FrameSampler", "SamplerState"]


class CpuBudget:
    """Share of one core used by this process, measured over windows of ``window`` s of wall time.

    budget: allowed fraction of one core, in (0, 1] (0.15 = 15 % of one core).
    cpu_clock / wall_clock: seconds; injectable (defaults: ``time.process_time``, ``time.monotonic``).
    ``process_time`` counts every thread of the process, numba's included: right for ``camdrift run``, which
    owns its process. The in-process agent shares its process with the app, so it passes ``time.thread_time``
    and is charged only for its own thread (read from that thread: see :meth:`restart`).

    >>> cpu, wall = [0.0], [0.0]
    >>> b = CpuBudget(0.15, window=5.0, cpu_clock=lambda: cpu[0], wall_clock=lambda: wall[0])
    >>> cpu[0], wall[0] = 1.0, 5.0   # 1 s of CPU in 5 s: 20 % of a core
    >>> b.update().fraction, b.over
    (0.2, True)
    """

    def __init__(
        self,
        budget: float = 0.15,
        *,
        window: float = 5.0,
        cpu_clock: Callable[[], float] = time.process_time,
        wall_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0.0 < budget <= 1.0:
            raise ValueError(f"budget must be in (0, 1] (fraction of one core), got {budget!r}")
        if not window > 0.0:
            raise ValueError(f"window must be > 0 s, got {window!r}")
        self.budget = budget
        self.window = window
        self._cpu_clock = cpu_clock
        self._wall_clock = wall_clock
        self._cpu0 = cpu_clock()
        self._wall0 = wall_clock()
        self.fraction: float | None = None  # of one core, over the last complete window; None before one
        self.windows = 0  # complete windows measured so far
        self.measured_at = self._wall0  # wall time at which the last window closed

    def update(self) -> CpuBudget:
        """Reads the clocks; closes the window (new ``fraction``) once ``window`` s of wall time have passed."""
        wall = self._wall_clock()
        elapsed = wall - self._wall0
        if elapsed >= self.window:
            cpu = self._cpu_clock()
            self.fraction = max(0.0, (cpu - self._cpu0) / elapsed)
            self._cpu0, self._wall0 = cpu, wall
            self.windows += 1
            self.measured_at = wall
        return self

    def restart(self) -> CpuBudget:
        """Starts a new window now, forgetting the time since the last one (and, for a per-thread clock, taking
        the clock of the calling thread from here on)."""
        self._cpu0 = self._cpu_clock()
        self._wall0 = self._wall_clock()
        return self

    @property
    def over(self) -> bool:
        """Whether the last complete window used more than the budget."""
        return self.fraction is not None and self.fraction > self.budget


class SamplerState(NamedTuple):
    """What the sampler does now, for the agent's status."""

    over_budget: bool  # the last measured window used more than the budget
    level: int  # 0 = as configured; each level is one rung cheaper
    stride: int  # pixel stride to analyse with
    fps: float  # current rate limit, frames per second of stream time
    cpu_fraction: float | None  # last measured share of one core
    analysed: int
    dropped: int

    def describe(self) -> str:
        if self.over_budget:
            head = "over budget"
        elif self.level:
            head = "within budget, recovering"
        else:
            head = "within budget"
        cpu = "cpu n/a" if self.cpu_fraction is None else f"cpu {self.cpu_fraction:.0%} of a core"
        return f"{head}: stride {self.stride}, {self.fps:.3g} fps ({cpu})"


class FrameSampler:
    """Decides per frame whether to analyse it, from its stream time and the CPU budget.

    max_fps: analyse at most this many frames per second of stream time.
    stride: configured pixel stride; the budget may multiply it by up to ``max_stride_factor``.
    budget: a :class:`CpuBudget`, or None for no CPU control (rate limit only).
    min_fps: the rate is never lowered below this.
    low_water: fraction of the budget under which usage counts as comfortably within it.
    recover_after: seconds of wall time (whole budget windows) within ``low_water`` before stepping back.

    >>> s = FrameSampler(max_fps=2.0)
    >>> [t for t in [0.0, 0.1, 0.3, 0.5, 0.6, 1.0, 1.49, 1.5] if s.offer(t)]
    [0.0, 0.5, 1.0, 1.5]
    """

    def __init__(
        self,
        max_fps: float,
        *,
        stride: int = 1,
        budget: CpuBudget | None = None,
        max_stride_factor: int = 4,
        min_fps: float = 0.2,
        low_water: float = 0.7,
        recover_after: float = 30.0,
    ) -> None:
        if not (math.isfinite(max_fps) and max_fps > 0):
            raise ValueError(f"max_fps must be > 0, got {max_fps!r}")
        if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
            raise ValueError(f"stride must be an integer >= 1, got {stride!r}")
        if max_stride_factor not in (1, 2, 4, 8):
            raise ValueError(f"max_stride_factor must be 1, 2, 4 or 8, got {max_stride_factor!r}")
        if not 0 < min_fps <= max_fps:
            raise ValueError(f"min_fps must be in (0, max_fps={max_fps}], got {min_fps!r}")
        if not 0 < low_water < 1:
            raise ValueError(f"low_water must be in (0, 1), got {low_water!r}")
        if not recover_after >= 0:
            raise ValueError(f"recover_after must be >= 0 s, got {recover_after!r}")
        self.max_fps = float(max_fps)
        self.base_stride = stride
        self.budget = budget
        self.min_fps = float(min_fps)
        self.low_water = low_water
        self.recover_after = recover_after
        # The ladder: (stride factor, rate divisor) per level, cheapest last.
        ladder = []
        factor = 1
        while factor <= max_stride_factor:
            ladder.append((factor, 1))
            factor *= 2
        divisor = 2
        while self.max_fps > self.min_fps:
            ladder.append((max_stride_factor, divisor))
            if self.max_fps / divisor <= self.min_fps:  # this rung runs at min_fps (see fps)
                break
            divisor *= 2
        self._ladder = ladder
        self.level = 0
        self._next_due: float | None = None
        self._last_t: float | None = None
        self._seen_windows = 0
        self._calm_since: float | None = None  # wall time of the first calm window in a row
        self._measuring = False  # the budget's windows run from the end of the first analysed frame
        self._request: Callable[[float], None] | None = None
        self.analysed = 0
        self.dropped = 0

    def follow(self, request_interval: Callable[[float], None]) -> FrameSampler:
        """Calls ``request_interval(1 / fps)`` now and at every rate change (a source's
        ``set_request_interval``: the frame tap then asks the app only for frames this sampler will take)."""
        self._request = request_interval
        request_interval(1.0 / self.fps)
        return self

    @property
    def stride(self) -> int:
        """Pixel stride to analyse with now."""
        return self.base_stride * self._ladder[self.level][0]

    @property
    def fps(self) -> float:
        """Current rate limit (frames per second of stream time)."""
        return max(self.min_fps, self.max_fps / self._ladder[self.level][1])

    @property
    def next_due(self) -> float | None:
        """Stream time (s) from which the next frame will be analysed; None before the first frame."""
        return self._next_due

    def offer(self, stream_time: float) -> bool:
        """Whether to analyse the frame with this stream time (s). Consults the CPU budget first."""
        self.update()
        t = float(stream_time)
        if self._last_t is not None and t < self._last_t:
            self._next_due = None  # the stream restarted (reopened source, looped file): start a new grid
        self._last_t = t
        if self._next_due is None or t >= self._next_due - 1e-9:
            period = 1.0 / self.fps
            due = t if self._next_due is None else self._next_due
            # Stay on the grid of due times, but never owe a burst after a gap in the stream.
            self._next_due = due + period if t - due < period else t + period
            self.analysed += 1
            return True
        self.dropped += 1
        return False

    def update(self) -> FrameSampler:
        """Reads the CPU budget and moves one rung per complete window: up when over, down after a calm spell."""
        if self.budget is None or self.analysed == 0:
            return self
        if not self._measuring:
            self._measuring = True
            self.budget.restart()
            return self
        b = self.budget.update()
        if b.windows == self._seen_windows:
            return self
        self._seen_windows = b.windows
        now = b.measured_at
        fps = self.fps
        if b.over:
            self._calm_since = None
            if self.level < len(self._ladder) - 1:
                self.level += 1
        elif b.fraction is not None and b.fraction < self.low_water * b.budget:
            if self._calm_since is None:
                self._calm_since = now - b.window
            if self.level > 0 and now - self._calm_since >= self.recover_after:
                self.level -= 1
                self._calm_since = now  # the next step back needs another calm spell
        else:
            self._calm_since = None
        if self._request is not None and self.fps != fps:
            self._request(1.0 / self.fps)
        return self

    @property
    def state(self) -> SamplerState:
        return SamplerState(
            over_budget=self.budget is not None and self.budget.over,
            level=self.level,
            stride=self.stride,
            fps=self.fps,
            cpu_fraction=None if self.budget is None else self.budget.fraction,
            analysed=self.analysed,
            dropped=self.dropped,
        )

    def describe(self) -> str:
        """Status line, e.g. "over budget: stride 2, 5 fps (cpu 22% of a core)"."""
        return self.state.describe()
