"""The agent's decisions over a capture: what ``camdrift run`` would have said on the same footage.

:class:`AgentReplay` feeds a capture's frames, in stream time, to a fresh
:class:`~camdrift.agent.drift.engine.DriftEngine` built as the agent builds it (its default persistence and
recovery, no model), and records, per statistic, what the engine's own state machines
(:class:`~camdrift.agent.drift.decision.Hysteresis`) did: the furthest state reached (ok / warning / drift), the
longest run of consecutive windows above the drift threshold and the largest score, plus the first events the
agent would have published (``drift.started``, ``warning``) with their ranked causes. Nothing here re-decides:
the rule and the causes are the engine's.
"""

from __future__ import annotations

import inspect

import numpy as np

from camdrift.agent.drift.decision import OK, STATES, Decision
from camdrift.agent.drift.engine import DriftEngine
from camdrift.agent.drift.statistics import WindowStats
from camdrift.agent.predictions.outputs import ModelOutputs
from camdrift.agent.reference.baseline import Baseline
from camdrift.kernels import FrameStats

# The agent runs the engine with its default rule (agent/runtime/pipeline.py passes no persistence).
AGENT_PERSISTENCE: int = inspect.signature(DriftEngine).parameters["persistence"].default


def agent_engine(baseline: Baseline) -> DriftEngine:
    """The engine the agent runs against ``baseline`` when no model is attached (its default rule)."""
    return DriftEngine(baseline, activations=False)


def frames_needed(baseline: Baseline) -> int:
    """Analysed frames a capture needs before the agent's rule can call drift: one window, then
    ``persistence - 1`` more windows (the sliding window advances one frame at a time)."""
    return baseline.thresholds.window + agent_engine(baseline).persistence - 1


class AgentReplay:
    """Replays frames through the agent's engine; ``update(stats, frame_index, stream_time, outputs) -> self``
    (``outputs``: the model's, when the app handed them over and the baseline has an output group).

    After the updates: ``state[k]`` (index into :data:`~camdrift.agent.drift.decision.STATES`), ``run[k]``
    (longest run of consecutive windows above the drift threshold) and ``peak[k]`` (largest score, the
    statistic's own unit) for each of :attr:`names` (every statistic the engine watches, window statistics
    first); ``windows``: full windows scored; ``frames``: frames fed; ``started`` / ``warned``: the first
    ``drift.started`` / ``warning`` event (None if none); ``events``: per statistic, the event that took it into
    its furthest state (``drift.started``, ``drift.updated`` or ``warning``), when the agent published one;
    ``worst``: the window whose largest score / drift threshold was largest (None before the first).
    """

    def __init__(self, baseline: Baseline) -> None:
        self.engine = agent_engine(baseline)
        self.persistence = self.engine.persistence
        self.groups = self.engine.all_groups
        self.names = tuple(g.name for g in self.groups)
        n = len(self.groups)
        self.state = np.zeros(n, np.int64)
        self.run = np.zeros(n, np.int64)
        self.peak = np.zeros(n)
        self.frames = 0
        self.windows = 0
        self.started: Decision | None = None
        self.warned: Decision | None = None
        self.events: dict[str, Decision] = {}
        self.worst: WindowStats | None = None
        self._worst_strength = -np.inf
        self._drift = baseline.thresholds.drift

    def update(
        self, stats: FrameStats, frame_index: int, stream_time: float, outputs: ModelOutputs | None = None
    ) -> AgentReplay:
        engine = self.engine.update(stats, frame_index, stream_time, outputs=outputs)
        self.frames += 1
        for d in engine.decisions:
            if d.kind == "drift.started" and self.started is None:
                self.started = d
            elif d.kind == "warning" and self.warned is None:
                self.warned = d
            before = self.events.get(d.group)
            # the event that took the statistic furthest: its warning, replaced by its drift if one came
            if d.kind != "drift.ended" and (
                before is None or (before.kind == "warning" and d.kind != "warning")
            ):
                self.events[d.group] = d
        ws = engine.last
        if ws is None or not engine.pixels.full:
            return self
        self.windows += 1
        families = engine.families
        for k, g in enumerate(self.groups):
            self.state[k] = max(self.state[k], STATES.index(g.state))
            self.run[k] = max(self.run[k], g.above)
            self.peak[k] = max(self.peak[k], families.family_of(g.name).score(g.name))
        strength = float(np.max(ws.scores / self._drift))
        if strength > self._worst_strength:
            self.worst, self._worst_strength = ws, strength
        return self

    def reached(self, k: int) -> str:
        """The furthest state statistic ``k`` reached: ``ok``, ``warning`` or ``drift``."""
        return STATES[int(self.state[k])]

    @property
    def drift_detected(self) -> bool:
        """The agent would have opened a drift episode on this capture."""
        return self.started is not None

    @property
    def all_ok(self) -> bool:
        return bool(np.all(self.state == STATES.index(OK)))
