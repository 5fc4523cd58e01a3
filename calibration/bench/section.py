"""One ``camdrift bench`` section that needs calibration: the record each calibration bench module registers.

The agent's ``camdrift bench`` loads sections from the ``camdrift.bench_sections`` entry points
(pyproject.toml) and uses them through its ``BenchSection`` protocol: ``--<flag>`` switches the section on,
``add_arguments`` adds its own options, ``run(args)`` measures and returns a record with ``as_dict()`` (the
``--json`` document's ``<name>`` entry) and ``format()`` (the printed table).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from camdrift.agent.bench.command import BenchResult


@dataclass(frozen=True)
class SectionEntry:
    """name: key of the section's results in ``camdrift bench --json`` (and ``args.section_<name>``);
    flag: the option that runs it; help: its ``--help`` line (with the section's wall time);
    measure: runs the section on the parsed options; options: adds the section's own options, if any."""

    name: str
    flag: str
    help: str
    measure: Callable[[argparse.Namespace], BenchResult]
    options: Callable[[argparse.ArgumentParser], None] | None = None

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add the section's own options to ``camdrift bench``'s parser (none unless ``options`` is set)."""
        if self.options is not None:
            self.options(parser)

    def run(self, args: argparse.Namespace) -> BenchResult:
        return self.measure(args)
