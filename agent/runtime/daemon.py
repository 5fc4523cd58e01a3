"""``camdrift run``: the agent's main loop beside the inference app.

Reads frames from one source, analyses at most ``analysis.max_fps`` of them within the CPU budget (dropping the
rest, never queueing), hands events to the sinks, and speaks systemd's notify protocol: READY once the baseline is
loaded and the sinks are up (STATUS says it waits for the source until the first frame is analysed; ``ok`` only
while frames are analysed), WATCHDOG only while frames arrive, are not refused and the sinks are healthy,
RELOADING/READY around a SIGHUP (config and baseline re-read; engine windows kept when the baseline is the same),
STOPPING on SIGTERM (sinks flushed, engine state saved atomically with the source it belongs to, exit 0).

Frames the baseline refuses (another resolution or format) are counted; :data:`~.status.REJECT_AFTER` in a row
make a ``baseline.rejected`` event and stop the watchdog pings, and a replay that analysed no frame because every
frame was refused exits 2.

The daemon is the lifecycle: what runs is built by :mod:`~camdrift.agent.runtime.assembly` (at start and on each
reload), reported by :mod:`~camdrift.agent.runtime.status`, and placed on a continuous stream time by
:mod:`~camdrift.agent.runtime.continuity`.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping

import numba

from camdrift.agent.config import Config
from camdrift.agent.frames import Frame
from camdrift.agent.output.events import Sequencer, Status
from camdrift.agent.output.evidence import keep_flagged
from camdrift.agent.paths import agent_paths
from camdrift.agent.reference.baseline import Baseline
from camdrift.agent.runtime.assembly import (
    IN_PROCESS,
    Assembly,
    BaselineRefused,
    MakeSinks,
    StartupError,
    Workshop,
    assemble,
    checked_baseline,
    fits_frames,
    for_reload,
    open_frames,
)
from camdrift.agent.runtime.code_pages import LoaderPages
from camdrift.agent.runtime.commands import CommandRunner
from camdrift.agent.runtime.continuity import StreamTimeline, record_state_source, source_identity
from camdrift.agent.runtime.notices import (
    agent_event,
    baseline_replaced,
    exit_code,
    publish_source_events,
    rejected_event,
    source_event,
)
from camdrift.agent.runtime.notify import Notifier
from camdrift.agent.runtime.pipeline import Pipeline
from camdrift.agent.runtime.preflight import preflight
from camdrift.agent.runtime.status import Every, StatusBoard, agent_version, config_hash
from camdrift.agent.sources.base import FrameSource
from camdrift.agent.sources.reopen import ReopeningSource
from camdrift.agent.sources.uri import is_replay
from camdrift.kernels.warm import loaded_specialisations

__all__ = ["Daemon", "StartupError", "agent_event", "source_event"]

log = logging.getLogger("camdrift.agent")

STATUS_PERIOD_S = 60.0
METRICS_PERIOD_S = 60.0


def _loaded(baseline: Baseline, path: object) -> str:
    """The ``baseline.loaded`` event's words; a baseline written by ``calibrate --force`` says what was forced."""
    forced = "; ".join(baseline.thresholds.forced)
    return f"baseline {baseline.baseline_id} from {path}" + (
        forced and f" (calibrated with --force: {forced})"
    )


def keep_flag(parts: Assembly, frame: Frame, stream_time: float | None, wall: float) -> None:
    """Keeps a flagged frame as evidence at ``stream_time`` (its place on the continuous stream clock, which a
    flag does not move); without a spool it is dropped, logged once. Returns None: a flag is never a sample."""
    p = parts.pipeline
    if parts.evidence is None:
        if not p.counters.flags_dropped:
            log.warning("flagged frames are dropped: evidence is off (evidence.max_bytes = 0)")
        p.counters.flags_dropped += 1
        return None
    placed = frame if stream_time is None else frame._replace(stream_time=stream_time)
    keep_flagged(parts.evidence, p.camera_id, placed, p.capture_context(), created_at=wall)
    return None


class Daemon:
    """One camera's agent. ``load_config`` re-reads the configuration (called again on SIGHUP).

    make_sinks: builds the extra sinks (MQTT) for a config; the JSON-lines and console sinks come from the config.
    source: frames from here instead of ``source.uri`` (the in-process mailbox).
    """

    def __init__(
        self,
        load_config: Callable[[], Config],
        *,
        notifier: Notifier | None = None,
        environ: Mapping[str, str] | None = None,
        make_sinks: MakeSinks | None = None,
        source: FrameSource | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._load_config = load_config
        self._first_config = load_config()
        self.paths = agent_paths(self._first_config, environ)
        self.sequencer = Sequencer()
        self.source_id = IN_PROCESS if source is not None else source_identity(self._first_config.source.uri)
        self._shop = Workshop(self.paths, self.sequencer, wall_clock, environ, make_sinks, self.source_id)
        self._seen: tuple[str, tuple[int, int]] | None = None  # pixel format and resolution of the last frame
        self._given_source = source
        self.notifier = notifier if notifier is not None else Notifier(environ=environ)
        self._clock = clock
        self._wall = wall_clock
        self.board = StatusBoard(started_at=wall_clock(), clock=clock)
        self.timeline = StreamTimeline()
        self._stop = threading.Event()
        self._reload = threading.Event()
        self.parts: Assembly | None = None
        self.source: ReopeningSource | None = None
        self._ping = Every(self.notifier.watchdog_interval or 1.0)  # watchdog ping and STATUS line
        self._status_due = Every(STATUS_PERIOD_S)
        self._metrics_due = Every(METRICS_PERIOD_S)
        self.commands = CommandRunner(self.paths.acknowledged, self._publish_status, wall_clock)
        self.loader_pages = LoaderPages(loaded_specialisations, enabled=source is None)  # not a host's pages

    @property
    def config(self) -> Config:
        """The configuration that runs (after a reload: the reloaded one, restart-only sections as started)."""
        return self._first_config if self.parts is None else self.parts.config

    @property
    def pipeline(self) -> Pipeline | None:
        return None if self.parts is None else self.parts.pipeline

    @property
    def time_offset(self) -> float:
        """Seconds added to the source's stream time so that it never goes back (see :class:`StreamTimeline`)."""
        return self.timeline.offset

    # -- lifecycle ----------------------------------------------------------------------------------------------

    def request_stop(self, *_: object) -> None:
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def request_reload(self, *_: object) -> None:
        self._reload.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGHUP, self.request_reload)

    def start(self) -> None:
        """Loads the baseline, builds sinks and the pipeline (restoring engine state), opens the source."""
        cfg = self._first_config
        numba.set_num_threads(min(cfg.analysis.numba_threads, numba.config.NUMBA_NUM_THREADS))
        problems = preflight(cfg, self._shop.environ)  # what --check-config checks too
        if problems:
            raise StartupError("\n".join(map(str, problems)))
        try:
            self.paths.state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StartupError(f"state directory {self.paths.state_dir} cannot be created: {exc}") from None
        baseline = checked_baseline(cfg, self._shop.environ)
        try:
            self.parts = assemble(cfg, baseline, self._shop)
        except (OSError, RuntimeError) as exc:  # unwritable paths, an unusable outbox, MQTT settings
            if isinstance(exc, StartupError):
                raise
            raise StartupError(f"cannot set up the sinks or the evidence spool: {exc}") from None
        self.commands.restore(self.parts)
        self.source = open_frames(cfg, self._given_source)
        self.parts.sampler.follow(self.source.set_request_interval)  # before the first read
        self._event("baseline.loaded", _loaded(baseline, self.paths.baseline))
        self._event(
            "agent.started",
            f"camdrift {agent_version()} started: camera {cfg.camera.id}, source {self.source.describe()}, "
            f"baseline {baseline.baseline_id}, config {config_hash(cfg)}",
        )

    def run(self) -> int:
        """Runs until SIGTERM/SIGINT or the end of a finite source; returns the exit code."""
        self.start()
        self.notifier.ready(status=self.board.line(self.parts, self.source.describe()))
        log.info("analysing %s against baseline %s", self.source.describe(), self.parts.baseline.baseline_id)
        failure: BaseException | None = None
        try:
            while not self._stop.is_set():
                if self._reload.is_set():
                    self._reload.clear()
                    self.reload()
                self.step()
                if self.source.ended:
                    log.info("source ended: %s", self.source.describe())
                    break
        except BaseException as exc:
            failure = exc
            raise
        finally:
            self.shutdown(failure)
        replay = self._given_source is None and is_replay(self.config.source.uri)
        return exit_code(self.parts.pipeline.counters, replay, self.source_id)

    def step(self, timeout: float = 0.25) -> None:
        """One read from the source: analyse or drop the frame, then the periodic work."""
        frame = self.source.read(timeout)
        if frame is not None and frame.flag is not None:
            # evidence, never a sample: a flag may name an older frame, so it must not move the stream clock
            frame = keep_flag(self.parts, frame, self.timeline.at(frame.stream_time), self._wall())
        if frame is not None:  # placed first: the source's events name it (a reopened clock moves the offset)
            frame = self.timeline.place(frame, self.pipeline.stream_time, 1.0 / self.config.analysis.max_fps)
        publish_source_events(self.parts.pipeline, self.source.drain_events(), self.timeline)
        if frame is not None:
            self.board.frame_arrived()
            self._seen = (frame.pixel_format, frame.resolution)
            self._handle(frame)
        self._periodic()

    def _handle(self, frame: Frame) -> None:
        parts = self.parts
        p = parts.pipeline
        if not parts.sampler.offer(frame.stream_time):
            return
        try:
            p.analyse(frame)
        except ValueError as exc:
            p.reject(str(exc))
            if self.board.frame_refused(str(exc)):
                self._rejected(f"baseline {p.baseline_id} refuses the frames: {exc}", frame)
            return
        if self.board.frame_analysed():
            log.info("frames are analysed again against baseline %s", p.baseline_id)
            self._publish_status()

    def _rejected(self, summary: str, frame: Frame | None = None) -> None:
        """``baseline.rejected``: the agent cannot judge the frames with its baseline (logged as an error)."""
        log.error("%s", summary)
        p = self.parts.pipeline
        p.publish(rejected_event(p.camera_id, summary, frame, sum(p.counters.rejected.values())))
        self._publish_status()  # the retained status says why at once, not at the next period

    def shutdown(self, failure: BaseException | None = None) -> None:
        """Flush and stop: save the engine state, publish the last status and state, stop the sinks.
        ``failure``: the exception that ended the loop (None for a clean stop)."""
        self.notifier.stopping(status="stopping: saving state")
        log.info("stopping with %d numba specialisations loaded", loaded_specialisations())
        if self.parts is not None:
            clean = failure is None or isinstance(failure, KeyboardInterrupt)
            error = f"stopping after an error: {type(failure).__name__}: {failure}"
            self._event("agent.stopping", "clean stop" if clean else error)
            try:
                self.parts.pipeline.save_state(str(self.paths.engine_state))
                record_state_source(self.paths.engine_state, self.paths.engine_state_source, self.source_id)
            except OSError as exc:
                log.error("could not save engine state to %s: %s", self.paths.engine_state, exc)
            self._publish_status()
            self.parts.pipeline.publish(self.parts.pipeline.state())
        if self.source is not None:
            self.source.close()
        for sink in () if self.parts is None else self.parts.sinks:
            try:
                sink.stop()
                sink.close()  # the MQTT sink's outbox: what is undelivered stays on disk
            except Exception as exc:
                log.error("stopping sink %s: %s", type(sink).__name__, exc)
        self.notifier.close()

    def reload(self) -> None:
        """SIGHUP: re-read config and baseline; keep the engine's windows if the baseline is the same one.

        Everything new is built before anything is replaced, so a refused reload leaves the agent as it was.
        The source, sinks, MQTT and state/evidence folders are opened once: changes to them are named in the log
        and need a restart (the running configuration keeps the old values, so its hash says what runs)."""
        self.notifier.reloading()
        old = self.parts
        try:
            cfg, fixed = for_reload(old.config, self._load_config())
            baseline = checked_baseline(cfg, self._shop.environ)
            fits_frames(baseline, self._seen, self.paths.baseline)
            parts = assemble(cfg, baseline, self._shop, previous=old)
        except (StartupError, ValueError, OSError, RuntimeError) as exc:
            log.error("reload refused, keeping the running configuration: %s", exc)
            if isinstance(exc, BaselineRefused):
                self._rejected(f"reload refused, baseline {old.baseline.baseline_id} kept: {exc}")
            self.notifier.ready(status=f"reload refused: {exc}")
            return
        self.parts = parts
        parts.sampler.follow(self.source.set_request_interval)  # a new rate asks the app for new frames
        if fixed:
            log.warning("reload: changes to %s take effect at the next restart", ", ".join(fixed))
        if baseline.baseline_id == old.baseline.baseline_id:
            log.info("reloaded configuration; baseline unchanged, windows kept")
        else:
            self.board.baseline_replaced()
            baseline_replaced(old.pipeline, parts.pipeline)
        self.notifier.ready(status=self.board.line(parts, self.source.describe()))

    # -- messages and periodic work -----------------------------------------------------------------------------

    def _event(self, kind: str, summary: str) -> None:
        self.parts.pipeline.publish(agent_event(self.parts.pipeline.camera_id, kind, summary))

    def status(self) -> Status:
        source = self.source.describe()
        if self.board.rejecting:
            source = f"{source}; frames refused: {self.board.refusal}"
        return self.board.message(self.parts, source, self._wall())

    def _publish_status(self) -> None:
        self.parts.pipeline.publish(self.status())

    @property
    def healthy(self) -> bool:
        """Frames arrived within the source's stall timeout and every sink is healthy (asked from the loop, so
        the loop turns too); see :meth:`StatusBoard.healthy`."""
        return self.board.healthy(self.parts, waiting_for_input=self.source.waiting_for_input)

    def _periodic(self) -> None:
        now = self._clock()
        if self._ping.due(now):
            if self.healthy:
                self.notifier.watchdog()
            self.notifier.status(self.board.line(self.parts, self.source.describe()))
            self.loader_pages.update()
        if self._status_due.due(now):
            self._publish_status()
        self.commands.take_and_run(self.parts)
        p = self.parts.pipeline
        if self._metrics_due.due(now) and p.has_scored:  # the period runs on before the first score too
            p.publish(p.metrics(METRICS_PERIOD_S))
