"""The real CLI on corpus clips, as a user runs it: ``camdrift calibrate``, ``run`` and ``verify`` in subprocesses.

Every call uses the default settings (no --max-fps, --window, --replicates...): only what the README tells a
user to pass. Each ``run`` gets a fresh state directory, so no engine state is restored from another clip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

CAMDRIFT = (sys.executable, "-m", "camdrift.agent.cli")


class CliError(RuntimeError):
    """A CLI call that could not run (exit 2, or an exit code the command does not document)."""


class Calibration(NamedTuple):
    """exit_code: calibrate's (0 written, 1 refused); message: its last stderr line; seconds: wall time."""

    exit_code: int
    message: str
    seconds: float


class AgentRun(NamedTuple):
    """events: the JSON-lines events ``camdrift run`` wrote (state lines left out); seconds: wall time."""

    exit_code: int
    events: tuple[dict, ...]
    seconds: float


class Verification(NamedTuple):
    """exit_code: 0 pass, 1 fail; verdict: "pass", "warn" or "fail" (warn: a statistic rose above its warn
    threshold without failing); cause: the top cause code of a fail ("" otherwise)."""

    exit_code: int
    verdict: str
    cause: str


def _call(args: list[str], timeout_s: float) -> subprocess.CompletedProcess:
    return subprocess.run([*CAMDRIFT, *args], capture_output=True, text=True, timeout=timeout_s, check=False)


def _last_line(text: str) -> str:
    lines = [x for x in text.strip().splitlines() if x.strip()]
    return lines[-1].strip() if lines else ""


def calibrate(uri: str, out: Path, duration_s: float, timeout_s: float = 1800.0) -> Calibration:
    """``camdrift calibrate --source URI --duration Ns --out OUT --quiet``."""
    t0 = time.perf_counter()
    p = _call(["calibrate", "--source", uri, "--duration", f"{duration_s:g}s", "--out", str(out), "--quiet"], timeout_s)  # fmt: skip
    if p.returncode not in (0, 1):
        raise CliError(f"camdrift calibrate --source {uri}: exit {p.returncode}: {_last_line(p.stderr)}")
    return Calibration(p.returncode, _last_line(p.stderr) or _last_line(p.stdout), time.perf_counter() - t0)


def run_agent(uri: str, baseline: Path, workdir: Path, timeout_s: float = 7200.0) -> AgentRun:
    """``camdrift run --source URI --baseline B --jsonl events.jsonl --state-dir fresh`` until the clip ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    jsonl = workdir / "events.jsonl"
    jsonl.unlink(missing_ok=True)
    # a state left by an earlier run here would be restored: its windows and its stream time would go on
    shutil.rmtree(workdir / "state", ignore_errors=True)
    t0 = time.perf_counter()
    args = ["run", "--source", uri, "--baseline", str(baseline), "--jsonl", str(jsonl)]
    p = _call([*args, "--state-dir", str(workdir / "state"), "--log-level", "warning"], timeout_s)
    if p.returncode != 0:
        raise CliError(f"camdrift run --source {uri}: exit {p.returncode}: {_last_line(p.stderr)}")
    events = []
    for line in jsonl.read_text().splitlines():
        doc = json.loads(line)
        if doc.get("schema", "").startswith("camdrift.event/"):
            events.append(doc)
    return AgentRun(p.returncode, tuple(events), time.perf_counter() - t0)


def verify(uri: str, baseline: Path, timeout_s: float = 600.0) -> Verification:
    """``camdrift verify --baseline B --source URI --json`` at its default capture (two windows)."""
    p = _call(["verify", "--baseline", str(baseline), "--source", uri, "--json", "--quiet"], timeout_s)
    if p.returncode not in (0, 1):
        raise CliError(f"camdrift verify --source {uri}: exit {p.returncode}: {_last_line(p.stderr)}")
    doc = json.loads(p.stdout)
    warned = doc["verdict"] == "warn" or any(r.get("verdict") == "warn" for r in doc.get("rows", ()))
    verdict = "fail" if doc["verdict"] == "fail" else ("warn" if warned else "pass")
    causes = doc.get("causes") or ()
    cause = causes[0]["code"] if verdict == "fail" and causes else ""
    return Verification(p.returncode, verdict, cause)
