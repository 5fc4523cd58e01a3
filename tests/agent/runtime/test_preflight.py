"""The start's checks that need no live source (also run by ``camdrift run --check-config``)."""

from __future__ import annotations

from pathlib import Path

from camdrift.agent.runtime.preflight import preflight, writable_file_problem, writable_folder_problem
from tests.agent.runtime.helpers import agent_config


def test_a_good_configuration_has_no_problem(tmp_path: Path, baseline_file: Path):
    cfg = agent_config(tmp_path, baseline_file, sinks={"jsonl": {"path": str(tmp_path / "out/e.jsonl")}})
    assert preflight(cfg, {}) == []
    assert not (tmp_path / "state").exists()  # checking creates nothing


def test_every_problem_is_named_by_its_key(tmp_path: Path, baseline_file: Path):
    (tmp_path / "file").write_text("")
    cfg = agent_config(
        tmp_path,
        baseline_file,
        source={"roi": [0, 0, 8, 8]},
        analysis={"stride": 3},
        state={"dir": str(tmp_path / "file/state")},
        evidence={"dir": str(tmp_path / "file/evidence")},
    )
    keys = [p.key for p in preflight(cfg, {})]
    assert keys == ["state.dir", "analysis.stride", "source.roi", "evidence.dir"]


def test_a_missing_baseline_is_a_problem_of_baseline_path(tmp_path: Path):
    problems = preflight(agent_config(tmp_path, tmp_path / "none.npz"), {})
    assert [p.key for p in problems] == ["baseline.path"] and "camdrift calibrate" in problems[0].message
    assert str(problems[0]).startswith("baseline.path: no baseline at ")


def test_paths_must_be_writable_files_and_folders(tmp_path: Path):
    (tmp_path / "f").write_text("")
    assert writable_folder_problem(tmp_path / "new/deeper", "state directory") is None
    assert "is not a folder" in writable_folder_problem(tmp_path / "f", "state directory")
    assert "is not a regular file" in writable_file_problem(tmp_path, "JSON-lines file")
    assert writable_file_problem(tmp_path / "f", "JSON-lines file") is None
    assert "cannot be created" in writable_file_problem(tmp_path / "f/x.jsonl", "JSON-lines file")


def test_writability_is_tried_not_guessed_from_permissions(tmp_path: Path, baseline_file: Path):
    """/proc says "writable" to root's os.access, yet nothing can be created there: the start would exit 2."""
    cfg = agent_config(
        tmp_path,
        baseline_file,
        state={"dir": "/proc/camdrift-state"},
        sinks={"jsonl": {"path": "/proc/camdrift-events.jsonl"}},
    )
    problems = preflight(cfg, {})
    assert [p.key for p in problems] == ["state.dir", "sinks.jsonl.path"], problems
    assert all("/proc" in p.message for p in problems)
    assert not list(tmp_path.rglob(".camdrift-check-*"))  # no probe file left behind


def test_mqtt_integrations_without_a_broker_are_problems_not_silence(tmp_path: Path, baseline_file: Path):
    mqtt = {"homeassistant": {"enabled": True}, "sparkplug": {"enabled": True}, "snapshot": True}
    problems = preflight(agent_config(tmp_path, baseline_file, mqtt=mqtt), {})
    assert [p.key for p in problems] == [
        "mqtt.homeassistant.enabled",
        "mqtt.sparkplug.enabled",
        "mqtt.snapshot",
    ]
    assert all("needs mqtt.host" in str(p) for p in problems)
    with_broker = agent_config(tmp_path, baseline_file, mqtt={**mqtt, "host": "broker.plant"})
    assert preflight(with_broker, {}) == []
