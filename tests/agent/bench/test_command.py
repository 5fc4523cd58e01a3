"""``camdrift bench``: the ``--json`` document's structure, the option checks, and the section protocol.

Runs on tiny frames; speed is never asserted.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any

import pytest

from camdrift.agent.bench import command
from camdrift.agent.bench.command import BenchSection

TIMING_KEYS = {"median_ms", "p90_ms", "n"}
CONTENDERS = ("memory_read", "fused_stride1", "fused_stride2", "opencv_chain")


@dataclass(frozen=True)
class Result:
    value: int

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value}

    def format(self) -> str:
        return f"toy section: {self.value}"


class Toy(BenchSection):
    """A section without options of its own: it inherits the no-op ``add_arguments``."""

    name = "toy"
    flag = "--toy"
    help = "a toy section"

    def run(self, args: argparse.Namespace) -> Result:
        return Result(42)


class WithOption(BenchSection):
    name = "opt"
    flag = "--opt"
    help = "a section with an option"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--opt-level", type=int, default=1)

    def run(self, args: argparse.Namespace) -> Result:
        if args.opt_level < 0:
            raise RuntimeError("level must be >= 0")
        return Result(args.opt_level)


def bench(argv: list[str], sections: list[BenchSection], monkeypatch: pytest.MonkeyPatch) -> int:
    """Run ``camdrift bench ARGV`` with ``sections`` registered (instead of the installed ones)."""
    monkeypatch.setattr(command, "_sections", lambda: sections)
    parser = argparse.ArgumentParser(prog="camdrift")
    command.register(parser.add_subparsers())
    args = parser.parse_args(["bench", *argv])
    return args.func(args)


@pytest.mark.usefixtures("small_pool", "restore_threads")
def test_json_document_of_the_kernel_section(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--json", "--size", "32x24", "--size", "48x32", "--frames", "5", "--no-startup"]
    assert bench(argv, [], monkeypatch) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"frame_kernels", "startup"} and doc["startup"] is None
    assert [(r["width"], r["height"]) for r in doc["frame_kernels"]] == [(32, 24), (48, 32)]
    for row in doc["frame_kernels"]:
        assert set(row) == {"width", "height", *CONTENDERS, "speedup_stride1", "speedup_stride2"}
        for name in CONTENDERS:
            assert set(row[name]) == TIMING_KEYS and row[name]["n"] == 5
            assert 0 < row[name]["median_ms"] <= row[name]["p90_ms"]
        assert row["speedup_stride1"] == pytest.approx(
            row["opencv_chain"]["median_ms"] / row["fused_stride1"]["median_ms"]
        )


@pytest.mark.usefixtures("small_pool", "restore_threads")
def test_tables_without_json(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench(["--size", "32x24", "--frames", "5", "--no-startup", "--toy"], [Toy()], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "frame kernels" in out and "32x24" in out and "toy section: 42" in out


@pytest.mark.usefixtures("restore_threads")
def test_sections_run_when_asked_with_their_own_options(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sections: list[BenchSection] = [Toy(), WithOption()]
    assert bench(["--json", "--no-kernels"], sections, monkeypatch) == 0
    assert json.loads(capsys.readouterr().out) == {"frame_kernels": [], "startup": None}
    assert bench(["--json", "--no-kernels", "--toy", "--opt", "--opt-level", "3"], sections, monkeypatch) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["toy"] == {"value": 42} and doc["opt"] == {"value": 3}
    # A section that cannot run says why and the command fails.
    assert bench(["--no-kernels", "--opt", "--opt-level", "-1"], sections, monkeypatch) == 1
    assert "camdrift bench: opt: level must be >= 0" in capsys.readouterr().err


def test_bad_options_are_refused(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench(["--frames", "4"], [], monkeypatch) == 2
    assert "--frames must be at least 5" in capsys.readouterr().err
    for size, words in (("12x12", "too small"), ("1280", "1280x720"), ("axb", "1280x720")):
        with pytest.raises(SystemExit):
            bench(["--size", size], [], monkeypatch)
        assert words in capsys.readouterr().err


def test_installed_sections_offer_the_protocol() -> None:
    sections = command._sections()
    assert [s.name for s in sections] == sorted(s.name for s in sections)
    for section in sections:
        assert section.flag.startswith("--") and section.help
        parser = argparse.ArgumentParser()
        section.add_arguments(parser)  # every section has it (a no-op when it has no options)
