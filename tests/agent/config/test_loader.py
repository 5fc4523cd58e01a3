"""Configuration loading: every error names the file and key path; values come out typed."""

from __future__ import annotations

import dataclasses
import os
import re

import pytest

from camdrift.agent.config import ConfigError, load_config
from tests.agent.config.helpers import write


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        (
            '[analysis]\ncpu_budget = 1.5\n[source]\nuri="shm:a"',
            "analysis.cpu_budget",
            "must be in (0, 1], got 1.5",
        ),
        (
            '[analysis]\ncpu_budget = 0\n[source]\nuri="shm:a"',
            "analysis.cpu_budget",
            "must be in (0, 1], got 0.0",
        ),
        (
            '[analysis]\nmax_fps = "fast"\n[source]\nuri="shm:a"',
            "analysis.max_fps",
            "must be a number, got str",
        ),
        (
            '[analysis]\nstride = 2.0\n[source]\nuri="shm:a"',
            "analysis.stride",
            "must be an integer, got float",
        ),
        (
            '[analysis]\nmax_fsp = 2\n[source]\nuri="shm:a"',
            "analysis.max_fsp",
            "unknown key (allowed here: max_fps",
        ),
        ('[source]\nuri="shm:a"\n[camera]\nid = "cam 1"', "camera.id", "camera id 'cam 1' is not valid"),
        (
            '[source]\nuri="shm:a"\n[sinks.console]\nenabled = 1',
            "sinks.console.enabled",
            "must be true or false",
        ),
        (
            '[source]\nuri="shm:a"\n[sinks.console]\nformat = "xml"',
            "sinks.console.format",
            "must be one of 'text'",
        ),
        (
            '[source]\nuri="shm:a"\n[sinks.syslog]\nx = 1',
            "sinks.syslog",
            "unknown key (allowed here: jsonl, console)",
        ),
        ('[source]\nuri="shm:a"\n[sinks]\njsonl = 3', "sinks.jsonl", "must be a table"),
        ('[source]\nuri="shm:a"\n[mqtt]\nport = 70000', "mqtt.port", "must be in [1, 65535], got 70000"),
        ('[source]\nuri="shm:a"\n[mqtt]\nprefix = "a/#"', "mqtt.prefix", "wildcard"),
        ('[source]\nuri="shm:a"\n[mqtt]\nsite = "a/b"', "mqtt.site", "one topic level"),
        ('[source]\nuri="shm:a"\n[mqtt]\ntls_key = "k.pem"', "mqtt.tls_key", "needs tls_cert"),
        ('[source]\nuri="shm:a"\n[mqtt]\npassword_file = "p"', "mqtt.password_file", "needs username"),
        ('[source]\nuri="shm:a"\n[evidence]\nmax_bytes = -1', "evidence.max_bytes", "must be in [0,"),
        ('[source]\nuri="shm:a"\n[state]\ndir = " "', "state.dir", "must not be empty"),
        ("[camera]\nid = 'a'", "source.uri", "required"),
        ('[source]\nuri = "ftp://x"', "source.uri", "unknown scheme"),
        ('[source]\nuri = "dir:/x?fps=0"', "source.uri", "fps must be > 0"),
        ('[source]\nuri = "shm:a"\npixel_format = "yuv"', "source.pixel_format", "must be one of 'bgr8'"),
        (
            '[source]\nuri = "shm:a"\npixel_format = "gray16"',
            "source.bit_depth",
            "required when pixel_format",
        ),
        ('[source]\nuri = "shm:a"\nbit_depth = 12', "source.bit_depth", "only applies to gray16"),
        (
            '[source]\nuri = "video:a.avi"\npixel_format = "nv12"',
            "source.pixel_format",
            "must be one of bgr8, rgb8",
        ),
        ('[source]\nuri = "shm:a"\nroi = [0, 0, 0, 10]', "source.roi", "must be [x, y, w, h]"),
        ('[source]\nuri = "shm:a"\nroi = [0, 0, 10]', "source.roi", "must be [x, y, w, h]"),
        ('[source]\nuri = "shm:a"\nstall_timeout = -1', "source.stall_timeout", "must be in (0, 3600]"),
        ('[source]\nuri = "shm:a"\nbackoff_max = 0.1', "source.backoff_max", "must be >= backoff_initial"),
        ('source = "shm:a"', "source", "must be a table"),
        ('[source]\nuri = "shm:a"\n[unknown]\nx = 1', "unknown", "unknown key (allowed here: source, camera"),
    ],
)
def test_errors_name_file_and_key_path(tmp_path, text, key, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert (err.origin, err.key) == (path, key)
    assert message in err.message
    assert str(err).startswith(f"{path}: {key}: ")


def test_the_message_format_of_the_issue(tmp_path):
    path = write(tmp_path, '[source]\nuri = "shm:a"\n[analysis]\ncpu_budget = 1.5\n')
    with pytest.raises(
        ConfigError, match=re.escape(f"{path}: analysis.cpu_budget: must be in (0, 1], got 1.5")
    ):
        load_config(path)


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="nope.toml: cannot read it"):
        load_config(str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="camdrift.toml: not valid TOML"):
        load_config(write(tmp_path, "[source\nuri = 1"))


def test_values_are_typed(tmp_path):
    path = write(
        tmp_path,
        '[source]\nuri = "dir:/frames?fps=2"\npixel_format = "gray16"\nbit_depth = 12\nroi = [10, 20, 300, 200]\n'
        "[analysis]\nmax_fps = 2\n[mqtt]\nhost = 'broker'\nport = 8883\n[sinks.jsonl]\npath = '/tmp/e.jsonl'\n",
    )
    c = load_config(path)
    assert c.source.roi == (10, 20, 300, 200) and c.source.bit_depth == 12
    assert c.analysis.max_fps == 2.0 and isinstance(c.analysis.max_fps, float)
    assert (c.mqtt.host, c.mqtt.port, c.mqtt.protocol) == ("broker", 8883, "5")
    assert c.sinks.jsonl.path == "/tmp/e.jsonl" and c.sinks.console.enabled
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.analysis.max_fps = 3.0


def test_every_problem_of_a_document_is_reported_at_once():
    from camdrift.agent.config import ConfigErrors, parse_config

    doc = {
        "source": {"uri": "synthetic:stationary", "stall_timeout": 0.0},
        "analysis": {"cpu_budget": 2.0},
        "mqtt": {"password_file": "/x"},
        "extra": 1,
    }
    with pytest.raises(ConfigErrors) as info:
        parse_config(doc, "cam.toml")
    keys = [e.key for e in info.value.errors]
    assert keys == ["extra", "source.stall_timeout", "analysis.cpu_budget", "mqtt.password_file"]
    assert str(info.value).splitlines()[1].startswith("cam.toml: source.stall_timeout: must be in")


def test_a_utf8_bom_is_accepted_and_other_encodings_are_refused_naming_the_file(tmp_path) -> None:
    text = '[source]\nuri = "synthetic:stationary"\n[camera]\nid = "line7"\n'
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load_config(str(bom)).camera.id == "line7"  # Windows editors write one
    latin = tmp_path / "latin.toml"
    latin.write_bytes((text + '[mqtt]\nsite = "Zürich"\n').encode("latin-1"))
    with pytest.raises(ConfigError, match=re.escape(f"{latin}: is not UTF-8 text")):
        load_config(str(latin))


def test_deep_nesting_and_a_fifo_are_refused_at_once(tmp_path) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text('[source]\nuri = "x"\n[camera]\nid = ' + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(ConfigError, match="nest deeper than"):
        load_config(str(deep))
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match=re.escape(f"{fifo}: cannot read it: is a FIFO")):
        load_config(str(fifo))  # would block forever reading a FIFO


@pytest.mark.parametrize(
    ("key", "value"),
    [("source.stall_timeout", "5e-324"), ("analysis.max_fps", "1e-9"), ("analysis.max_fps", "inf"),
     ("source.backoff_max", "nan"), ("mqtt.reconnect_min_s", "5e-324")],
)  # fmt: skip
def test_numbers_too_small_or_not_finite_are_refused_naming_the_key(tmp_path, key, value) -> None:
    section, name = key.split(".")
    path = tmp_path / "c.toml"
    table = "" if section == "source" else f"[{section}]\n"
    path.write_text(f'[source]\nuri = "synthetic:stationary"\n{table}{name} = {value}\n')
    with pytest.raises(ConfigError, match=re.escape(f"{path}: {key}: must be")):
        load_config(str(path))
