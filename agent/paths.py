"""Where the agent keeps its files: from the config, else systemd's directories, else the config's defaults.

Under the state directory: ``baselines/baseline.npz`` (the default baseline), ``engine-state.npz`` (windows and
open episodes, saved on stop) with ``engine-state.source.json`` (which source that state belongs to), ``outbox.sqlite`` (MQTT messages not yet acknowledged), ``evidence/`` (the spool).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from camdrift.agent.config import Config, StateConfig

_DEFAULT_STATE_DIR = StateConfig().dir


class AgentPaths(NamedTuple):
    state_dir: Path
    baseline: Path
    engine_state: Path
    engine_state_source: Path
    acknowledged: Path  # the episode an operator acknowledged (agent/runtime/commands.py)
    outbox: Path
    evidence: Path
    mqtt_password_credential: Path | None


def agent_paths(config: Config, environ: Mapping[str, str] | None = None) -> AgentPaths:
    """Resolves every path the agent uses. ``$STATE_DIRECTORY`` (systemd's ``StateDirectory=``) replaces the
    default state directory, not one the config names; ``$CREDENTIALS_DIRECTORY/mqtt-password`` is the MQTT
    password when the unit passes it with ``LoadCredential=``."""
    env = os.environ if environ is None else environ
    state = Path(config.state.dir)
    if config.state.dir == _DEFAULT_STATE_DIR and env.get("STATE_DIRECTORY"):
        state = Path(env["STATE_DIRECTORY"].split(":")[0])
    cred_dir = env.get("CREDENTIALS_DIRECTORY")
    credential = Path(cred_dir) / "mqtt-password" if cred_dir else None
    return AgentPaths(
        state_dir=state,
        baseline=Path(config.baseline.path) if config.baseline.path else state / "baselines" / "baseline.npz",
        engine_state=state / "engine-state.npz",
        engine_state_source=state / "engine-state.source.json",
        acknowledged=state / "acknowledged.json",
        outbox=state / "outbox.sqlite",
        evidence=Path(config.evidence.dir) if config.evidence.dir else state / "evidence",
        mqtt_password_credential=credential if credential is not None and credential.exists() else None,
    )
