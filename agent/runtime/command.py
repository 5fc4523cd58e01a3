"""``camdrift run``: the agent daemon's command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from camdrift.agent.config import ConfigError, add_config_arguments, config_from_args
from camdrift.agent.paths import agent_paths

LOG_LEVELS = ("debug", "info", "warning", "error")
# syslog priorities, so that `journalctl -p warning` sees the agent's real levels
_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class JournalFormatter(logging.Formatter):
    """Prefixes each line with ``<priority>`` (sd-daemon(3)); journald strips it and records the level."""

    def format(self, record: logging.LogRecord) -> str:
        prio = _PRIORITY.get(record.levelno, 6)
        return "\n".join(f"<{prio}>{line}" for line in super().format(record).splitlines())


def setup_logging(level: str, environ: dict[str, str] | None = None) -> None:
    """Logs to stderr; under systemd (``$JOURNAL_STREAM`` set) with journald priority prefixes and no time
    stamp (the journal adds it)."""
    env = os.environ if environ is None else environ
    handler = logging.StreamHandler(sys.stderr)
    if env.get("JOURNAL_STREAM"):
        handler.setFormatter(JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper()))


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run",
        help="run the agent: read frames, detect drift, publish events",
        description="Runs the agent in the foreground (systemd: Type=notify). Settings come from --config "
        "and/or the options below; --check-config validates them and exits.",
    )
    add_config_arguments(p)
    p.add_argument("--check-config", action="store_true", help="validate the configuration and exit")
    p.add_argument("--log-level", choices=LOG_LEVELS, default="info", help="log level (default info)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from camdrift.agent.runtime.assembly import mqtt_sinks
    from camdrift.agent.runtime.daemon import Daemon, StartupError
    from camdrift.agent.runtime.preflight import preflight

    setup_logging(args.log_level)
    try:
        config = config_from_args(args)
    except ConfigError as exc:
        return _refused("configuration error: ", exc)
    if args.check_config:
        problems = preflight(config)
        if problems:
            origin = args.config or "command line"
            for problem in problems:
                print(f"camdrift run: configuration error: {origin}: {problem}", file=sys.stderr)
            return 2
        baseline = agent_paths(config).baseline
        print(
            f"configuration OK: camera {config.camera.id}, source {config.source.uri}; baseline {baseline} loads"
        )
        return 0
    try:
        daemon = Daemon(lambda: config_from_args(args), make_sinks=mqtt_sinks)
        daemon.install_signal_handlers()
        return daemon.run()
    except StartupError as exc:
        return _refused("", exc)
    except ConfigError as exc:
        return _refused("configuration error: ", exc)


def _refused(kind: str, exc: Exception) -> int:
    """Prints each line of ``exc`` (one problem each) as ``camdrift run: <kind><line>``; exit code 2."""
    for line in str(exc).splitlines() or [""]:
        print(f"camdrift run: {kind}{line}", file=sys.stderr)
    return 2
