"""Named drift scenarios over the synthetic production line, with the cause each one should be blamed on.

A scenario is a healthy stream up to ``onset_frame`` followed by phases, each holding a ``Drift`` from a frame
offset after the onset. A phase may also dim the lamp linearly over stream time (lamp ageing). Any scenario
renders over any scene (``camdrift.agent.sim.scenes``) where its changes exist: ``changes_for(scene)`` lists the
issue's change list for that scene (a mono camera has no white balance). Used by the engine tests, the
``synthetic:SCENARIO`` frame source, the demo, the corpus and ``camdrift bench --detection``.

>>> frames = list(scenario_stream("gain_step", 3, seed=1, onset_frame=1))
>>> [(i, t) for i, t, _ in frames], frames[0].image.shape
([(0, 0.0), (1, 0.2), (2, 0.4)], (240, 320, 3))
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from camdrift.agent.sim.line import HEALTHY, Drift, ProductionLine
from camdrift.agent.sim.scenes import DEFAULT_SCENE, Scene, scene_named

# Cause codes shared with the drift engine.
CAUSES = ("lighting", "gamma", "white_balance", "defocus", "camera_moved", "smudge", "noise", "content")
SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class Phase:
    """``drift`` holds from ``start`` frames after the onset until the next phase; ``cause`` is its cause code.

    ``ramp_loss``/``ramp_s``: on top of ``drift.gain``, the light falls linearly by the fraction ``ramp_loss`` over
    ``ramp_s`` seconds of stream time from the phase start, then stays there.
    """

    start: int
    drift: Drift = HEALTHY
    cause: str | None = None
    ramp_loss: float = 0.0
    ramp_s: float = 0.0

    def __post_init__(self) -> None:
        if self.start < 0:
            raise ValueError(f"Phase.start must be >= 0 frames, got {self.start}")
        if self.cause is not None and self.cause not in CAUSES:
            raise ValueError(f"unknown cause code {self.cause!r}; expected one of {CAUSES}")
        if not 0.0 <= self.ramp_loss < 1.0 or (self.ramp_loss > 0 and not self.ramp_s > 0):
            raise ValueError(f"bad lamp ramp: loss {self.ramp_loss} over {self.ramp_s} s")


@dataclass(frozen=True)
class Scenario:
    """A named stream: healthy until ``onset_frame``, then ``phases``. ``fps``: analysed frames per second.

    ``kind``: "stationary", "sudden", "gradual" or "sequence". ``expected_cause``: the cause code a detector
    should report (None for the stationary stream and for sequences, whose phases carry their own).
    """

    name: str
    kind: str
    expected_cause: str | None
    phases: tuple[Phase, ...] = ()
    onset_frame: int = 300
    fps: float = 5.0
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("stationary", "sudden", "gradual", "sequence"):
            raise ValueError(f"scenario {self.name!r}: unknown kind {self.kind!r}")
        if self.expected_cause is not None and self.expected_cause not in CAUSES:
            raise ValueError(f"scenario {self.name!r}: unknown cause code {self.expected_cause!r}")
        if self.onset_frame < 0 or not self.fps > 0:
            raise ValueError(f"scenario {self.name!r}: onset_frame must be >= 0 and fps > 0")
        if [p.start for p in self.phases] != sorted({p.start for p in self.phases}):
            raise ValueError(f"scenario {self.name!r}: phase starts must be strictly increasing")

    def phase_at(self, i: int) -> Phase | None:
        """The phase holding at frame ``i``, or None while the stream is healthy before the first phase."""
        current = None
        for phase in self.phases:
            if i - self.onset_frame >= phase.start:
                current = phase
        return current

    def cause_at(self, i: int) -> str | None:
        """Ground-truth cause code at frame ``i`` (None when healthy)."""
        phase = self.phase_at(i)
        return None if phase is None else phase.cause

    def drift_at(self, i: int, fps: float | None = None) -> Drift:
        """The render parameters of frame ``i``; ``fps`` (default the scenario's) converts frames to seconds."""
        phase = self.phase_at(i)
        if phase is None:
            return HEALTHY
        if phase.ramp_loss == 0.0:
            return phase.drift
        elapsed_s = (i - self.onset_frame - phase.start) / (fps or self.fps)
        dim = 1.0 - phase.ramp_loss * min(elapsed_s / phase.ramp_s, 1.0)
        return replace(phase.drift, gain=phase.drift.gain * dim)


class ScenarioFrame(NamedTuple):
    index: int  # frame index from 0
    t: float  # stream time in s
    image: np.ndarray  # (H, W, 3) uint8 BGR


def _sudden(name: str, cause: str, drift: Drift, description: str) -> Scenario:
    return Scenario(name, "sudden", cause, (Phase(0, drift, cause),), description=description)


_WEEK_S = 7 * SECONDS_PER_DAY
_SCENARIOS = (
    Scenario("stationary", "stationary", None, description="healthy line, natural variation only"),
    _sudden("gain_step", "lighting", Drift(gain=1.15), "illumination up 15 %"),
    _sudden("gain_step_dark", "lighting", Drift(gain=0.85), "illumination down 15 %"),
    _sudden("gamma", "gamma", Drift(gamma=1.25), "ISP gamma 1.0 -> 1.25"),
    _sudden("white_balance", "white_balance", Drift(white_balance=0.08), "red +8 %, blue -8 %"),
    _sudden("defocus", "defocus", Drift(defocus_sigma=1.5), "Gaussian lens blur, sigma 1.5 px"),
    _sudden("camera_shift", "camera_moved", Drift(shift=(0.03, 0.02)), "camera moved 3 % right, 2 % down"),
    _sudden(
        "camera_shift_rotated",
        "camera_moved",
        Drift(shift=(0.03, 0.0), rotation_deg=1.0),
        "camera moved 3 % of the width right and rolled 1 degree",
    ),
    _sudden("smudge", "smudge", Drift(smudge_fraction=0.10), "lens smudge over 10 % of the frame"),
    _sudden("noise", "noise", Drift(noise_factor=2.5), "sensor noise x2.5"),
    _sudden("new_product", "content", Drift(foreign_fraction=1 / 3), "a different product in 1/3 of slots"),
    _sudden(
        "new_variant_matched",
        "content",
        Drift(foreign_fraction=1 / 3, foreign="variant"),
        "a different object in 1/3 of slots, colour histograms matched to the usual product",
    ),
    Scenario(
        "lamp_decay",
        "gradual",
        "lighting",
        (Phase(0, HEALTHY, "lighting", ramp_loss=0.2, ramp_s=_WEEK_S),),
        fps=1 / 60,
        description="lamp loses 20 % of its light linearly over 7 days; one analysed frame per minute",
    ),
    Scenario(
        "demo",
        "sequence",
        None,
        (
            Phase(0, HEALTHY, "lighting", ramp_loss=0.2, ramp_s=120.0),  # lamps age over 2 min, then hold
            Phase(900),  # lamp replaced
            Phase(1200, Drift(shift=(0.03, 0.02)), "camera_moved"),  # camera bumped
            Phase(1700),  # camera re-aligned
            Phase(2000, Drift(defocus_sigma=1.5), "defocus"),
            Phase(2500),  # refocused
            Phase(2800, Drift(foreign_fraction=1 / 3, foreign="variant"), "content"),
            Phase(3400),  # variant run over
        ),
        description="lamps age, camera bumped, lens defocused, new product variant, with recoveries between",
    ),
)
SCENARIOS: dict[str, Scenario] = {s.name: s for s in _SCENARIOS}
# The list of changes every scene of the corpus is judged on, in the order the tables print them.
CHANGE_LIST = (
    "gain_step", "gain_step_dark", "gamma", "white_balance", "defocus", "camera_shift_rotated", "smudge",
    "noise", "new_product", "lamp_decay",
)  # fmt: skip


def why_not(scenario: Scenario, scene: Scene) -> str | None:
    """Why ``scenario`` cannot be rendered over ``scene`` (one line), or None when it can."""
    for phase in scenario.phases:
        d = phase.drift
        if scene.mono and d.white_balance != 0.0:
            return f"scene {scene.name!r} is a mono camera: it has no white balance"
        if d.foreign_fraction > 0 and d.foreign not in scene.foreign:
            return f"scene {scene.name!r} has no {d.foreign!r} product (it has: {', '.join(scene.foreign)})"
    return None


def changes_for(scene: Scene | str) -> tuple[str, ...]:
    """The names of the issue's changes (``CHANGE_LIST``) that exist in ``scene`` (a Scene or its name).

    >>> "white_balance" in changes_for("parts_mono"), len(changes_for("cups"))
    (False, 10)
    """
    scene = scene_named(scene) if isinstance(scene, str) else scene
    return tuple(name for name in CHANGE_LIST if why_not(SCENARIOS[name], scene) is None)


def scenario_stream(
    name: str,
    n_frames: int,
    seed: int = 0,
    size: tuple[int, int] = (320, 240),
    fps: float | None = None,
    onset_frame: int | None = None,
    t0: float = 0.0,
    scene: Scene | str = DEFAULT_SCENE,
) -> Iterator[ScenarioFrame]:
    """Yield ``(frame_index, stream_time_s, frame)`` for ``n_frames`` frames of scenario ``name`` over ``scene``.

    Frames are rendered lazily, each a pure function of (seed, index). ``size``: (width, height) px. ``fps``:
    the source rate (frames per second of stream time; products move accordingly less per frame at a higher
    rate); ``fps``/``onset_frame`` (in frames) default to the scenario's. ``scene``: a Scene or its name.
    Bad arguments, or a change that does not exist in the scene, raise ValueError here, before the first frame.
    """
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    if n_frames < 0:
        raise ValueError(f"n_frames must be >= 0, got {n_frames}")
    scenario = SCENARIOS[name]
    scene = scene_named(scene) if isinstance(scene, str) else scene
    reason = why_not(scenario, scene)
    if reason is not None:
        raise ValueError(f"scenario {name!r} does not apply: {reason}")
    if onset_frame is not None:
        scenario = replace(scenario, onset_frame=onset_frame)
    fps = scenario.fps if fps is None else fps
    line = ProductionLine(seed=seed, width=size[0], height=size[1], fps=fps, t0=t0, scene=scene)
    return _frames(scenario, line, n_frames)


def _frames(scenario: Scenario, line: ProductionLine, n_frames: int) -> Iterator[ScenarioFrame]:
    for i in range(n_frames):
        yield ScenarioFrame(i, line.time(i), line.frame(i, scenario.drift_at(i, line.fps)))
