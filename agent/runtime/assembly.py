"""Config + baseline -> the running parts of one camera's agent, as one record (:class:`Assembly`).

The daemon builds its parts here at start and again on every reload (SIGHUP), so both paths check the baseline
the same way and build the same pipeline. A reload hands in the running assembly: parts whose configuration did
not change are kept (the evidence spool, the model runner), and with the same baseline the engine's windows too.
The sinks are built once, at start.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from camdrift.agent.config import Config
from camdrift.agent.model.runner import ModelRunner
from camdrift.agent.model.sampling import ActivationSampler
from camdrift.agent.output.events import Sequencer
from camdrift.agent.output.evidence import EvidenceError, EvidenceSpool
from camdrift.agent.output.sinks import ConsoleSink, JsonlSink, Sink
from camdrift.agent.paths import AgentPaths, agent_paths
from camdrift.agent.reference.baseline import Baseline, BaselineError, load_baseline
from camdrift.agent.runtime.continuity import state_source_problem
from camdrift.agent.runtime.pipeline import Pipeline
from camdrift.agent.runtime.sampler import CpuBudget, FrameSampler
from camdrift.agent.sources import open_source
from camdrift.agent.sources.base import FrameSource
from camdrift.agent.sources.reopen import ReopeningSource
from camdrift.agent.sources.uri import is_replay

log = logging.getLogger("camdrift.agent")

MakeSinks = Callable[[Config, AgentPaths, Sequencer], list[Sink]]
# Sections a reload does not apply: the source, sinks, MQTT and state folder are opened once.
RESTART_ONLY = ("source", "sinks", "mqtt", "state")
IN_PROCESS = "in-process"  # the source identity of the in-process agent's mailbox


class StartupError(RuntimeError):
    """The agent cannot start: bad baseline, unusable paths. The message names the culprit; exit code 2."""


class BaselineRefused(StartupError):
    """The baseline is missing, does not load, or was calibrated on other frames than the source delivers."""


@dataclass(frozen=True)
class Workshop:
    """What every assembly is built with: fixed for the agent's life.

    paths: the state paths resolved at start; environ: for the baseline path of each config (None: the
    process's); make_sinks: the extra sinks (MQTT) for a config; wall_clock: Unix seconds for evidence records;
    source_id: the source's identity (:func:`~camdrift.agent.runtime.continuity.source_identity`): a saved
    engine state is restored only for the source it was saved from, and every episode id names it (None:
    restored whatever its source, ids without a source; :data:`IN_PROCESS` for the in-process agent).
    """

    paths: AgentPaths
    sequencer: Sequencer
    wall_clock: Callable[[], float]
    environ: Mapping[str, str] | None = None
    make_sinks: MakeSinks | None = None
    source_id: str | None = None

    @property
    def in_process(self) -> bool:
        """The agent runs on a thread of the app (:mod:`~camdrift.agent.runtime.inprocess`): a live source
        whatever ``source.uri`` says, and the CPU budget is charged for the agent's thread only."""
        return self.source_id == IN_PROCESS


@dataclass(frozen=True)
class Assembly:
    """The running parts for ``config`` and ``baseline``; the daemon swaps the whole record on a reload."""

    config: Config
    baseline: Baseline
    sinks: tuple[Sink, ...]
    pipeline: Pipeline
    sampler: FrameSampler
    evidence: EvidenceSpool | None
    activations: ActivationSampler | None


def assemble(cfg: Config, baseline: Baseline, shop: Workshop, previous: Assembly | None = None) -> Assembly:
    """The parts for ``cfg`` and ``baseline`` (see the module docstring).

    previous: the running assembly on a reload (None at start). At start the engine state saved at the last
    stop is restored when there is one. Raises :class:`StartupError` (or OSError/RuntimeError from a sink).
    """
    kept = (
        previous if previous is not None and baseline.baseline_id == previous.baseline.baseline_id else None
    )
    sinks = tuple(build_sinks(cfg, shop)) if previous is None else previous.sinks
    if kept is not None and cfg.evidence == kept.config.evidence:
        evidence = kept.evidence
    else:
        evidence = evidence_spool(cfg, shop.paths)
    if kept is not None and cfg.activations == kept.config.activations:
        activations = kept.activations
    else:
        activations = activation_sampler(cfg, baseline)
    pipeline = Pipeline(
        baseline,
        camera_id=cfg.camera.id,
        sinks=sinks,
        evidence=evidence,
        wall_clock=shop.wall_clock,
        sequencer=shop.sequencer,
        activations=activations,
        source_id=shop.source_id or "",
    )
    if kept is not None:
        pipeline.carry_over(kept.pipeline, keep_windows=True)
    elif previous is None:
        restore_state(pipeline, shop.paths, shop.source_id)
    return Assembly(
        cfg, baseline, sinks, pipeline, frame_sampler(cfg, shop.in_process), evidence, activations
    )


def for_reload(running: Config, new: Config) -> tuple[Config, list[str]]:
    """The configuration a reload applies: ``new`` with the restart-only sections (and ``evidence.dir``) of
    the ``running`` one, and the names of those that changed (they take effect at the next restart)."""
    changed = [name for name in RESTART_ONLY if getattr(new, name) != getattr(running, name)]
    if new.evidence.dir != running.evidence.dir:
        changed.append("evidence.dir")
    cfg = dataclasses.replace(
        new,
        source=running.source,
        sinks=running.sinks,
        mqtt=running.mqtt,
        state=running.state,
        evidence=dataclasses.replace(new.evidence, dir=running.evidence.dir),
    )
    return cfg, changed


def checked_baseline(cfg: Config, environ: Mapping[str, str] | None = None) -> Baseline:
    """The baseline ``cfg`` names, refused (:class:`StartupError`) when missing, unreadable, or calibrated on
    other frames than the source delivers (pixel format, stride, ROI)."""
    path = agent_paths(cfg, environ).baseline
    if not path.exists():
        raise BaselineRefused(
            f"no baseline at {path}: run `camdrift calibrate --source ... --out {path}` first "
            "(or set baseline.path / --baseline)"
        )
    try:
        baseline = load_baseline(path, with_frames=False)  # the per-frame features are for merging only
    except BaselineError as exc:
        raise BaselineRefused(f"baseline {path} refused: {exc}") from None
    try:
        baseline.check_source(cfg.source.pixel_format, cfg.analysis.stride, cfg.source.roi)
    except BaselineError as exc:
        raise BaselineRefused(f"baseline {path} {exc}") from None
    return baseline


def open_frames(cfg: Config, given: FrameSource | None) -> ReopeningSource:
    """The source of ``cfg`` (or ``given``, the in-process mailbox), opened (the sampler then sets how often it
    is asked for a frame: :meth:`~camdrift.agent.runtime.sampler.FrameSampler.follow`).

    A live source that cannot be opened yet is retried by the :class:`ReopeningSource`; a recording that
    cannot be opened will not appear by retrying: :class:`StartupError` naming ``source.uri``."""
    src = cfg.source
    inner = given or open_source(src.uri, pixel_format=src.pixel_format)
    source = ReopeningSource(
        inner,
        stall_timeout=src.stall_timeout,
        backoff_initial=src.backoff_initial,
        backoff_max=src.backoff_max,
    )
    source.open()
    if given is None and is_replay(src.uri) and source.lost_reason is not None:
        raise StartupError(f"source.uri {src.uri}: {source.lost_reason}")
    return source


def fits_frames(baseline: Baseline, seen: tuple[str, tuple[int, int]] | None, path: Path) -> None:
    """Refuses (:class:`StartupError`) a baseline for other frames than the source delivered last (``seen``:
    their pixel format and (width, height) in px; None before the first frame: nothing to compare)."""
    if seen is None:
        return
    try:
        baseline.check_frames(seen[0], seen[1], baseline.roi)
    except BaselineError as exc:
        raise BaselineRefused(f"baseline {path} does not fit the frames: {exc}") from None


def evidence_spool(cfg: Config, paths: AgentPaths) -> EvidenceSpool | None:
    """The spool of ``[evidence]`` (None when it keeps nothing); a spool this agent cannot read is refused."""
    if cfg.evidence.max_bytes == 0 or cfg.evidence.rate == 0:
        return None
    try:
        return EvidenceSpool(
            paths.evidence, max_bytes=cfg.evidence.max_bytes, min_interval_s=3600.0 / cfg.evidence.rate
        )
    except EvidenceError as exc:
        raise StartupError(f"cannot set up the sinks or the evidence spool: {exc}") from None


def activation_sampler(cfg: Config, baseline: Baseline) -> ActivationSampler | None:
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


def build_sinks(cfg: Config, shop: Workshop) -> Sequence[Sink]:
    """The workshop's extra sinks (MQTT), then the JSON-lines and console sinks of ``[sinks]``.

    The order is the order every message is handed over (see :mod:`camdrift.agent.output.sinks`): the durable
    outbox commits first, so a line in the JSON-lines file is always an event the outbox holds or delivered."""
    sinks: list[Sink] = []
    if shop.make_sinks is not None:
        sinks += shop.make_sinks(cfg, shop.paths, shop.sequencer)
    if cfg.sinks.jsonl.path:
        sinks.append(JsonlSink(cfg.sinks.jsonl.path, shop.sequencer))
    if cfg.sinks.console.enabled:
        sinks.append(ConsoleSink(fmt=cfg.sinks.console.format))
    return sinks


def mqtt_sinks(cfg: Config, paths: AgentPaths, sequencer: Sequencer) -> list[Sink]:
    """The MQTT sink for ``cfg.mqtt`` (none when no host is set), started, with its outbox in the state dir."""
    m = cfg.mqtt
    if not m.host:
        return []
    from camdrift.agent.mqtt.outbox import Outbox
    from camdrift.agent.mqtt.settings import MqttSettings
    from camdrift.agent.mqtt.sink import MqttSink

    password_file = Path(m.password_file) if m.password_file else None
    credential = None
    if password_file is None and m.username and paths.mqtt_password_credential is not None:
        credential = paths.mqtt_password_credential.name  # read from $CREDENTIALS_DIRECTORY when connecting
    settings = MqttSettings(
        host=m.host,
        port=m.port,
        prefix=m.prefix or f"camdrift/{m.site}",
        site=m.site,
        client_id=m.client_id,
        keepalive_s=m.keepalive,
        reconnect_min_s=m.reconnect_min_s,
        reconnect_max_s=m.reconnect_max_s,
        username=m.username,
        password_file=password_file,
        password_credential=credential,
        protocol=m.protocol,
        tls=m.tls,
        tls_ca=Path(m.tls_ca) if m.tls_ca else None,
        tls_cert=Path(m.tls_cert) if m.tls_cert else None,
        tls_key=Path(m.tls_key) if m.tls_key else None,
        tls_key_password_file=Path(m.tls_key_password_file) if m.tls_key_password_file else None,
        tls_verify_hostname=not m.tls_insecure,
        homeassistant=m.homeassistant.enabled,
        homeassistant_prefix=m.homeassistant.prefix,
        commands=m.commands,
        snapshot_dir=paths.evidence if m.snapshot and cfg.evidence.max_bytes > 0 else None,
        snapshot_max_bytes=m.snapshot_max_bytes,
    )
    outbox = Outbox(paths.outbox, max_rows=m.outbox_max_rows, max_bytes=m.outbox_max_bytes)
    sink = MqttSink(settings, cfg.camera.id, outbox, sequencer)
    sink.start()
    sinks: list[Sink] = [sink]
    if m.sparkplug.enabled:
        from camdrift.agent.mqtt.sparkplug import SparkplugSink

        spb = SparkplugSink(
            settings,
            cfg.camera.id,
            group_id=m.sparkplug.group_id,
            # one agent per camera, and a Sparkplug node has one session: two agents must not share a node id
            edge_node_id=m.sparkplug.edge_node_id or f"{m.site}-{cfg.camera.id}",
            bdseq_path=paths.state_dir / "sparkplug-bdseq",
            primary_host_id=m.sparkplug.primary_host_id,
        )
        spb.start()
        sinks.append(spb)
    return sinks


def frame_sampler(cfg: Config, in_process: bool = False) -> FrameSampler:
    """The sampler of ``[analysis]``: at most ``max_fps``, within ``cpu_budget`` for a live source (the
    process's CPU time; in-process, the agent thread's: the app's own work is not the agent's)."""
    budget = None
    if in_process or not is_replay(cfg.source.uri):  # a replay runs flat out: it would always be over budget
        clock = time.thread_time if in_process else time.process_time
        budget = CpuBudget(cfg.analysis.cpu_budget, cpu_clock=clock)
    # Over budget, the agent lowers its analysis rate only: a coarser pixel stride than the baseline's would
    # change the pixel counts behind every histogram and read as drift (see Pipeline.analyse).
    return FrameSampler(cfg.analysis.max_fps, stride=1, budget=budget, max_stride_factor=1)


def restore_state(pipeline: Pipeline, paths: AgentPaths, source_id: str | None = None) -> None:
    """Restores the engine state saved at the last stop, if any, when it belongs to ``source_id`` (a live
    camera or tap restarting); a state of another source, or one that does not load, is logged and the
    engine starts with fresh windows (and its own stream time)."""
    if not paths.engine_state.exists():
        return
    problem = None
    if source_id is not None:
        problem = state_source_problem(paths.engine_state, paths.engine_state_source, source_id)
    if problem is not None:
        log.info("engine state %s not restored (starting fresh windows): %s", paths.engine_state, problem)
        return
    try:
        pipeline.load_state(str(paths.engine_state))
        log.info("restored engine state from %s (source %s)", paths.engine_state, source_id or "not checked")
    except (ValueError, OSError) as exc:
        log.warning("engine state %s not restored (starting fresh windows): %s", paths.engine_state, exc)
