"""The one ``camdrift`` command.

Subcommands are not imported here: every layer registers its own under the ``camdrift.commands`` entry-point
group (see pyproject.toml) as a callable ``register(subparsers) -> None`` that adds a parser whose defaults carry
``func(args) -> int``. This keeps the dependency direction kernels <- agent <- calibration: the agent discovers
calibration's commands without importing calibration.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from typing import NoReturn

from camdrift.agent.version import agent_version


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (the command, the option and why) and exit code 2, as README says; the
    subcommands' parsers are of this class too (argparse makes them with the parent's class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {' '.join(message.split())} (see {self.prog} --help)\n")


def command_name(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names (its first positional word), or None."""
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every registered subcommand, or with ``only`` that one when it is registered: a
    command's start-up then does not pay for importing the others (``camdrift run`` is a service that
    restarts; the calibration tools' imports cost it ~0.5 s)."""
    parser = _Parser(
        prog="camdrift",
        description="Watch the images reaching a vision model and report when they drift from the reference.",
    )
    parser.add_argument("--version", action="version", version=f"camdrift {agent_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    registered = sorted(entry_points(group="camdrift.commands"), key=lambda e: e.name)
    chosen = [ep for ep in registered if ep.name == only]
    for ep in chosen or registered:  # an unknown name gets argparse's list of every command
        register = ep.load()
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(command_name(words))
    for word in words:
        # argparse drops a "--" given as an option's value ("--top=--") and hands the command an empty list
        if word.startswith("--") and word.endswith("=--"):
            parser.error(f"argument {word[:-3]}: expected a value, got '--'")
    args = parser.parse_args(words)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``camdrift baseline show | head``): no traceback, and not 0, since the command's
        # own result (a verify verdict) was not delivered; 141 is what a shell reports for a SIGPIPE death.
        # stdout is pointed at /dev/null so that Python's flush at exit does not raise a second time.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 141


if __name__ == "__main__":
    sys.exit(main())
