"""``camdrift run``: its options, its exit codes, and logs journald can file by level."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pytest

from camdrift.agent.runtime.command import (
    LOG_LEVELS,
    JournalFormatter,
    register,
    run,
    setup_logging,
)


@pytest.fixture
def root_logging():
    """setup_logging replaces the root logger's handlers: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="camdrift")
    register(p.add_subparsers())
    return p


def record(level: int, msg: str) -> logging.LogRecord:
    return logging.LogRecord("camdrift.agent", level, __file__, 1, msg, None, None)


def test_journal_lines_carry_the_syslog_priority_of_their_level():
    fmt = JournalFormatter("%(name)s: %(message)s")
    assert fmt.format(record(logging.WARNING, "frame rejected")) == "<4>camdrift.agent: frame rejected"
    assert fmt.format(record(logging.ERROR, "a\nb")) == "<3>camdrift.agent: a\n<3>b"  # every line of it
    assert fmt.format(record(logging.DEBUG, "x")).startswith("<7>")
    assert fmt.format(record(logging.INFO, "x")).startswith("<6>")


def test_the_log_level_option_sets_what_is_logged(root_logging):
    assert parser().parse_args(["run", "--source", "shm:a"]).log_level == "info"
    for level in LOG_LEVELS:
        setup_logging(parser().parse_args(["run", "--log-level", level]).log_level, environ={})
        assert root_logging.level == getattr(logging, level.upper())
    with pytest.raises(SystemExit):
        parser().parse_args(["run", "--log-level", "verbose"])


def test_under_systemd_logs_have_priorities_and_no_time_stamp(root_logging):
    setup_logging("info", environ={"JOURNAL_STREAM": "8:1234"})
    (handler,) = root_logging.handlers
    assert isinstance(handler.formatter, JournalFormatter)
    setup_logging("info", environ={})
    assert "%(asctime)s" in root_logging.handlers[0].formatter._fmt


def test_a_configuration_error_exits_2_naming_the_key(root_logging, tmp_path: Path, capsys):
    cfg = tmp_path / "cam.toml"
    cfg.write_text('[source]\nuri = "shm:a"\n[analysis]\nmax_fps = 0\n')
    assert run(parser().parse_args(["run", "--config", str(cfg)])) == 2
    assert f"camdrift run: configuration error: {cfg}: analysis.max_fps" in capsys.readouterr().err


def test_check_config_without_a_baseline_yet_exits_2_as_the_start_would(root_logging, tmp_path: Path, capsys):
    args = ["run", "--check-config", "--source", "shm:a", "--baseline", str(tmp_path / "b.npz")]
    assert run(parser().parse_args(args + ["--state-dir", str(tmp_path / "state")])) == 2
    err = capsys.readouterr().err
    assert f"camdrift run: configuration error: command line: baseline.path: no baseline at {tmp_path}" in err
