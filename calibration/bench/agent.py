"""``camdrift bench --agent``: what the agent costs beside an app that offers 1080p frames through the tap.

A baseline is calibrated on rendered 1080p production-line frames, the real daemon (``camdrift run``) is started
as a subprocess reading ``shm:NAME`` with analysis at 5 fps, and this process plays the app: it offers frames at
30 fps through :class:`~camdrift.agent.tap.FrameTap` and times every ``offer()``. The agent's CPU is read from
``/proc/<pid>/stat`` over the measured span (after a warm-up), its RSS from ``/proc/<pid>/status``.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import IO, NamedTuple

import numpy as np

from camdrift.agent.reference.baseline import Baseline, save_baseline
from camdrift.agent.sim.line import ProductionLine
from camdrift.agent.tap import FrameTap
from camdrift.calibration.bench.agent_probe import (
    FirstFrame,
    cpu_seconds,
    pss_mib,
    reattach_seconds,
    rss_mib,
    specialisations_at_stop,
)
from camdrift.calibration.bench.section import SectionEntry
from camdrift.calibration.calibrate.build import Budget, build_baseline
from camdrift.kernels import KernelParams, frame_stats


@dataclass(frozen=True)
class AgentLoad:
    """CPU as a fraction of one core; offer() costs in microseconds; RSS in MiB; rates in frames per second."""

    width: int
    height: int
    offer_fps: float
    analysis_fps: float
    seconds: float
    agent_cpu: float
    offers: int
    copies: int
    offer_skip_median_us: float
    offer_skip_p99_us: float
    offer_copy_median_us: float
    offer_copy_p99_us: float
    noop_median_us: float
    noop_p99_us: float
    offer_skip_tight_median_us: float
    agent_rss_mib: float
    agent_pss_mib: float
    start_to_first_frame_s: float
    agent_start_note: str
    reattach_s: float
    specialisations: int

    def as_dict(self) -> dict:
        return asdict(self)

    def format(self) -> str:
        rows = [
            ("agent CPU beside the tap", f"{self.agent_cpu * 100:.1f} % of a core", "<= 6 %"),
            (
                "agent RSS / PSS at steady state",
                f"{self.agent_rss_mib:.0f} / {self.agent_pss_mib:.0f} MiB",
                "RSS <= 170",
            ),
            ("process start to first analysed frame", f"{self.start_to_first_frame_s:.2f} s", "<= 1.0 s"),
            ("  the agent's own log line", self.agent_start_note, ""),
            ("numba specialisations at steady state", f"{self.specialisations}", "each ~1.5 MiB"),
            ("re-attach to a re-created tap segment", f"{self.reattach_s:.2f} s", "<= 1 s"),
            (
                "frames copied by the app",
                f"{self.copies} of {self.offers} offered ({self.copies / self.seconds:.1f} fps)",
                f"{self.analysis_fps:g} fps",
            ),
            (
                "offer() not sampled, median / p99",
                f"{self.offer_skip_median_us:.1f} / {self.offer_skip_p99_us:.1f} us",
                "p99 < 20 us",
            ),
            (
                "  (empty Python call, same pacing)",
                f"{self.noop_median_us:.1f} / {self.noop_p99_us:.1f} us",
                f"back to back {self.offer_skip_tight_median_us:.2f} us",
            ),
            (
                "offer() copying a frame, median / p99",
                f"{self.offer_copy_median_us / 1e3:.2f} / {self.offer_copy_p99_us / 1e3:.2f} ms",
                "p99 < 2 ms",
            ),
        ]
        head = (
            f"agent beside an app: {self.width}x{self.height} BGR8 offered at {self.offer_fps:g} fps through the "
            f"tap, analysis at {self.analysis_fps:g} fps, {self.seconds:.0f} s measured"
        )
        return "\n".join([head, *(f"  {a:<40} {b:<34} {c}".rstrip() for a, b, c in rows)])


def _noop(frame: np.ndarray, ts: float | None = None) -> bool:
    return False


class OfferTimes(NamedTuple):
    """What the app saw over the measured span: offer() times in microseconds (skip: not sampled, copy: the
    agent took the frame, noop: an empty call at the same pacing, tight: back-to-back skips after the span);
    the agent's CPU as a fraction of one core, its RSS and PSS in MiB."""

    skip: list[float]
    copy: list[float]
    noop: list[float]
    tight: list[float]
    cpu: float
    rss_mib: float
    pss_mib: float


def _bench_baseline(
    line: ProductionLine,
    pool: list[np.ndarray],
    analysis_fps: float,
    activations: Callable[[Baseline, list[np.ndarray]], tuple[Baseline, str]] | None,
) -> tuple[Baseline, str]:
    """The baseline the agent runs with, calibrated on the rendered line (``pool`` then 112 more frames), and
    the ``[activations]`` config text ("" without ``activations``)."""
    # The 112 further 1080p frames are rendered again for the activations rather than held (~700 MB).
    stats = [frame_stats(f) for f in pool] + [frame_stats(line.frame(i)) for i in range(len(pool), 160)]
    baseline = build_baseline(
        stats,
        camera_id="bench",
        source="bench: rendered production line",
        kernel=KernelParams(resolution=(line.width, line.height)),
        budget=Budget(window=30, fps=analysis_fps, n_replicates=300),
    )
    if activations is None:
        return baseline, ""
    return activations(baseline, [*pool, *(line.frame(i) for i in range(len(pool), 160))])


def agent_config(tmp: str, name: str, analysis_fps: float, act_config: str) -> Path:
    """The agent's TOML config: the tap ``shm:name``, no console sink, no evidence, state under ``tmp``."""
    cfg = Path(tmp) / "bench.toml"
    cfg.write_text(
        f'[camera]\nid = "bench"\n[source]\nuri = "shm:{name}"\n[analysis]\nmax_fps = {analysis_fps}\n'
        f'[baseline]\npath = "{tmp}/baseline.npz"\n[state]\ndir = "{tmp}/state"\n'
        "[sinks.console]\nenabled = false\n[evidence]\nmax_bytes = 0\n" + act_config
    )
    return cfg


def _start_agent(cfg: Path, log_file: IO[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "camdrift.agent.cli", "run", "--config", str(cfg), "--log-level", "info"],
        stdout=subprocess.DEVNULL,
        stderr=log_file,  # a file, not a pipe: nobody reads it while the agent runs
        text=True,
    )


def _stop_agent(agent: subprocess.Popen) -> None:
    agent.send_signal(signal.SIGTERM)
    try:
        agent.wait(timeout=20)
    except subprocess.TimeoutExpired:
        agent.kill()


def _play_app(
    tap: FrameTap,
    agent: subprocess.Popen,
    log_file: IO[str],
    pool: list[np.ndarray],
    offer_fps: float,
    span: tuple[float, float],
    first: FirstFrame,
) -> OfferTimes:
    """Offer ``pool``'s frames round robin at ``offer_fps`` for ``span`` = (warm-up, measured) seconds, timing
    every offer(); the agent's CPU is read over the measured part only. ``first`` is polled until the agent
    logs its first analysed frame."""
    warmup, seconds = span
    skip: list[float] = []
    copy: list[float] = []
    noop: list[float] = []
    period = 1.0 / offer_fps
    start = time.monotonic()
    cpu0 = t0 = None
    k = 0
    while True:
        now = time.monotonic()
        if cpu0 is None and now - start >= warmup:
            cpu0, t0 = cpu_seconds(agent.pid), now
            skip.clear()
            copy.clear()
            noop.clear()
        if t0 is not None and now - t0 >= seconds:
            break
        if agent.poll() is not None:
            log_file.seek(0)
            raise RuntimeError(f"the agent exited early: {log_file.read().strip()[-500:]}")
        frame = pool[k % len(pool)]
        # The same pacing makes even an empty call slow (caches, timer); time one as the reference.
        a = time.perf_counter_ns()
        _noop(frame, ts=k / offer_fps)
        noop.append((time.perf_counter_ns() - a) / 1e3)
        a = time.perf_counter_ns()
        copied = tap.offer(frame, ts=k / offer_fps)
        (copy if copied else skip).append((time.perf_counter_ns() - a) / 1e3)
        first.poll()
        k += 1
        time.sleep(max(0.0, start + k * period - time.monotonic()))
    cpu = (cpu_seconds(agent.pid) - cpu0) / (time.monotonic() - t0)
    rss, pss = rss_mib(agent.pid), pss_mib(agent.pid)
    tight = []
    for _ in range(2000):  # back to back: the agent asks at most 5 times a second, so these are skips
        a = time.perf_counter_ns()
        if not tap.offer(pool[0], ts=k / offer_fps):
            tight.append((time.perf_counter_ns() - a) / 1e3)
    return OfferTimes(skip, copy, noop, tight, cpu, rss, pss)


def measure(
    width: int = 1920,
    height: int = 1080,
    offer_fps: float = 30.0,
    analysis_fps: float = 5.0,
    seconds: float = 20.0,
    warmup: float = 5.0,
    activations: Callable[[Baseline, list[np.ndarray]], tuple[Baseline, str]] | None = None,
) -> AgentLoad:
    """activations: adds the activation group: called with the pixel baseline and the rendered reference frames,
    returns the baseline with the group and the ``[activations]`` config text that enables it."""
    line = ProductionLine(seed=1, width=width, height=height, fps=offer_fps)
    pool = [line.frame(i) for i in range(48)]
    baseline, act_config = _bench_baseline(line, pool, analysis_fps, activations)
    name = f"bench-{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryDirectory(prefix="camdrift-bench-") as tmp:
        save_baseline(baseline, Path(tmp) / "baseline.npz")
        cfg = agent_config(tmp, name, analysis_fps, act_config)
        capacity = width * height * 3
        tap = FrameTap(name, capacity=capacity)
        log_file = open(Path(tmp) / "agent.log", "w+")  # closed in the finally below
        first = FirstFrame(log_file, time.monotonic())
        agent = _start_agent(cfg, log_file)
        try:
            offers = _play_app(tap, agent, log_file, pool, offer_fps, (warmup, seconds), first)
            tap.close()
            reattach = reattach_seconds(name, capacity, pool[0], offer_fps)
        finally:
            _stop_agent(agent)
            tap.close()
            log_file.seek(0)
            specialisations = specialisations_at_stop(log_file.read())
            log_file.close()
    if first.seconds is None:
        raise RuntimeError("the agent never logged its first analysed frame")
    start = (first.seconds, first.note)
    load = agent_load(offers, width, height, offer_fps, analysis_fps, seconds, start, reattach)
    return replace(load, specialisations=specialisations)


def agent_load(
    offers: OfferTimes,
    width: int,
    height: int,
    offer_fps: float,
    analysis_fps: float,
    seconds: float,
    start: tuple[float, str],
    reattach_s: float,
) -> AgentLoad:
    """The figures of one run: medians and 99th percentiles of the offer() times (microseconds); ``start``:
    seconds from spawning the agent to its first-frame log line, and that line's own note."""
    skip, copy, noop = offers.skip, offers.copy, offers.noop
    if not copy:
        raise RuntimeError("the agent took no frame from the tap")
    return AgentLoad(
        width=width,
        height=height,
        offer_fps=offer_fps,
        analysis_fps=analysis_fps,
        seconds=seconds,
        agent_cpu=offers.cpu,
        offers=len(skip) + len(copy),
        copies=len(copy),
        offer_skip_median_us=float(np.median(skip)),
        offer_skip_p99_us=float(np.percentile(skip, 99)),
        offer_copy_median_us=float(np.median(copy)),
        offer_copy_p99_us=float(np.percentile(copy, 99)),
        noop_median_us=float(np.median(noop)),
        noop_p99_us=float(np.percentile(noop, 99)),
        offer_skip_tight_median_us=float(np.median(offers.tight)),
        agent_rss_mib=offers.rss_mib,
        agent_pss_mib=offers.pss_mib,
        start_to_first_frame_s=start[0],
        agent_start_note=start[1],
        reattach_s=reattach_s,
        specialisations=-1,  # read from the agent's log as it stops
    )


SECTION = SectionEntry(
    name="agent",
    flag="--agent",
    help="measure the agent beside an app offering 1080p frames through the tap: CPU, RSS and PSS, start to the "
    "first analysed frame, re-attach after an app restart, and the app's offer() cost (~35 s)",
    measure=lambda args: measure(),
)
