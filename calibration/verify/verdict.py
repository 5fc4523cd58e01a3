"""Is the camera back? Compare a short capture with a baseline, statistic by statistic, with the likely cause.

The capture's frames go through a fresh :class:`~camdrift.agent.drift.engine.DriftEngine` (the agent's own
scoring), and every statistic's verdict is read from its largest score over the capture's full windows: ``fail``
above its drift threshold, ``warn`` above its warn threshold, else ``pass``. The causes are the engine's
explainer's, for the window that went furthest over its thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from camdrift.agent.drift.decision import Cause
from camdrift.agent.drift.engine import DriftEngine
from camdrift.agent.drift.explain import explain
from camdrift.agent.drift.statistics import WindowStats
from camdrift.agent.reference.baseline import Baseline
from camdrift.kernels import FrameStats

VERDICTS = ("pass", "warn", "fail")

# Which causes can move each statistic (the explainer ranks them; a row shows the best-ranked related one).
_RELATED = {
    "psi": None,  # any
    "brightness": ("lighting", "gamma", "content"),
    "contrast": ("lighting", "gamma", "defocus", "content"),
    "sharpness": ("defocus", "smudge", "lighting", "noise", "content"),
    "noise": ("noise", "lighting", "defocus"),
    "rg": ("white_balance", "lighting", "content"),
    "bg": ("white_balance", "lighting", "content"),
    "under_exposed": ("lighting", "gamma", "content"),
    "over_exposed": ("lighting", "gamma", "content"),
    "grid.sharpness": ("smudge", "defocus"),
    "displacement": ("camera_moved",),
}


class Row(NamedTuple):
    """One statistic: its largest score over the capture's windows, its thresholds (same unit), the verdict
    (pass / warn / fail) and, unless it passed, the likely cause (code and plain words)."""

    name: str
    statistic: float
    warn: float
    drift: float
    verdict: str
    cause: str
    cause_text: str


class VerifyResult(NamedTuple):
    """verdict: the worst row's; rows: one per statistic; causes: ranked, of the worst window; frames /
    windows: analysed frames and full windows scored."""

    verdict: str
    rows: tuple[Row, ...]
    causes: tuple[Cause, ...]
    frames: int
    windows: int
    worst: WindowStats | None


def _related(name: str) -> tuple[str, ...] | None:
    if name.startswith("psi."):
        return None
    if name.startswith("shift."):
        scalar = name[6:]
        return _RELATED.get(scalar, ("lighting", "gamma") if scalar.startswith("luma_") else None)
    return _RELATED.get(name)


def verify_stats(baseline: Baseline, stats: Sequence[FrameStats], times: Sequence[float]) -> VerifyResult:
    """Verdicts for frames ``stats`` observed at stream ``times`` (s). Needs at least one window of frames."""
    th = baseline.thresholds
    if len(stats) < th.window:
        raise ValueError(
            f"{len(stats)} frames is less than one window of {th.window}: capture at least {th.window} frames"
        )
    engine = DriftEngine(baseline)
    best = np.zeros(len(th.names))
    worst: WindowStats | None = None
    worst_strength = -np.inf
    windows = 0
    for i, (s, t) in enumerate(zip(stats, times, strict=True)):
        engine.update(s, i, float(t))
        ws = engine.last
        if ws is None or not engine.window.full:
            continue
        windows += 1
        best = np.maximum(best, ws.scores)
        strength = float(np.max(ws.scores / th.drift))
        if strength > worst_strength:
            worst, worst_strength = ws, strength
    causes = explain(
        worst,
        names=th.names,
        drift=th.drift,
        scalar_names=baseline.scalar_names,
        scalar_mean=baseline.scalar_mean,
    )
    rows = []
    for k, name in enumerate(th.names):
        verdict = "fail" if best[k] > th.drift[k] else "warn" if best[k] > th.warn[k] else "pass"
        code = text = ""
        if verdict != "pass":
            related = _related(name)
            cause = next((c for c in causes if related is None or c.code in related), causes[0])
            code, text = cause.code, cause.text
        rows.append(Row(name, float(best[k]), float(th.warn[k]), float(th.drift[k]), verdict, code, text))
    verdict = max((r.verdict for r in rows), key=VERDICTS.index)
    return VerifyResult(verdict, tuple(rows), causes, len(stats), windows, worst)


def table(result: VerifyResult) -> str:
    """Plain-text table for a technician's terminal."""
    lines = [f"{'statistic':<22} {'value':>9} {'warn':>9} {'drift':>9}  verdict  likely cause"]
    for r in result.rows:
        lines.append(
            f"{r.name:<22} {r.statistic:9.4g} {r.warn:9.4g} {r.drift:9.4g}  {r.verdict:<7}  {r.cause or '-'}"
        )
    return "\n".join(lines)


def as_json(result: VerifyResult) -> dict:
    """JSON-ready dict of ``result`` (rows and ranked causes)."""
    return {
        "verdict": result.verdict,
        "frames": result.frames,
        "windows": result.windows,
        "rows": [r._asdict() for r in result.rows],
        "causes": [{"code": c.code, "text": c.text, "score": float(c.score)} for c in result.causes],
    }
