"""Where the agent keeps its files: the config wins, then systemd's directories, then the defaults."""

from __future__ import annotations

from pathlib import Path

from camdrift.agent.config import parse_config
from camdrift.agent.paths import agent_paths


def config(**sections):
    return parse_config({"source": {"uri": "shm:a"}, **sections})


def test_everything_lives_under_the_default_state_directory():
    p = agent_paths(config(), environ={})
    root = Path("/var/lib/camdrift")
    assert p.state_dir == root
    assert p.baseline == root / "baselines/baseline.npz"
    assert (p.engine_state, p.outbox, p.evidence) == (
        root / "engine-state.npz",
        root / "outbox.sqlite",
        root / "evidence",
    )
    assert p.mqtt_password_credential is None


def test_systemd_state_directory_replaces_the_default_only():
    env = {"STATE_DIRECTORY": "/var/lib/camdrift/line7:/var/lib/other"}
    assert agent_paths(config(), environ=env).state_dir == Path("/var/lib/camdrift/line7")  # the first one
    named = agent_paths(config(state={"dir": "/srv/cam"}), environ=env)
    assert named.state_dir == Path("/srv/cam") and named.outbox == Path("/srv/cam/outbox.sqlite")


def test_baseline_and_evidence_paths_from_the_config():
    p = agent_paths(config(baseline={"path": "/etc/b.npz"}, evidence={"dir": "/data/ev"}), environ={})
    assert (p.baseline, p.evidence) == (Path("/etc/b.npz"), Path("/data/ev"))


def test_the_mqtt_password_credential_only_when_systemd_passed_it(tmp_path: Path):
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    assert agent_paths(config(), environ=env).mqtt_password_credential is None  # LoadCredential= not set
    (tmp_path / "mqtt-password").write_text("secret")
    assert agent_paths(config(), environ=env).mqtt_password_credential == tmp_path / "mqtt-password"
