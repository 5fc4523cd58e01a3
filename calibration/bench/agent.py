"""``camdrift bench --agent``: what the agent costs beside an app that offers 1080p frames through the tap.

A baseline is calibrated on rendered 1080p production-line frames, the real daemon (``camdrift run``) is started
as a subprocess reading ``shm:NAME`` with analysis at 5 fps, and this process plays the app: it offers frames at
30 fps through :class:`~camdrift.agent.tap.FrameTap` and times every ``offer()``. The agent's CPU is read from
``/proc/<pid>/stat`` over the measured span (after a warm-up), its RSS from ``/proc/<pid>/status``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, NamedTuple

import numpy as np

from camdrift.agent.reference.baseline import Baseline, save_baseline
from camdrift.agent.sim.line import ProductionLine
from camdrift.agent.tap import FrameTap
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

    def as_dict(self) -> dict:
        return asdict(self)

    def format(self) -> str:
        return "\n".join(
            [
                f"agent beside an app: {self.width}x{self.height} BGR8 offered at {self.offer_fps:g} fps through the "
                f"tap, analysis at {self.analysis_fps:g} fps, {self.seconds:.0f} s measured",
                f"  agent CPU: {self.agent_cpu * 100:.1f}% of one core (target < 15%); RSS {self.agent_rss_mib:.0f} MiB",
                f"  offer() not sampled: median {self.offer_skip_median_us:.1f} us, p99 {self.offer_skip_p99_us:.1f} us"
                " (target < 20 us)",
                f"    (same pacing, an empty Python call: median {self.noop_median_us:.1f} us, p99 {self.noop_p99_us:.1f} us;"
                f" offer() back to back: median {self.offer_skip_tight_median_us:.2f} us)",
                f"  offer() copying a frame: median {self.offer_copy_median_us / 1e3:.2f} ms, p99 "
                f"{self.offer_copy_p99_us / 1e3:.2f} ms (target < 2 ms); {self.copies} of {self.offers} offers copied",
            ]
        )


def _noop(frame: np.ndarray, ts: float | None = None) -> bool:
    return False


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class OfferTimes(NamedTuple):
    """What the app saw over the measured span: offer() times in microseconds (skip: not sampled, copy: the
    agent took the frame, noop: an empty call at the same pacing, tight: back-to-back skips after the span);
    the agent's CPU as a fraction of one core and its RSS in MiB."""

    skip: list[float]
    copy: list[float]
    noop: list[float]
    tight: list[float]
    cpu: float
    rss_mib: float


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
        [sys.executable, "-m", "camdrift.agent.cli", "run", "--config", str(cfg), "--log-level", "warning"],
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
) -> OfferTimes:
    """Offer ``pool``'s frames round robin at ``offer_fps`` for ``span`` = (warm-up, measured) seconds, timing
    every offer(); the agent's CPU is read over the measured part only."""
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
            cpu0, t0 = _cpu_seconds(agent.pid), now
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
        k += 1
        time.sleep(max(0.0, start + k * period - time.monotonic()))
    cpu = (_cpu_seconds(agent.pid) - cpu0) / (time.monotonic() - t0)
    rss = _rss_mib(agent.pid)
    tight = []
    for _ in range(2000):  # back to back: the agent asks at most 5 times a second, so these are skips
        a = time.perf_counter_ns()
        if not tap.offer(pool[0], ts=k / offer_fps):
            tight.append((time.perf_counter_ns() - a) / 1e3)
    return OfferTimes(skip, copy, noop, tight, cpu, rss)


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
        tap = FrameTap(name, capacity=width * height * 3)
        log_file = open(Path(tmp) / "agent.log", "w+")  # closed in the finally below
        agent = _start_agent(cfg, log_file)
        try:
            offers = _play_app(tap, agent, log_file, pool, offer_fps, (warmup, seconds))
        finally:
            _stop_agent(agent)
            tap.close()
            log_file.close()
    return agent_load(offers, width, height, offer_fps, analysis_fps, seconds)


def agent_load(
    offers: OfferTimes, width: int, height: int, offer_fps: float, analysis_fps: float, seconds: float
) -> AgentLoad:
    """The figures of one run: medians and 99th percentiles of the offer() times (microseconds)."""
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
    )


SECTION = SectionEntry(
    name="agent",
    flag="--agent",
    help="measure the agent's CPU, RSS and the app's offer() cost with 1080p frames through the tap (~30 s)",
    measure=lambda args: measure(),
)
