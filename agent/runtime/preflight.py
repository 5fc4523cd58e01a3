"""The checks the agent's start runs that need no live source; ``camdrift run --check-config`` runs the same.

:func:`preflight` returns every problem at once, each as a :class:`Problem` naming the config key and the file or
folder it is about, so a technician fixes them all in one round. :meth:`Daemon.start
<camdrift.agent.runtime.daemon.Daemon.start>` refuses to start (exit 2) on any of them; ``--check-config`` prints
them (exit 2) or says the configuration is OK (exit 0): a config that passes the check does not fail at start
for any of these reasons.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from camdrift.agent.config import Config
from camdrift.agent.paths import agent_paths
from camdrift.agent.reference.baseline import Baseline, BaselineError, load_baseline
from camdrift.agent.runtime.assembly import StartupError, activation_sampler


class Problem(NamedTuple):
    """Why the agent would refuse to start: the config ``key`` path and what is wrong (naming the file)."""

    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


def _probe_folder(folder: Path) -> str | None:
    """Why no file can be created in the existing folder ``folder``, or None: tried, not guessed (``os.access``
    says yes to root everywhere, /proc and read-only mounts included). The probe file is removed at once."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".camdrift-check-", dir=folder)
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(fd)
    os.unlink(probe)
    return None


def writable_folder_problem(folder: Path, what: str) -> str | None:
    """Why ``folder`` (a ``what``) cannot be used for writing by this process, or None. A folder that does not
    exist yet must be creatable: a file must be creatable in its nearest existing parent."""
    if folder.exists():
        if not folder.is_dir():
            return f"{what} {folder} is not a folder"
        why = _probe_folder(folder)
        return None if why is None else f"{what} {folder} is not writable (uid {os.getuid()}): {why}"
    parent = folder.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    why = f"{parent} is not a folder" if not parent.is_dir() else _probe_folder(parent)
    if why is not None:
        return f"{what} {folder} cannot be created (uid {os.getuid()}): {why}"
    return None


def writable_file_problem(path: Path, what: str) -> str | None:
    """Why the file ``path`` (a ``what``, appended to) cannot be opened for writing, or None."""
    if path.exists():
        if not path.is_file():
            return f"{what} {path} is not a regular file"
        try:
            with open(path, "ab"):  # appending nothing changes nothing; it is what the sink will do
                pass
        except OSError as exc:
            return f"{what} {path} is not writable (uid {os.getuid()}): {exc.strerror or exc}"
        return None
    problem = writable_folder_problem(path.parent, "its folder")
    return None if problem is None else f"{what} {path} cannot be created: {problem}"


def baseline_problems(cfg: Config, path: Path) -> tuple[Baseline | None, list[Problem]]:
    """The baseline at ``path`` and what contradicts it in ``cfg`` (pixel format, stride, ROI: each named)."""
    if not path.exists():
        return None, [
            Problem(
                "baseline.path",
                f"no baseline at {path}: run `camdrift calibrate --source ... --out {path}` first",
            )
        ]
    try:
        baseline = load_baseline(path, with_frames=False)
    except (BaselineError, OSError) as exc:
        return None, [Problem("baseline.path", f"baseline {path} refused: {exc}")]
    src = cfg.source
    checks = (
        ("source.pixel_format", (src.pixel_format, 1, None)),
        ("analysis.stride", (baseline.pixel_format, cfg.analysis.stride, None)),
        ("source.roi", (baseline.pixel_format, 1, src.roi)),
    )
    problems = []
    for key, (fmt, stride, roi) in checks:
        try:
            baseline.check_source(fmt, stride, roi)
        except BaselineError as exc:
            problems.append(Problem(key, f"baseline {path} {exc}"))
    return baseline, problems


def preflight(cfg: Config, environ: Mapping[str, str] | None = None) -> list[Problem]:
    """Every reason the start would refuse ``cfg`` that needs no live source (see the module docstring)."""
    paths = agent_paths(cfg, environ)
    problems = []
    state = writable_folder_problem(paths.state_dir, "state directory")
    if state is not None:
        problems.append(Problem("state.dir", state))
    baseline, found = baseline_problems(cfg, paths.baseline)
    problems += found
    if cfg.sinks.jsonl.path:
        jsonl = writable_file_problem(Path(cfg.sinks.jsonl.path), "JSON-lines file")
        if jsonl is not None:
            problems.append(Problem("sinks.jsonl.path", jsonl))
    inside_state = cfg.evidence.dir is None  # <state.dir>/evidence: a state.dir problem says it already
    if cfg.evidence.max_bytes > 0 and cfg.evidence.rate > 0 and not (inside_state and state is not None):
        evidence = writable_folder_problem(paths.evidence, "evidence folder")
        if evidence is not None:
            problems.append(Problem("evidence.dir", evidence))
    if not cfg.mqtt.host:  # MQTT is off: its integrations would silently do nothing
        for key, on in (
            ("mqtt.homeassistant.enabled", cfg.mqtt.homeassistant.enabled),
            ("mqtt.sparkplug.enabled", cfg.mqtt.sparkplug.enabled),
            ("mqtt.snapshot", cfg.mqtt.snapshot),
        ):
            if on:
                problems.append(Problem(key, "needs mqtt.host (MQTT is off without a broker)"))
    if cfg.mqtt.snapshot and not (cfg.evidence.max_bytes > 0 and cfg.evidence.rate > 0):
        problems.append(
            Problem("mqtt.snapshot", "needs evidence captures (evidence.max_bytes and evidence.rate > 0)")
        )
    if cfg.activations.enabled and baseline is not None:
        try:
            activation_sampler(cfg, baseline)
        except StartupError as exc:
            problems.append(Problem("activations.model", str(exc)))
    return problems
