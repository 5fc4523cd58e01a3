"""``camdrift bench --corpus``: the detection corpus through the real CLI, per scene and overall, beside peers.

Each scene of :data:`~camdrift.calibration.bench.corpus.CORPUS` is calibrated from 100 s of its own healthy
footage with ``camdrift calibrate --duration 100s`` at the default settings, then its clips (seeds never used
to calibrate) run through ``camdrift run`` and ``camdrift verify``. The table reads the published events only:
false ``drift.started`` over the long healthy stream (warnings apart), the sudden changes caught with their
delay in stream time and their top cause, the camera move's displacement, the lamp decay's light lost at
detection and its forecast, and verify's verdicts. The peers (folklore PSI > 0.25 and Page-Hinkley on mean
brightness) see the same analysed frames. ``--corpus-size`` picks the settings: ``full`` (the issue's figures:
20,000 healthy analysed frames per scene, every change, the lamp, 20 verify clips; 31 min for the cups scene on
the 2-core development machine, busy), ``ci`` (CI's slow test) or ``quick`` (a smoke test).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from camdrift.calibration.bench.corpus import CI, FULL, QUICK, CorpusSettings, scenes_named
from camdrift.calibration.bench.corpus_peers import PEERS
from camdrift.calibration.bench.corpus_scene import SceneResult, run_scene
from camdrift.calibration.bench.section import SectionEntry

SIZES = {"full": FULL, "ci": CI, "quick": QUICK}
PEER_LABELS = {"psi": "PSI>0.25", "page-hinkley": "Page-Hinkley"}


@dataclass(frozen=True)
class SceneSummary:
    """One scene's (or the overall) figures. healthy_frames / false_started / warnings: the long healthy
    stream; caught / changes: sudden changes detected; median_s / worst_s: their delays (s of stream time, over
    the caught ones); right_cause: caught with the true top cause; moves_ok / moves: camera moves whose
    displacement is within 20 % (or 2 px); lamp_lost: light lost at detection (None: missed or not run);
    verify_fail / verify_warn / verify_healthy: verify on the healthy clips; verify_right / verify_changes:
    changed clips that failed with the right cause."""

    label: str
    calibrated: bool
    healthy_frames: int
    false_started: int
    warnings: int
    caught: int
    changes: int
    median_s: float | None
    worst_s: float | None
    right_cause: int
    moves_ok: int
    moves: int
    lamp_lost: float | None
    forecast: str
    verify_fail: int
    verify_warn: int
    verify_healthy: int
    verify_right: int
    verify_changes: int


def summarize(label: str, results: tuple[SceneResult, ...]) -> SceneSummary:
    """The figures of ``results`` (one scene, or all of them for the overall row)."""
    changes = [c for r in results for c in r.changes]
    caught = [c for c in changes if c.delay_s is not None]
    delays = [c.delay_s for c in caught]
    moves = [c for c in caught if c.displacement_ok is not None]
    lamps = [r.lamp for r in results if r.lamp is not None]
    lost = [lp.lost for lp in lamps if lp.lost is not None]
    healthy = [v for r in results for v in r.verifies if not v.change]
    changed = [v for r in results for v in r.verifies if v.change]
    forecast = ""
    if len(lamps) == 1 and lamps[0].lost is not None:
        lp = lamps[0]
        days = "none" if lp.forecast_days is None else f"{lp.forecast_days:.1f} d"
        if lp.forecast_range is not None:
            days += f" [{lp.forecast_range[0]:.1f}-{lp.forecast_range[1]:.1f}]"
        forecast = f"{days} (true {lp.true_days:.1f} d)"
    return SceneSummary(
        label=label,
        calibrated=all(r.calibration.exit_code == 0 for r in results),
        healthy_frames=sum(r.healthy.frames for r in results if r.healthy is not None),
        false_started=sum(len(r.healthy.alarms) for r in results if r.healthy is not None),
        warnings=sum(r.healthy.warnings for r in results if r.healthy is not None),
        caught=len(caught),
        changes=len(changes),
        median_s=statistics.median(delays) if delays else None,
        worst_s=max(delays) if delays and len(caught) == len(changes) else None,
        right_cause=sum(c.cause == c.expected for c in caught),
        moves_ok=sum(bool(c.displacement_ok) for c in moves),
        moves=len(moves),
        lamp_lost=max(lost) if lost and len(lost) == len(lamps) else None,
        forecast=forecast,
        verify_fail=sum(v.exit_code == 1 for v in healthy),
        verify_warn=sum(v.verdict == "warn" for v in healthy),
        verify_healthy=len(healthy),
        verify_right=sum(v.exit_code == 1 and v.cause == v.expected for v in changed),
        verify_changes=len(changed),
    )


@dataclass(frozen=True)
class CorpusBench:
    """Every scene's result under ``settings``; seconds: wall time."""

    settings: CorpusSettings
    scenes: tuple[SceneResult, ...]
    seconds: float

    def summaries(self) -> tuple[SceneSummary, ...]:
        rows = [summarize(r.scene.label, (r,)) for r in self.scenes]
        return (*rows, summarize("overall", self.scenes))

    def as_dict(self) -> dict:
        return {
            "settings": {k: v for k, v in vars(self.settings).items()},
            "scenes": [_scene_dict(r) for r in self.scenes],
            "summary": [vars(s) for s in self.summaries()],
            "peers": {p: peer_summary(self.scenes, p) for p in PEERS},
            "seconds": self.seconds,
        }

    def format(self) -> str:
        return format_table(self)


def _scene_dict(r: SceneResult) -> dict:
    return {
        "scene": r.scene.label,
        "formats": dict(r.formats),
        "calibration": r.calibration._asdict(),
        "healthy": None if r.healthy is None else {**r.healthy._asdict(), "alarms": [a._asdict() for a in r.healthy.alarms]},
        "changes": [c._asdict() for c in r.changes],
        "lamp": None if r.lamp is None else r.lamp._asdict(),
        "verifies": [v._asdict() for v in r.verifies],
        "peers": [p._asdict() for p in r.peers],
        "seconds": r.seconds,
    }  # fmt: skip


def peer_summary(results: tuple[SceneResult, ...], peer: str) -> dict:
    """A peer over ``results``: false alarms on the healthy streams, sudden changes caught, median delay (s)."""
    rows = [p for r in results for p in r.peers if p.peer == peer]
    healthy = [p for p in rows if not p.change]
    changed = [p for p in rows if p.change]
    delays = [p.delay_s for p in changed if p.delay_s is not None]
    return {
        "false_alarms": sum(p.alarms for p in healthy),
        "caught": len(delays),
        "changes": len(changed),
        "median_delay_s": statistics.median(delays) if delays else None,
    }


def _s(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def _row(s: SceneSummary) -> list[str]:
    if not s.calibrated:
        return [s.label, "calibrate refused", *[""] * 7]
    lamp = "-" if s.lamp_lost is None else f"{100 * s.lamp_lost:.2f} %"
    return [
        s.label,
        f"{s.healthy_frames} / {s.false_started} / {s.warnings}",
        f"{s.caught}/{s.changes}",
        f"{_s(s.median_s)} / {_s(s.worst_s)}",
        f"{s.right_cause}/{s.caught}",
        f"{s.moves_ok}/{s.moves}",
        f"{lamp} {s.forecast}".strip(),
        f"{s.verify_fail} / {s.verify_warn} of {s.verify_healthy}",
        f"{s.verify_right}/{s.verify_changes}",
    ]


def _lines(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def format_table(bench: CorpusBench) -> str:
    """The corpus table: one row per scene and an overall row; then each change per scene; then the peers."""
    head = [
        "scene",
        "healthy frames / drift.started / warnings",
        "caught",
        "delay median / worst s",
        "right cause",
        "displacement ok",
        "lamp: light lost, forecast",
        "verify healthy: fail / warn",
        "verify changed: right",
    ]
    lines = [
        "corpus: each scene calibrated from 100 s of its own footage (calibrate --duration 100s, defaults), "
        "tested on seeds never used to calibrate; delays in stream time from the first affected frame",
        *_lines([head, *(_row(s) for s in bench.summaries())]),
        "",
        "  per change: delay s and top cause ((!) = wrong cause, missed = no drift.started within the watch)",
    ]
    names = sorted({c.change for r in bench.scenes for c in r.changes})
    grid = [["change", *(r.scene.name for r in bench.scenes)]]
    for n in names:
        cells = []
        for r in bench.scenes:
            c = next((c for c in r.changes if c.change == n), None)
            if c is None:
                cells.append("")
            elif c.delay_s is None:
                cells.append("missed")
            else:
                cells.append(f"{c.delay_s:.1f} {c.cause}{'' if c.cause == c.expected else ' (!)'}")
        grid.append([n, *cells])
    lines += _lines(grid)
    lines += [
        "",
        "  peers on the same analysed frames: false alarms on the healthy streams, changes caught, median delay",
    ]
    for p in PEERS:
        ps = peer_summary(bench.scenes, p)
        lines.append(
            f"  {PEER_LABELS[p]:<13} false alarms {ps['false_alarms']}, caught {ps['caught']}/{ps['changes']}, "
            f"median delay {_s(ps['median_delay_s'])} s"
        )
    lines.append(f"  corpus wall time {bench.seconds:.0f} s")
    return "\n".join(lines)


def run_corpus(
    settings: CorpusSettings, scenes: str | None = None, workdir: Path | None = None
) -> CorpusBench:
    """Every named scene (None: all) under ``settings``; clips are written under ``workdir`` (a temporary
    folder when None) and deleted as soon as they are used."""
    t0 = time.perf_counter()
    chosen = scenes_named(scenes)
    with tempfile.TemporaryDirectory(prefix="camdrift-corpus-", dir=workdir) as tmp:
        results = tuple(run_scene(s, settings, Path(tmp) / s.name) for s in chosen)
    return CorpusBench(settings, results, time.perf_counter() - t0)


def _scene_list(text: str) -> str:
    """``--corpus-scenes``: a comma-separated list of corpus scenes, checked before anything runs."""
    try:
        scenes_named(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--corpus-size",
        choices=tuple(SIZES),
        default="full",
        help="with --corpus: full (the figures, ~30 min a scene), ci (CI's slow test) or quick (a smoke test)",
    )
    p.add_argument(
        "--corpus-scenes",
        type=_scene_list,
        metavar="A,B",
        help="with --corpus: only these scenes (default: all four)",
    )
    p.add_argument(
        "--corpus-dir",
        type=Path,
        metavar="DIR",
        help="with --corpus: where clips are written (default: /tmp)",
    )


def _run(args: argparse.Namespace) -> CorpusBench:
    return run_corpus(SIZES[args.corpus_size], args.corpus_scenes, args.corpus_dir)


SECTION = SectionEntry(
    name="corpus",
    flag="--corpus",
    help="detection corpus: four scenes from real photographs as mp4v videos and PNG folders through the real CLI "
    "(calibrate, run, verify), per scene and overall, beside PSI / Page-Hinkley",
    measure=_run,
    options=_options,
)
