"""``camdrift bench --detection``: camdrift and the peer baselines side by side on the scenario suite.

Rows are the scenario streams (every sudden change, the histogram-matched new object, the 7-day lamp decay,
the long healthy stream) and summary rows; columns are the detectors: camdrift, folklore PSI (> 0.25 on a
window of luma histograms), Page-Hinkley on mean brightness, and with ``--peers`` alibi-detect's
CVMDriftOnline (ERT 20,000) on six per-frame scalars, run in ``.venv-peers``. ``--detection-quick`` runs the
same code over short streams (tests).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from dataclasses import dataclass

from camdrift.calibration.bench import peer_cvm
from camdrift.calibration.bench.scenario_suite import (
    ACTIVATION_ONLY,
    DEFAULT,
    GRADUAL,
    IN_PROCESS,
    QUICK,
    SUDDEN,
    Outcome,
    Quiet,
    SuiteSettings,
    outcome,
    quiet,
    reference,
    run_stream,
    stream_fps,
)
from camdrift.calibration.bench.section import SectionEntry

LABELS = {
    "camdrift": "camdrift",
    "psi": "PSI>0.25",
    "page-hinkley": "Page-Hinkley",
    "alibi-cvm": "alibi CVM",
    "alibi-cvm-10": "alibi CVM 1/10",
}
# CVMDriftOnline's thresholds assume independent frames, but a product takes ~5 frames to cross the view: the
# per-frame contrast, noise and colour ratios have lag-1 autocorrelation 0.8-0.97 and decorrelate after ~2 s.
# So it also runs on every 10th frame (2 s apart at 5 fps), where its ERT holds.
CVM_STRIDE = 10
CHANGED = (*SUDDEN, *ACTIVATION_ONLY, *GRADUAL)


@dataclass(frozen=True)
class DetectionBench:
    """The suite's results. detectors: column names; outcomes: one per detector and changed stream; quiet: one
    per detector on the healthy stream; notes: how each peer was run (or why it was not); seconds: wall time."""

    settings: SuiteSettings
    detectors: tuple[str, ...]
    outcomes: tuple[Outcome, ...]
    quiet: tuple[Quiet, ...]
    notes: tuple[str, ...]
    seconds: float

    def get(self, detector: str, scenario: str) -> Outcome:
        return next(o for o in self.outcomes if o.detector == detector and o.scenario == scenario)

    def as_dict(self) -> dict:
        def clean(v):
            return None if isinstance(v, float) and math.isnan(v) else v

        return {
            "settings": vars(self.settings),
            "detectors": list(self.detectors),
            "outcomes": [{k: clean(v) for k, v in o._asdict().items()} for o in self.outcomes],
            "quiet": [{k: clean(v) for k, v in q._asdict().items()} for q in self.quiet],
            "summary": {d: summary(self, d) for d in self.detectors},
            "notes": list(self.notes),
            "seconds": self.seconds,
        }

    def format(self) -> str:
        return format_table(self)


def summary(bench: DetectionBench, detector: str) -> dict:
    """Detection rate over the sudden changes and the lamp decay; delays (frames, s) over the sudden changes;
    false alarms per 10,000 healthy frames; top-cause accuracy over the caught changes (camdrift only)."""
    sudden = [bench.get(detector, n) for n in SUDDEN]
    scored = sudden + [bench.get(detector, n) for n in GRADUAL]
    caught = [o for o in sudden if o.detected_at is not None]
    q = next(q for q in bench.quiet if q.detector == detector)
    hits = [o for o in scored if o.detected_at is not None]
    return {
        "detected": sum(o.detected_at is not None for o in scored),
        "streams": len(scored),
        "median_delay_frames": statistics.median(o.delay_frames for o in caught) if caught else None,
        "median_delay_s": statistics.median(o.delay_s for o in caught) if caught else None,
        "worst_delay_frames": None if len(caught) < len(sudden) else max(o.delay_frames for o in caught),
        "worst_delay_s": None if len(caught) < len(sudden) else max(o.delay_s for o in caught),
        "false_alarms_per_10k": q.per_10k,
        "early_alarms": sum(bench.get(detector, n).early_alarms for n in CHANGED),
        "top_cause_right": sum(o.cause == o.expected_cause for o in hits) if detector == "camdrift" else None,
        "top_cause_of": len(hits),
    }


def run_suite(settings: SuiteSettings = DEFAULT, peers: bool = False) -> DetectionBench:
    """Every suite stream through every in-process detector, and through alibi-detect when ``peers`` is set and
    the peers venv exists."""
    t0 = time.perf_counter()
    runs = {name: run_stream(name, settings) for name in (*CHANGED, "stationary")}
    alarms = {d: {name: r.alarms[d] for name, r in runs.items()} for d in IN_PROCESS}
    detectors = IN_PROCESS
    notes = [
        f"reference: healthy stream, seed 101, {settings.ref_frames} frames; test streams seed 202, 320x240; "
        f"sudden changes watched for {settings.horizon} analysed frames at 5 fps, the lamp (1 frame/min) until "
        f"{100 * settings.lamp_loss:g} % of its light is lost",
        "PSI: 10 reference-decile bins of luma, window of 20 frames vs the reference, alarm > 0.25, restarts "
        "after an alarm; Page-Hinkley: river's recurrence and defaults (delta 0.005, threshold 50, "
        "alpha 1-1e-4, min_instances 30, two-sided) on mean luma, restarts after an alarm",
    ]
    python = peer_cvm.peers_python()
    if peers and python is None:
        notes.append("alibi-detect: not installed (run scripts/peers-venv)")
    elif peers:
        refs = {
            f"fps{i}": reference(fps, settings.ref_frames, settings.n_replicates).scalars
            for i, fps in enumerate(sorted({stream_fps(n) for n in runs}))
        }
        group = {fps: f"fps{i}" for i, fps in enumerate(sorted({stream_fps(n) for n in runs}))}
        streams = {}
        for n, r in runs.items():
            streams[n] = (group[stream_fps(n)], r.scalars)
            streams[f"{n}@{CVM_STRIDE}"] = (group[stream_fps(n)], r.scalars[::CVM_STRIDE])
        cvm = peer_cvm.run_cvm(
            refs, streams, python, ert=settings.cvm_ert, n_bootstraps=settings.cvm_bootstraps
        )
        alarms["alibi-cvm"] = {n: cvm.alarms[n] for n in runs}
        alarms["alibi-cvm-10"] = {
            n: tuple(CVM_STRIDE * i for i in cvm.alarms[f"{n}@{CVM_STRIDE}"]) for n in runs
        }
        detectors = (*IN_PROCESS, "alibi-cvm", "alibi-cvm-10")
        notes.append(
            f"alibi CVM: alibi-detect {cvm.version} CVMDriftOnline(ert={cvm.ert:g}, window_sizes="
            f"{list(cvm.window_sizes)}, n_bootstraps={cvm.n_bootstraps}) on brightness, contrast, sharpness, "
            f"noise, R/G, B/G; reference subsampled to {cvm.n_ref} frames; thresholds simulated in "
            f"{cvm.config_s:.0f} s (once), {1e3 * cvm.run_s / max(cvm.frames, 1):.2f} ms/frame after; "
            f"'1/10': the same detector fed every {CVM_STRIDE}th frame (its alarms per 10k stream frames)"
        )
    elif python is None:
        notes.append("alibi-detect: not installed (run scripts/peers-venv)")
    else:
        notes.append("alibi-detect: installed, not run (add --peers)")
    outcomes = tuple(outcome(d, runs[n], alarms[d][n]) for n in CHANGED for d in detectors)
    quiets = tuple(quiet(d, runs["stationary"], alarms[d]["stationary"]) for d in detectors)
    return DetectionBench(settings, detectors, outcomes, quiets, tuple(notes), time.perf_counter() - t0)


def _delay(o: Outcome) -> str:
    if o.detected_at is None:
        return "missed"
    if o.scenario in GRADUAL:
        return f"{100 * o.light_lost:.2f}% lost ({o.delay_s / 3600:.1f} h)"
    cell = f"{o.delay_frames} ({o.delay_s:.1f} s)"
    if o.detector == "camdrift":
        cell += f" {o.cause}" if o.cause == o.expected_cause else f" {o.cause}(!)"
    return cell


def _frames_s(frames, seconds) -> str:
    return "n/a" if frames is None else f"{frames:g} ({seconds:.1f} s)"


def format_table(bench: DetectionBench) -> str:
    cols = bench.detectors
    rows: list[tuple[str, ...]] = []
    for name in CHANGED:
        label = name + (" [activations]" if name in ACTIVATION_ONLY else "")
        rows.append((label, *(_delay(bench.get(d, name)) for d in cols)))
    q = {x.detector: x for x in bench.quiet}
    n_quiet = next(iter(q.values())).frames
    rows.append((f"stationary {n_quiet} frames", *(f"{q[d].alarms} alarms" for d in cols)))
    rows.append(("-",) * (len(cols) + 1))
    s = {d: summary(bench, d) for d in cols}
    rows.append(("detected (sudden + lamp)", *(f"{s[d]['detected']}/{s[d]['streams']}" for d in cols)))
    rows.append(("median delay, frames (s)", *(_frames_s(s[d]["median_delay_frames"], s[d]["median_delay_s"]) for d in cols)))  # fmt: skip
    rows.append(("worst delay, frames (s)", *(_frames_s(s[d]["worst_delay_frames"], s[d]["worst_delay_s"]) if s[d]["worst_delay_frames"] is not None else "a change missed" for d in cols)))  # fmt: skip
    rows.append(("false alarms / 10k frames", *(f"{s[d]['false_alarms_per_10k']:.1f}" for d in cols)))
    rows.append(("alarms before onset", *(str(s[d]["early_alarms"]) for d in cols)))
    rows.append(("top cause right", *(f"{s[d]['top_cause_right']}/{s[d]['top_cause_of']}" if s[d]["top_cause_right"] is not None else "n/a" for d in cols)))  # fmt: skip
    if "psi" in cols:
        rows.append(("healthy windows PSI > 0.1", *(f"{100 * q[d].warn_fraction:.1f}%" if d == "psi" else "" for d in cols)))  # fmt: skip
    header = ("scenario", *(LABELS[d] for d in cols))
    widths = [max(len(r[i]) for r in (header, *rows) if r[0] != "-") for i in range(len(header))]
    lines = [
        "detection: analysed frames (stream time) from the first affected frame to the first alarm; camdrift's "
        "top cause, (!) = wrong",
        "  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
    ]
    for r in rows:
        if r[0] == "-":
            lines.append("  " + "  ".join("-" * w for w in widths))
        else:
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    lines += [f"  {n}" for n in bench.notes]
    lines.append(f"  suite wall time {bench.seconds:.0f} s")
    return "\n".join(lines)


def _options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--peers",
        action="store_true",
        help="with --detection: also run alibi-detect's CVMDriftOnline from .venv-peers (scripts/peers-venv)",
    )
    p.add_argument(
        "--detection-quick",
        action="store_true",
        help="with --detection: short streams and a small reference (a smoke test, not the figures)",
    )


def _run(args: argparse.Namespace) -> DetectionBench:
    settings = QUICK if getattr(args, "detection_quick", False) else DEFAULT
    return run_suite(settings, peers=getattr(args, "peers", False))


SECTION = SectionEntry(
    name="detection",
    flag="--detection",
    help="scenario suite: detection delay, false alarms and top cause, camdrift vs PSI / Page-Hinkley "
    "(~40 s)",
    measure=_run,
    options=_options,
)
