"""``camdrift run``: the agent's main loop beside the inference app.

Reads frames from one source, analyses at most ``analysis.max_fps`` of them within the CPU budget (dropping the
rest, never queueing), hands events to the sinks, and speaks systemd's notify protocol: READY once the baseline is
loaded and the source opened, WATCHDOG only while frames arrive and the sinks are healthy, RELOADING/READY around a
SIGHUP (config and baseline re-read; engine windows kept when the baseline is the same), STOPPING on SIGTERM (sinks
flushed, engine state saved atomically, exit 0).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version

import numba

from camdrift.agent.config import Config
from camdrift.agent.drift.engine import DriftEngine
from camdrift.agent.frames import Frame, FrameSource, SourceEvent, image_problem
from camdrift.agent.model.runner import ModelRunner
from camdrift.agent.model.sampling import ActivationSampler
from camdrift.agent.output.events import Event, Sequencer, Status
from camdrift.agent.output.evidence import EvidenceSpool
from camdrift.agent.output.sinks import ConsoleSink, JsonlSink, Sink
from camdrift.agent.paths import AgentPaths, agent_paths
from camdrift.agent.reference.baseline import Baseline, BaselineError, load_baseline
from camdrift.agent.runtime.notify import Notifier
from camdrift.agent.runtime.pipeline import Pipeline
from camdrift.agent.runtime.sampler import CpuBudget, FrameSampler
from camdrift.agent.sources import open_source
from camdrift.agent.sources.reopen import ReopeningSource

log = logging.getLogger("camdrift.agent")

STATUS_PERIOD_S = 60.0
METRICS_PERIOD_S = 60.0
_REPLAY_SCHEMES = ("video:", "dir:", "synthetic:")


class StartupError(RuntimeError):
    """The agent cannot start: bad baseline, unusable paths. The message names the culprit; exit code 2."""


def agent_version() -> str:
    try:
        return version("camdrift")
    except PackageNotFoundError:
        return "0+unknown"


def config_hash(config: Config) -> str:
    return hashlib.sha256(json.dumps(asdict(config), sort_keys=True, default=str).encode()).hexdigest()[:16]


def _baseline_age_s(baseline: Baseline, now: float) -> float | None:
    try:
        return max(0.0, now - datetime.fromisoformat(baseline.created_at.replace("Z", "+00:00")).timestamp())
    except ValueError:
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
        make_sinks: Callable[[Config, AgentPaths, Sequencer], list[Sink]] | None = None,
        source: FrameSource | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._load_config = load_config
        self.config = load_config()
        self._environ = environ
        self.paths = agent_paths(self.config, environ)
        self._given_source = source
        self.notifier = notifier if notifier is not None else Notifier(environ=environ)
        self._make_sinks = make_sinks
        self._clock = clock
        self._wall = wall_clock
        self.sequencer = Sequencer()
        self.started_at = wall_clock()
        self._stop = threading.Event()
        self._reload = threading.Event()
        self.frames_seen = 0
        self.sinks: list[Sink] = []
        self.pipeline: Pipeline | None = None
        self.source: ReopeningSource | None = None
        self.sampler: FrameSampler | None = None
        self._last_progress = clock()
        self._time_offset = 0.0  # s added to the source's stream time (see _continuous)
        self._next_status = 0.0
        self._next_metrics = 0.0
        self._next_ping = 0.0

    # -- lifecycle ----------------------------------------------------------------------------------------------

    def request_stop(self, *_: object) -> None:
        self._stop.set()

    @property
    def time_offset(self) -> float:
        """Seconds added to the source's stream time so that it never goes back (see :meth:`_continuous`)."""
        return self._time_offset

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
        cfg = self.config
        numba.set_num_threads(min(cfg.analysis.numba_threads, numba.config.NUMBA_NUM_THREADS))
        try:
            self.paths.state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StartupError(f"state directory {self.paths.state_dir} cannot be created: {exc}") from None
        baseline = self._load_baseline(cfg)
        try:
            self.sinks = self._build_sinks(cfg)
            self.pipeline = self._build_pipeline(cfg, baseline, restore=True)
        except (OSError, RuntimeError) as exc:  # unwritable paths, an unusable outbox, MQTT settings
            if isinstance(exc, StartupError):
                raise
            raise StartupError(f"cannot set up the sinks or the evidence spool: {exc}") from None
        self._open_source(cfg)
        self._event("baseline.loaded", f"baseline {self.pipeline.baseline_id} from {self.paths.baseline}")

    def run(self) -> int:
        """Runs until SIGTERM/SIGINT or the end of a finite source; returns the exit code."""
        self.start()
        self.notifier.ready(status=self._status_line())
        log.info("analysing %s against baseline %s", self.source.describe(), self.pipeline.baseline_id)
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
        return 0

    def step(self, timeout: float = 0.25) -> None:
        """One read from the source: analyse or drop the frame, then the periodic work."""
        frame = self.source.read(timeout)
        for ev in self.source.drain_events():
            self._source_event(ev)
        if frame is not None:
            self._last_progress = self._clock()
            self.frames_seen += 1
            self._handle(frame)
        self._periodic()

    def _continuous(self, frame: Frame) -> Frame:
        """The frame on a stream time that never goes back: a reopened camera or stream restarts its clock at 0,
        and a restored engine state continues from where it stopped. Such a jump back is absorbed by an offset
        (logged once per jump), so the engine keeps its windows instead of refusing every frame."""
        t = frame.stream_time + self._time_offset
        last = self.pipeline.engine.stream_time
        if t < last:
            step = 1.0 / self.config.analysis.max_fps
            self._time_offset += last + step - t
            log.info(
                "stream time went back from %.3f s to %.3f s (source restarted); continuing from %.3f s",
                last,
                frame.stream_time,
                last + step,
            )
            t = last + step
        return frame if t == frame.stream_time else frame._replace(stream_time=t)

    def _handle(self, frame: Frame) -> None:
        p = self.pipeline
        frame = self._continuous(frame)
        if frame.flag is not None and p.evidence is not None:
            problem = image_problem(frame.image, frame.pixel_format)
            if problem is None:
                try:
                    p.evidence.capture_flag(
                        camera_id=p.camera_id,
                        frame_index=frame.frame_index,
                        stream_time=frame.stream_time,
                        created_at=self._wall(),
                        frame=frame.image,
                        reason=frame.flag,
                    )
                except (OSError, ValueError) as exc:  # a full disk must not stop the analysis
                    log.error("could not save a flagged frame: %s", exc)
            return  # a flagged frame is evidence, not a sample of the stream
        if not self.sampler.offer(frame.stream_time):
            return
        try:
            p.analyse(frame)
        except ValueError as exc:
            p.reject(str(exc))

    def shutdown(self, failure: BaseException | None = None) -> None:
        """Flush and stop: save the engine state, publish the last status and state, stop the sinks.
        ``failure``: the exception that ended the loop (None for a clean stop)."""
        self.notifier.stopping(status="stopping: saving state")
        if self.pipeline is not None:
            if failure is None or isinstance(failure, KeyboardInterrupt):
                self._event("agent.stopping", "clean stop")
            else:
                self._event("agent.stopping", f"stopping after an error: {type(failure).__name__}: {failure}")
            try:
                self.pipeline.engine.save_state(str(self.paths.engine_state))
            except OSError as exc:
                log.error("could not save engine state to %s: %s", self.paths.engine_state, exc)
            self._publish_status()
            self.pipeline.publish(self.pipeline.state())
        if self.source is not None:
            self.source.close()
        for sink in self.sinks:
            try:
                sink.stop()
                outbox = getattr(sink, "outbox", None)  # the MQTT sink's: what is undelivered stays on disk
                if outbox is not None:
                    outbox.close()
            except Exception as exc:
                log.error("stopping sink %s: %s", type(sink).__name__, exc)
        self.notifier.close()

    def reload(self) -> None:
        """SIGHUP: re-read config and baseline; keep the engine's windows if the baseline is the same one.

        Everything new is built before anything is replaced, so a refused reload leaves the agent as it was.
        The source, sinks, MQTT and state/evidence folders are opened once: changes to them are named in the log
        and need a restart (the running configuration keeps the old values, so its hash says what runs)."""
        self.notifier.reloading()
        old_cfg, old = self.config, self.pipeline
        try:
            new_cfg = self._load_config()
            fixed = [
                name
                for name in ("source", "sinks", "mqtt", "state")
                if getattr(new_cfg, name) != getattr(old_cfg, name)
            ]
            if new_cfg.evidence.dir != old_cfg.evidence.dir:
                fixed.append("evidence.dir")
            cfg = dataclasses.replace(
                new_cfg,
                source=old_cfg.source,
                sinks=old_cfg.sinks,
                mqtt=old_cfg.mqtt,
                state=old_cfg.state,
                evidence=dataclasses.replace(new_cfg.evidence, dir=old_cfg.evidence.dir),
            )
            baseline = self._load_baseline(cfg)
            same = baseline.baseline_id == old.baseline_id
            if same:
                activations = old.activations if cfg.activations == old_cfg.activations else None
                if activations is None:
                    activations = self._activation_sampler(cfg, baseline)
                pipeline = Pipeline(
                    baseline,
                    camera_id=cfg.camera.id,
                    sinks=self.sinks,
                    evidence=old.evidence if cfg.evidence == old_cfg.evidence else self._evidence(cfg),
                    engine=old.engine,
                    wall_clock=self._wall,
                    sequencer=self.sequencer,
                    activations=activations,
                )
                pipeline.carry_over(old)
            else:
                pipeline = self._build_pipeline(cfg, baseline, restore=False)
            sampler = self._make_sampler(cfg)
        except (StartupError, ValueError, OSError, RuntimeError) as exc:
            log.error("reload refused, keeping the running configuration: %s", exc)
            self.notifier.ready(status=f"reload refused: {exc}")
            return
        self.config, self.pipeline, self.sampler = cfg, pipeline, sampler
        if fixed:
            log.warning("reload: changes to %s take effect at the next restart", ", ".join(fixed))
        if same:
            log.info("reloaded configuration; baseline unchanged, windows kept")
        else:
            self._event(
                "baseline.loaded",
                f"baseline {baseline.baseline_id} replaces {old.baseline_id}: windows reset",
            )
        self.notifier.ready(status=self._status_line())

    # -- building blocks ----------------------------------------------------------------------------------------

    def _load_baseline(self, cfg: Config) -> Baseline:
        path = agent_paths(cfg, self._environ).baseline
        if not path.exists():
            raise StartupError(
                f"no baseline at {path}: run `camdrift calibrate --source ... --out {path}` first "
                "(or set baseline.path / --baseline)"
            )
        try:
            baseline = load_baseline(path)
        except BaselineError as exc:
            raise StartupError(f"baseline {path} refused: {exc}") from None
        src = cfg.source
        if baseline.pixel_format != src.pixel_format:
            raise StartupError(
                f"baseline {path} was calibrated on {baseline.pixel_format} frames but source.pixel_format is "
                f"{src.pixel_format}"
            )
        if cfg.analysis.stride not in (1, baseline.stride):
            raise StartupError(
                f"analysis.stride {cfg.analysis.stride} differs from the stride {baseline.stride} baseline {path} "
                "was calibrated with; calibrate at the stride you want to run with"
            )
        if src.roi is not None and tuple(src.roi) != tuple(baseline.roi or ()):
            raise StartupError(
                f"source.roi {tuple(src.roi)} differs from baseline {path}'s roi {baseline.roi}"
            )
        return baseline

    def _evidence(self, cfg: Config) -> EvidenceSpool | None:
        if cfg.evidence.max_bytes == 0 or cfg.evidence.rate == 0:
            return None
        return EvidenceSpool(
            self.paths.evidence, max_bytes=cfg.evidence.max_bytes, min_interval_s=3600.0 / cfg.evidence.rate
        )

    def _build_pipeline(self, cfg: Config, baseline: Baseline, *, restore: bool) -> Pipeline:
        engine = DriftEngine(baseline, camera_id=cfg.camera.id, activations=cfg.activations.enabled)
        if restore and self.paths.engine_state.exists():
            try:
                engine.load_state(str(self.paths.engine_state))
                log.info("restored engine state from %s", self.paths.engine_state)
            except (ValueError, OSError) as exc:
                log.warning(
                    "engine state %s not restored (starting fresh windows): %s", self.paths.engine_state, exc
                )
                engine = DriftEngine(baseline, camera_id=cfg.camera.id, activations=cfg.activations.enabled)
        return Pipeline(
            baseline,
            camera_id=cfg.camera.id,
            sinks=self.sinks,
            evidence=self._evidence(cfg),
            engine=engine,
            wall_clock=self._wall,
            sequencer=self.sequencer,
            activations=self._activation_sampler(cfg, baseline),
        )

    def _activation_sampler(self, cfg: Config, baseline: Baseline) -> ActivationSampler | None:
        """The model runner of ``[activations]``, with the model and preprocessing the baseline recorded; a
        model file other than the calibrated one is refused (both hashes named)."""
        a = cfg.activations
        if not a.enabled:
            return None
        ref = baseline.activations
        if ref is None:
            raise StartupError(
                "activations.enabled, but the baseline has no activation group (calibrate --model)"
            )
        if a.output is not None and a.output != ref.output:
            raise StartupError(
                f"activations.output {a.output!r} differs from the baseline's tensor {ref.output!r}"
            )
        try:
            runner = ModelRunner(
                a.model, ref.output, ref.preprocess, threads=a.threads, output_layout=ref.output_layout
            )
            sampler = ActivationSampler(runner, ref.every_n)
            sampler.check(ref)
        except ValueError as exc:  # ModelError, ModelMismatchError
            raise StartupError(f"activations: {exc}") from None
        return sampler

    def _build_sinks(self, cfg: Config) -> list[Sink]:
        sinks: list[Sink] = []
        if cfg.sinks.console.enabled:
            sinks.append(ConsoleSink(fmt=cfg.sinks.console.format))
        if cfg.sinks.jsonl.path:
            sinks.append(JsonlSink(cfg.sinks.jsonl.path, self.sequencer))
        if self._make_sinks is not None:
            sinks += self._make_sinks(cfg, self.paths, self.sequencer)
        return sinks

    def _is_replay(self, cfg: Config) -> bool:
        return cfg.source.uri.startswith(_REPLAY_SCHEMES)

    def _make_sampler(self, cfg: Config) -> FrameSampler:
        # A replay runs as fast as the machine allows: it would always read as over budget.
        budget = None if self._is_replay(cfg) else CpuBudget(cfg.analysis.cpu_budget)
        # Over budget, the agent lowers its analysis rate only: a coarser pixel stride than the baseline's would
        # change the pixel counts behind every histogram and read as drift (see Pipeline.analyse).
        return FrameSampler(cfg.analysis.max_fps, stride=1, budget=budget, max_stride_factor=1)

    def _open_source(self, cfg: Config) -> None:
        src = cfg.source
        inner = self._given_source or open_source(src.uri, pixel_format=src.pixel_format)
        self.sampler = self._make_sampler(cfg)
        if hasattr(inner, "request_interval"):  # the frame tap: ask the app only for frames we will analyse
            inner.request_interval = 1.0 / self.sampler.fps
        self.source = ReopeningSource(
            inner,
            stall_timeout=src.stall_timeout,
            backoff_initial=src.backoff_initial,
            backoff_max=src.backoff_max,
        )
        self.source.open()
        if self._given_source is None and self._is_replay(cfg) and self.source.lost_reason is not None:
            # a recording that cannot be opened will not appear by retrying: say so now
            raise StartupError(f"source.uri {src.uri}: {self.source.lost_reason}")

    # -- messages -----------------------------------------------------------------------------------------------

    def _event(
        self, kind: str, summary: str, frame_index: int | None = None, stream_time: float | None = None
    ):
        self.pipeline.publish(
            Event(
                kind=kind,
                camera_id=self.pipeline.camera_id,
                frame_index=frame_index,
                stream_time=stream_time,
                severity="warning" if kind == "source.lost" else "info",
                summary=summary,
            )
        )

    def _source_event(self, ev: SourceEvent) -> None:
        index = ev.frame_index if ev.frame_index is not None and ev.frame_index >= 0 else None
        t = ev.stream_time if ev.stream_time is not None and ev.stream_time == ev.stream_time else None
        self._event(ev.kind, ev.reason, index, t)

    def status(self) -> Status:
        p = self.pipeline
        f = p.last_frame
        state = self.sampler.state
        now = self._wall()
        budget_use = (
            0.0 if state.cpu_fraction is None else state.cpu_fraction / self.config.analysis.cpu_budget
        )
        pending, dropped = 0, {}
        for sink in self.sinks:
            outbox = getattr(sink, "outbox", None)
            if outbox is not None:
                pending, dropped = outbox.pending, outbox.dropped
        return Status(
            camera_id=p.camera_id,
            frame_index=None if f is None else f.frame_index,
            stream_time=None if f is None else f.stream_time,
            agent_version=agent_version(),
            config_hash=config_hash(self.config),
            started_at=self.started_at,
            source_state=self.source.describe(),
            baseline_id=p.baseline_id,
            baseline_age_s=_baseline_age_s(p.baseline, now),
            analysis_fps=float(state.fps),
            cpu_budget_use=float(budget_use),
            frames_seen=self.frames_seen,
            frames_analysed=p.counters.analysed,
            frames_dropped=self.frames_seen - p.counters.analysed,
            outbox_pending=pending,
            outbox_dropped=dropped,
        )

    def _publish_status(self) -> None:
        self.pipeline.publish(self.status())

    def _status_line(self) -> str:
        p = self.pipeline
        verdict = "drift" if p.engine.drift_detected else "ok"
        return f"{verdict}; {self.sampler.describe()}; analysed {p.counters.analysed} of {self.frames_seen}"

    @property
    def healthy(self) -> bool:
        """Frames arrived within the source's stall timeout and every sink is healthy (asked from the loop, so
        the loop turns too). A camera that stays away therefore gets the agent restarted by systemd's watchdog,
        besides the source.lost event: the unit's start limit is set so that this keeps retrying."""
        fresh = self._clock() - self._last_progress < self.config.source.stall_timeout
        return fresh and all(getattr(s, "healthy", True) for s in self.sinks)

    def _periodic(self) -> None:
        now = self._clock()
        if now >= self._next_ping:
            interval = self.notifier.watchdog_interval
            self._next_ping = now + (interval if interval else 1.0)
            if self.healthy:
                self.notifier.watchdog()
            self.notifier.status(self._status_line())
        if now >= self._next_status:
            self._next_status = now + STATUS_PERIOD_S
            self._publish_status()
        if now >= self._next_metrics:
            self._next_metrics = now + METRICS_PERIOD_S
            if self.pipeline.engine.last is not None:
                self.pipeline.publish(self.pipeline.metrics(METRICS_PERIOD_S))
