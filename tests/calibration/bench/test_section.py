"""A calibration bench section (section.py) as ``camdrift bench`` uses it: its options added to the bench's
parser (none unless given), ``run(args)`` measuring with the parsed options; every registered section is one."""

from __future__ import annotations

import argparse
from importlib.metadata import entry_points

from camdrift.calibration.bench.section import SectionEntry


class _Result:
    def __init__(self, size: int) -> None:
        self.size = size

    def as_dict(self) -> dict:
        return {"size": self.size}

    def format(self) -> str:
        return f"size {self.size}"


def test_options_and_run():
    def options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--toy-size", type=int, default=3)

    toy = SectionEntry(
        "toy", "--toy", "a toy section", measure=lambda args: _Result(args.toy_size), options=options
    )
    p = argparse.ArgumentParser()
    toy.add_arguments(p)
    assert toy.run(p.parse_args(["--toy-size", "7"])).as_dict() == {"size": 7}
    bare = SectionEntry("bare", "--bare", "no options", measure=lambda args: _Result(0))
    q = argparse.ArgumentParser()
    bare.add_arguments(q)  # adds nothing
    assert vars(q.parse_args([])) == {} and bare.run(argparse.Namespace()).format() == "size 0"


def test_every_registered_calibration_section_is_a_section():
    loaded = {ep.name: ep.load() for ep in entry_points(group="camdrift.bench_sections")}
    assert {"agent", "activations", "detection"} <= set(loaded)
    for name, section in loaded.items():
        assert isinstance(section, SectionEntry) and section.name == name and section.flag == f"--{name}"
