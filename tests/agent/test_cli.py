"""The one ``camdrift`` command: every registered subcommand is listed and reachable."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from camdrift.agent import cli


def registered() -> list[str]:
    return sorted(ep.name for ep in entry_points(group="camdrift.commands"))


def test_help_lists_every_registered_command():
    text = cli.build_parser().format_help()
    names = registered()
    assert {"run", "evidence", "calibrate", "verify", "demo"} <= set(names)
    for name in names:
        assert f"    {name} " in text or f"    {name}\n" in text, f"{name} missing from camdrift --help"


def test_every_command_parses_its_help(capsys):
    for name in registered():
        with pytest.raises(SystemExit) as info:
            cli.main([name, "--help"])
        assert info.value.code == 0, name
        assert f"usage: camdrift {name}" in capsys.readouterr().out


def test_a_command_imports_only_its_own_module():
    """``camdrift run`` is a service that restarts: it must not pay for importing the technician's tools."""
    script = (
        "import sys; from camdrift.agent import cli\n"
        "try:\n    cli.main(['run', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('camdrift.calibration')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_an_unknown_command_is_refused_with_every_command_listed(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["calibrat"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'calibrat'" in err and "calibrate" in err and "run" in err


def test_no_command_prints_help_and_exits_2(capsys):
    assert cli.main([]) == 2
    assert "usage: camdrift" in capsys.readouterr().out


def test_version(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.startswith("camdrift ")


def test_ctrl_c_exits_130(monkeypatch):
    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    parser = argparse.ArgumentParser(prog="camdrift")
    parser.add_subparsers().add_parser("wait").set_defaults(func=interrupted)
    monkeypatch.setattr(cli, "build_parser", lambda only=None: parser)
    assert cli.main(["wait"]) == 130


def test_a_closed_pipe_exits_141_without_a_traceback(tmp_path):
    """``camdrift baseline show B | head -1``: the reader leaves after one line; the command says nothing more
    and exits 141 (not 0: its own result never reached anyone)."""
    from tests.agent.reference.test_baseline import GOLDEN

    script = (
        "import sys; from camdrift.agent import cli; sys.exit(cli.main(['baseline', 'show', sys.argv[1]]))"
    )
    r, w = os.pipe()
    os.close(r)  # the reader is gone before the first write
    proc = subprocess.run(
        [sys.executable, "-c", script, str(GOLDEN)], stdout=w, stderr=subprocess.PIPE, text=True, timeout=120
    )
    os.close(w)
    assert proc.returncode == 141, proc.stderr
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_a_double_dash_given_as_an_option_value_is_refused_naming_the_option(capsys):
    # argparse would drop it and hand the command an empty list (a TypeError deep in `agreement --top=--`)
    with pytest.raises(SystemExit) as exc:
        cli.main(["agreement", "labels.csv", "--top=--"])
    assert exc.value.code == 2
    assert "argument --top: expected a value, got '--'" in capsys.readouterr().err
