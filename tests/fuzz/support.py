"""What every fuzz test shares: hypothesis settings (seeded, no deadline, bounded), a per-case alarm that turns a
hang into a failure, a scratch folder, the one-line-message check, and the CLI called in-process."""

from __future__ import annotations

import contextlib
import io
import signal
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from hypothesis import HealthCheck, settings

from camdrift.agent import cli

CASES = 2000  # per input kind (the acceptance: at least 2,000)
HANG_S = 10  # one case taking longer than this is a hang


def fuzz_settings(max_examples: int = CASES) -> settings:
    """Seeded (derandomize), no per-example deadline, no example database, tolerant of slow data generation."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        deadline=None,
        database=None,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
    )


class Hang(Exception):
    """A case ran past :data:`HANG_S`."""


@contextlib.contextmanager
def no_hang(seconds: int = HANG_S) -> Iterator[None]:
    def alarm(_sig: int, _frame: object) -> None:
        raise Hang(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


SCRATCH = Path(tempfile.mkdtemp(prefix="camdrift-fuzz-"))


def scratch(name: str, data: bytes | str) -> Path:
    """``data`` written to ``SCRATCH/name`` (overwritten per case)."""
    p = SCRATCH / name
    if isinstance(data, str):
        p.write_text(data, encoding="utf-8")
    else:
        p.write_bytes(data)
    return p


def assert_one_line(message: str, *culprits: str) -> None:
    """``message`` is one non-empty line naming one of ``culprits``, with no traceback and no pickle advice
    (numpy's "allow_pickle" hint; the bare word may be a fuzzed value the message rightly echoes)."""
    text = message.strip()
    assert text and "\n" not in text, f"want one line, got {message!r}"
    assert "Traceback" not in text and "allow_pickle" not in text.lower(), text
    assert any(c in text for c in culprits), f"{text!r} names none of {culprits}"


def run_cli(argv: Sequence[str]) -> tuple[int, str, str]:
    """``camdrift ARGV`` in-process: (exit code, stdout, stderr); SystemExit (argparse) is caught."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), no_hang():
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()
