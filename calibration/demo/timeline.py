"""The demo's timeline: what was done to the stream (truth) against what the agent reported (episodes), as a
picture a person takes in at a glance. Drawn with OpenCV, so no plotting dependency is needed."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from camdrift.agent.sim.scenarios import Scenario

_LABELS = {
    "lighting": "lamps ageing",
    "camera_moved": "camera bumped",
    "defocus": "lens defocused",
    "content": "new product variant",
    "gamma": "gamma changed",
    "white_balance": "white balance shifted",
    "smudge": "lens smudged",
    "noise": "sensor noise up",
}
_COLOURS = {  # BGR
    "lighting": (60, 170, 240),
    "camera_moved": (200, 120, 60),
    "defocus": (90, 90, 220),
    "content": (160, 80, 170),
    "gamma": (80, 190, 190),
    "white_balance": (40, 140, 40),
    "smudge": (120, 120, 120),
    "noise": (30, 100, 160),
}


class TruthPhase(NamedTuple):
    """A span of stream time (s) during which the scenario applied one change (cause None: healthy)."""

    start_s: float
    end_s: float | None
    cause: str | None
    label: str


class Episode(NamedTuple):
    """A drift episode as reported: stream time (s) it started and ended (None: still open), top cause."""

    start_s: float
    end_s: float | None
    cause: str | None
    text: str


def truth_phases(scenario: Scenario) -> list[TruthPhase]:
    fps = scenario.fps
    starts = [(scenario.onset_frame + p.start) / fps for p in scenario.phases]
    out = [TruthPhase(0.0, starts[0] if starts else None, None, "healthy line")]
    for k, phase in enumerate(scenario.phases):
        end = starts[k + 1] if k + 1 < len(starts) else None
        label = _LABELS.get(phase.cause or "", "healthy again" if phase.cause is None else phase.cause)
        out.append(TruthPhase(starts[k], end, phase.cause, label))
    return out


def episodes_from_events(events: list[dict]) -> list[Episode]:
    """Episodes from the agent's event documents (as the JSON-lines sink wrote them), in order."""
    open_: dict[str, Episode] = {}
    done: list[Episode] = []
    for e in events:
        eid = e.get("episode_id")
        if e["kind"] == "drift.started" and eid:
            cause = e["causes"][0]["code"] if e["causes"] else None
            open_[eid] = Episode(e["stream_time"], None, cause, e["summary"])
        elif e["kind"] == "drift.ended" and eid in open_:
            done.append(open_.pop(eid)._replace(end_s=e["stream_time"]))
    return sorted(done + list(open_.values()))


def draw_timeline(path: Path, truth: list[TruthPhase], found: list[Episode], duration_s: float) -> Path:
    """Two bands over stream time: what happened (top) and what camdrift reported (bottom). Returns ``path``."""
    w, h, left, right = 1200, 230, 150, 20
    img = np.full((h, w, 3), 255, np.uint8)
    span = max(duration_s, 1.0)

    def x(t: float) -> int:
        return int(left + (w - left - right) * min(max(t, 0.0), span) / span)

    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(img, "camdrift demo: what happened vs what was reported", (left, 24), font, 0.6, (0, 0, 0), 1)
    for row, (name, spans) in enumerate(
        (
            ("happened", [(p.start_s, p.end_s, p.cause, p.label) for p in truth]),
            ("reported", [(e.start_s, e.end_s, e.cause, e.cause or "?") for e in found]),
        )
    ):
        y0 = 50 + row * 75
        cv2.putText(img, name, (10, y0 + 30), font, 0.6, (0, 0, 0), 1)
        cv2.rectangle(img, (left, y0), (w - right, y0 + 45), (235, 235, 235), -1)
        for start, end, cause, label in spans:
            if cause is None:
                continue
            x0, x1 = x(start), x(span if end is None else end)
            cv2.rectangle(img, (x0, y0), (max(x1, x0 + 2), y0 + 45), _COLOURS.get(cause, (0, 0, 0)), -1)
            cv2.putText(img, label, (x0 + 3, y0 + 28), font, 0.45, (255, 255, 255), 1)
    for t in np.arange(0, span + 1e-9, 60.0):
        cv2.line(img, (x(t), 200), (x(t), 206), (0, 0, 0), 1)
        cv2.putText(img, f"{t / 60:.0f}", (x(t) - 4, 222), font, 0.4, (0, 0, 0), 1)
    cv2.putText(img, "min of stream time", (10, 222), font, 0.4, (0, 0, 0), 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), img):
        raise OSError(f"cannot write {path}")
    return path
