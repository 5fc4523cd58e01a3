"""Command-line options override config keys and are checked like the file."""

from __future__ import annotations

import argparse

import pytest

from camdrift.agent.config import ConfigError, add_config_arguments, config_from_args
from tests.agent.config.helpers import write


def parse_args(argv):
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    return parser.parse_args(argv)


def test_command_line_overrides_are_checked_too(tmp_path):
    path = write(tmp_path, '[source]\nuri = "shm:a"\n[analysis]\nmax_fps = 5.0\n')
    c = config_from_args(parse_args(["--config", path, "--max-fps", "2", "--source", "video:/x.avi"]))
    assert c.analysis.max_fps == 2.0 and c.source.uri == "video:/x.avi"
    with pytest.raises(ConfigError) as info:
        config_from_args(parse_args(["--config", path, "--cpu-budget", "3"]))
    assert info.value.key == "analysis.cpu_budget" and "--cpu-budget" in info.value.origin


def test_command_line_without_file():
    c = config_from_args(parse_args(["--source", "synthetic:gain_step", "--camera", "press-2"]))
    assert (c.source.uri, c.camera.id, c.analysis.cpu_budget) == ("synthetic:gain_step", "press-2", 0.15)
    with pytest.raises(ConfigError, match="source.uri: required: pass --source URI or --config FILE"):
        config_from_args(parse_args([]))
    with pytest.raises(ConfigError, match="--source: source.uri: source URI 'rtmp://x': unknown scheme"):
        config_from_args(parse_args(["--source", "rtmp://x"]))
