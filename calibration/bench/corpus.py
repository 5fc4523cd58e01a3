"""What the detection corpus is: scenes at their own resolution, source rate and file format, and every clip.

Four scenes from different real photographs (``camdrift.agent.sim.scenes``), laid out as an orthogonal array
over three two-level factors, so every level of every factor is used and every pair of levels occurs once::

    scene        size       source rate  file
    cups         640x360    30 fps       mp4v video
    parts_mono   1280x720   10 fps       mp4v video
    mixed        640x360    10 fps       PNG folder
    static       1280x720   30 fps       PNG folder

Each scene is calibrated from ``ref_s`` (100 s) of its own healthy footage (the reference seed) and tested on
clips of seeds never used for anything else: one long healthy stream, every change of the issue's list that
exists in the scene (a healthy lead-in, then the change), the 7-day lamp decay, and short healthy and changed
clips for ``camdrift verify``. Seeds and clip plans are pure functions of the scene and the settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from camdrift.agent.sim.scenarios import CHANGE_LIST, SCENARIOS, changes_for

FORMATS = ("mp4v", "png")
ANALYSIS_FPS = 5.0  # the agent's default --max-fps: every clip is analysed at it
SUDDEN_CHANGES = tuple(c for c in CHANGE_LIST if SCENARIOS[c].kind == "sudden")
LAMP = "lamp_decay"


@dataclass(frozen=True)
class CorpusScene:
    """name: the sim scene; size: (width, height) px; fps: source frames per second of stream time;
    fmt: "mp4v" (a video file written with OpenCV's mp4v fourcc) or "png" (a folder of PNG files);
    index: position in the corpus (decides the seeds)."""

    name: str
    size: tuple[int, int]
    fps: float
    fmt: str
    index: int

    def __post_init__(self) -> None:
        if self.fmt not in FORMATS:
            raise ValueError(f"corpus scene {self.name!r}: format must be one of {FORMATS}, got {self.fmt!r}")

    @property
    def label(self) -> str:
        return f"{self.name} {self.size[0]}x{self.size[1]} {self.fps:g}fps {self.fmt}"


CORPUS = (
    CorpusScene("cups", (640, 360), 30.0, "mp4v", 0),
    CorpusScene("parts_mono", (1280, 720), 10.0, "mp4v", 1),
    CorpusScene("mixed", (640, 360), 10.0, "png", 2),
    CorpusScene("static", (1280, 720), 30.0, "png", 3),
)


@dataclass(frozen=True)
class CorpusSettings:
    """ref_s: reference footage (s of stream time) passed to ``calibrate --duration``; healthy_frames: analysed
    frames of the long healthy stream; lead_s / watch_s: healthy lead-in before a change and stream time
    watched after its onset (s); lamp_loss: the lamp stream runs until this fraction of the light is lost;
    verify_clips: healthy clips per scene for ``camdrift verify``; verify_s: length of a verify clip (s);
    changes: the sudden changes run (None: every one that exists in the scene); lamp: run the lamp decay."""

    ref_s: float = 100.0
    healthy_frames: int = 20_000
    lead_s: float = 12.0
    watch_s: float = 10.0
    lamp_loss: float = 0.02
    verify_clips: int = 20
    verify_s: float = 9.0
    changes: tuple[str, ...] | None = None
    lamp: bool = True


FULL = CorpusSettings()
# CI's slow test: every acceptance property that holds at this size (no drift.started on the healthy stretch,
# each change caught with the right cause, verify passes healthy and fails changed clips), in minutes.
CI = CorpusSettings(
    healthy_frames=1500,
    changes=("gain_step", "camera_shift_rotated", "new_product"),
    lamp=False,
    verify_clips=2,
)
# Unit tests of the harness itself: the same code over the smallest clips that still calibrate.
QUICK = CorpusSettings(
    healthy_frames=300, changes=("gain_step",), lamp=False, verify_clips=1, lead_s=8.0, watch_s=4.0
)


def scenes_named(names: str | None) -> tuple[CorpusScene, ...]:
    """The corpus scenes named in a comma-separated list (None or "": all); ValueError naming an unknown one."""
    if not names:
        return CORPUS
    by_name = {s.name: s for s in CORPUS}
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        raise ValueError(f"unknown corpus scene {unknown[0]!r}; the corpus has {', '.join(by_name)}")
    return tuple(by_name[n] for n in wanted)


class Clip(NamedTuple):
    """One file to write and run. role: "reference", "healthy", "change", "lamp", "verify-healthy" or
    "verify-change"; scenario: the sim scenario rendered; seed: its seed; frames: source frames;
    onset: first changed source frame (None: healthy throughout); fps: source rate of the file."""

    role: str
    scenario: str
    seed: int
    frames: int
    onset: int | None
    fps: float

    @property
    def name(self) -> str:
        return f"{self.role}-{self.scenario}-s{self.seed}"


def changes_of(scene: CorpusScene, settings: CorpusSettings) -> tuple[str, ...]:
    """The sudden changes run on ``scene``: the settings' list, or all of the issue's, that exist in it."""
    exist = changes_for(scene.name)
    wanted = SUDDEN_CHANGES if settings.changes is None else settings.changes
    return tuple(c for c in wanted if c in exist)


def lamp_frames(settings: CorpusSettings) -> tuple[int, int]:
    """(onset, frames) of the lamp clip at one frame a minute: an hour healthy, then until ``lamp_loss``."""
    phase = SCENARIOS[LAMP].phases[0]
    fps = SCENARIOS[LAMP].fps
    onset = round(3600 * fps)
    return onset, onset + round(settings.lamp_loss / phase.ramp_loss * phase.ramp_s * fps) + 1


def clips(scene: CorpusScene, settings: CorpusSettings) -> tuple[Clip, ...]:
    """Every clip of ``scene`` under ``settings``, each with its own seed (none shared, none reused)."""
    base = 1000 * (scene.index + 1)
    fps = scene.fps
    out = [Clip("reference", "stationary", base + 1, round(settings.ref_s * fps), None, fps)]
    # The long healthy stream: analysed frames at 5 fps cover healthy_frames / 5 s of stream time.
    out.append(
        Clip(
            "healthy", "stationary", base + 2, round(settings.healthy_frames / ANALYSIS_FPS * fps), None, fps
        )
    )
    lead, n = round(settings.lead_s * fps), round((settings.lead_s + settings.watch_s) * fps)
    for k, change in enumerate(changes_of(scene, settings)):
        out.append(Clip("change", change, base + 10 + k, n, lead, fps))
    if settings.lamp:
        onset, frames = lamp_frames(settings)
        out.append(Clip("lamp", LAMP, base + 30, frames, onset, SCENARIOS[LAMP].fps))
    v = round(settings.verify_s * fps)
    for k in range(settings.verify_clips):
        out.append(Clip("verify-healthy", "stationary", base + 100 + k, v, None, fps))
    for k, change in enumerate(changes_of(scene, settings)):
        out.append(Clip("verify-change", change, base + 40 + k, v, 0, fps))
    return tuple(out)
