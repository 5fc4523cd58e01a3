"""Is the camera back? The agent's own verdict on a short capture, statistic by statistic, with the likely cause.

The capture's frames are replayed through the agent's engine (:class:`~camdrift.calibration.verify.replay.
AgentReplay`), so verify decides as ``camdrift run`` does: a statistic ``fail``\\ s when the engine's state machine
put it in drift (``persistence`` consecutive windows above its drift threshold, 3 by default), ``warn``\\ s when it
rose above its warn threshold without that, else ``pass``\\ es. The capture's verdict is its worst statistic's;
its cause is the one the agent's event carried (the explainer run on the frames since the change began).
A capture too short for the rule to be met cannot say "pass" and is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from camdrift.agent.drift.decision import Cause, Decision
from camdrift.agent.drift.statistics import WindowStats
from camdrift.agent.drift.words import cause_words, statistic_words
from camdrift.agent.predictions.outputs import ModelOutputs
from camdrift.agent.reference.baseline import Baseline
from camdrift.calibration.verify.replay import AgentReplay, frames_needed
from camdrift.kernels import FrameStats

VERDICTS = ("pass", "warn", "fail")
_VERDICT_OF_STATE = {"ok": "pass", "warning": "warn", "drift": "fail"}

# Which causes can move each statistic (a row names the best-ranked related one of its event's causes).
_RELATED = {
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
    """One statistic: its largest score over the capture's windows and its thresholds (the statistic's unit),
    ``run``: its longest run of consecutive windows above the drift threshold, the verdict (pass / warn /
    fail: the agent's state machine reached ok / warning / drift) and, unless it passed, the likely cause."""

    name: str
    statistic: float
    warn: float
    drift: float
    verdict: str
    cause: str
    cause_text: str
    run: int


class VerifyResult(NamedTuple):
    """verdict: the worst row's; reason: plain words saying why, in the agent's terms; rows: every window
    statistic, then any other statistic (CUSUM) that left ok; causes: ranked, of the event behind the verdict
    (empty on a pass); event: that event (the first ``drift.started``, else the first ``warning``; None on a
    pass); frames / windows: analysed frames and full windows scored; persistence: the agent's rule (windows in
    a row above a drift threshold); worst: the window furthest over its thresholds."""

    verdict: str
    reason: str
    rows: tuple[Row, ...]
    causes: tuple[Cause, ...]
    event: Decision | None
    frames: int
    windows: int
    persistence: int
    worst: WindowStats | None


def _related(name: str) -> tuple[str, ...] | None:
    """Cause codes that can move statistic ``name`` (None: any, for histograms and CUSUMs)."""
    if name.startswith(("psi.", "cusum.")):
        return None
    if name.startswith("out."):
        return ("model_outputs",)
    if name.startswith("shift."):
        scalar = name[6:]
        return _RELATED.get(scalar, ("lighting", "gamma") if scalar.startswith("luma_") else None)
    return _RELATED.get(name)


def _row(replay: AgentReplay, k: int, fallback: tuple[Cause, ...]) -> Row:
    g = replay.groups[k]
    verdict = _VERDICT_OF_STATE[replay.reached(k)]
    code = text = ""
    if verdict != "pass":
        event = replay.events.get(g.name)
        pool = event.causes if event is not None and event.causes else fallback
        related = _related(g.name)
        cause = next((c for c in pool if related is None or c.code in related), pool[0] if pool else None)
        if cause is not None:
            code, text = cause.code, cause.text
    return Row(g.name, float(replay.peak[k]), g.warn, g.drift, verdict, code, text, int(replay.run[k]))


def _windows(n: int) -> str:
    return f"{n} consecutive windows" if n != 1 else "1 window"


def _reason(rows: Sequence[Row], replay: AgentReplay) -> str:
    """Why the verdict, in the agent's terms (the statistic that decided, its run, the rule)."""
    rule = {g.name: g.persistence for g in replay.groups}
    if replay.started is not None:
        first = next(r for r in rows if r.name == replay.started.group)
        others = [r.name for r in rows if r.verdict == "fail" and r.name != first.name]
        text = (
            f"{first.name} above its drift threshold for {_windows(first.run)} "
            f"(the agent's rule: {rule[first.name]}); the agent would have started a drift episode at frame "
            f"{replay.started.frame_index} ({replay.started.stream_time:.1f} s)"
        )
        return text + (f"; also in drift: {', '.join(others)}" if others else "")
    warned = [r for r in rows if r.verdict == "warn"]
    if warned:
        top = max(warned, key=lambda r: r.statistic / r.warn)
        text = f"{top.name} above its warn threshold ({top.statistic:.4g} > {top.warn:.4g})"
        if top.run:
            text += (
                f", above its drift threshold ({top.drift:.4g}) for {_windows(top.run)}, fewer than "
                f"the agent's {rule[top.name]} for drift"
            )
        more = len(warned) - 1
        return text + (f"; {more} more statistic{'s' if more > 1 else ''} warned" if more else "")
    return f"every statistic stayed below its warn threshold over {replay.windows} windows"


def verify_stats(
    baseline: Baseline,
    stats: Sequence[FrameStats],
    times: Sequence[float],
    outputs: Sequence[ModelOutputs | None] = (),
) -> VerifyResult:
    """The agent's verdicts for frames ``stats`` observed at stream ``times`` (s), with the model's ``outputs``
    for them when the app handed any over (then the output group's rows, the class-mix question among them,
    are listed whatever they reached). ValueError when there are fewer frames than the agent's rule needs to
    call drift (:func:`~camdrift.calibration.verify.replay.frames_needed`), saying how many it needs."""
    th = baseline.thresholds
    need = frames_needed(baseline)
    if len(stats) < need:
        windows = max(0, len(stats) - th.window + 1)
        raise ValueError(
            f"{len(stats)} frames make {windows} full window{'s' if windows != 1 else ''} of {th.window}; the "
            f"agent calls drift only after {need - th.window + 1} consecutive windows above a drift threshold, "
            f"so verify needs at least {need} frames (--frames {need})"
        )
    replay = AgentReplay(baseline)
    model = list(outputs) if outputs else [None] * len(stats)
    for i, (s, t, o) in enumerate(zip(stats, times, model, strict=True)):
        replay.update(s, i, float(t), o)
    asked = baseline.outputs is not None and any(o is not None for o in model)
    event = replay.started or replay.warned
    causes = event.causes if event is not None else ()
    n_window = len(th.names)  # window statistics come first in the engine's order
    rows = tuple(
        _row(replay, k, causes)
        for k in range(len(replay.groups))
        if k < n_window or replay.reached(k) != "ok" or (asked and replay.names[k].startswith("out."))
    )
    verdict = max((r.verdict for r in rows), key=VERDICTS.index)
    return VerifyResult(
        verdict,
        _reason(rows, replay),
        rows,
        tuple(causes) if verdict != "pass" else (),
        event if verdict != "pass" else None,
        len(stats),
        replay.windows,
        replay.persistence,
        replay.worst,
    )


def table(result: VerifyResult) -> str:
    """Plain-text table for a technician's terminal: each statistic in plain words, its largest score as a
    multiple of its drift threshold, the verdict, how many windows in a row it stayed over (the agent's rule
    counts these), its likely cause and its id. A row whose cause differs from the headline's is marked
    secondary: it moved too, and the headline's cause explains the change as a whole."""
    headline = result.causes[0].code if result.causes else None
    lines = [
        f"{'what was measured':<38} {'score':>7}  {'verdict':<7} {'in a row':>8}  {'likely cause':<48} id"
    ]
    for r in result.rows:
        cause = cause_words(r.cause) if r.verdict != "pass" else "-"
        if r.verdict != "pass" and headline and r.cause and r.cause != headline:
            cause += " (secondary)"
        ratio = f"{r.statistic / r.drift:.2f}x" if r.drift > 0 else "-"
        lines.append(
            f"{statistic_words(r.name):<38} {ratio:>7}  {r.verdict:<7} {r.run:>8}  {cause:<48} {r.name}".rstrip()
        )
    lines.append("(score: the largest over the capture's windows, as a multiple of the drift threshold)")
    return "\n".join(lines)


def as_json(result: VerifyResult) -> dict:
    """JSON-ready dict of ``result`` (rows, the rule, the event behind the verdict and its ranked causes)."""
    e = result.event
    return {
        "verdict": result.verdict,
        "reason": result.reason,
        "frames": result.frames,
        "windows": result.windows,
        "persistence": result.persistence,
        "event": None
        if e is None
        else {"kind": e.kind, "group": e.group, "frame_index": e.frame_index, "stream_time": e.stream_time},
        "rows": [r._asdict() for r in result.rows],
        "causes": [{"code": c.code, "text": c.text, "score": float(c.score)} for c in result.causes],
    }
