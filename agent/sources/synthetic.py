"""``synthetic:SCENARIO?scene=cups&seed=1&fps=5&size=320x240&frames=N``: a rendered drift scenario.

Wraps :func:`camdrift.agent.sim.scenarios.scenario_stream`; replays as fast as possible on the scenario's stream
time (``fps`` is the source rate) and ends after ``frames`` frames (default: practically endless). ``scene``
names one of ``camdrift.agent.sim.scenes.SCENES`` (default "cups"). For the demo, tests and the corpus.
"""

from __future__ import annotations

from collections.abc import Iterator

from camdrift.agent.frames import Frame, SourceCounters, SourceEnded, SourceError
from camdrift.agent.sources.video import VIDEO_FORMATS, convert_bgr

ENDLESS = 10**12


class SyntheticSource:
    """Frames of scenario ``name`` over ``scene`` (BGR8 rendered, converted to ``pixel_format``); size is (w, h)."""

    def __init__(
        self,
        name: str,
        *,
        seed: int = 0,
        fps: float | None = None,
        size: tuple[int, int] = (320, 240),
        frames: int | None = None,
        pixel_format: str = "bgr8",
        scene: str = "cups",
    ) -> None:
        from camdrift.agent.sim.scenarios import SCENARIOS
        from camdrift.agent.sim.scenes import SCENES

        if name not in SCENARIOS:
            raise ValueError(f"synthetic:{name}: unknown scenario (known: {', '.join(SCENARIOS)})")
        if scene not in SCENES:
            raise ValueError(f"synthetic:{name}: unknown scene {scene!r} (known: {', '.join(SCENES)})")
        if pixel_format not in VIDEO_FORMATS:
            raise ValueError(
                f"synthetic: pixel_format must be one of {', '.join(VIDEO_FORMATS)}, got {pixel_format!r}"
            )
        self.name = name
        self.scene = scene
        self.seed = seed
        self.fps = fps
        self.size = size
        self.frames = ENDLESS if frames is None else frames
        self.pixel_format = pixel_format
        self.counters = SourceCounters()
        self._stream: Iterator | None = None
        self._first = None
        try:  # render the first frame now, so an impossible size or fps fails when the source is built
            self.open()
        except ValueError as exc:
            raise ValueError(f"synthetic:{name}: {exc}") from None
        self.close()

    def describe(self) -> str:
        scene = "" if self.scene == "cups" else f"scene {self.scene}, "
        return f"synthetic:{self.name} ({scene}seed {self.seed}, {self.size[0]}x{self.size[1]})"

    def open(self) -> None:
        from camdrift.agent.sim.scenarios import scenario_stream

        self._stream = scenario_stream(
            self.name, self.frames, seed=self.seed, size=self.size, fps=self.fps, scene=self.scene
        )
        self._first = next(self._stream, None)

    def close(self) -> None:
        self._stream = None
        self._first = None

    def set_request_interval(self, seconds: float) -> None:
        """Ignored: frames are rendered as fast as they are read."""

    def read(self, timeout: float) -> Frame | None:
        if self._stream is None:
            raise SourceError(f"synthetic:{self.name}: not open")
        item, self._first = (
            (self._first, None) if self._first is not None else (next(self._stream, None), None)
        )
        if item is None:
            raise SourceEnded(f"synthetic:{self.name}: {self.frames} frames done")
        index, t, image = item
        self.counters.frames_read += 1
        return Frame(convert_bgr(image, self.pixel_format), index, t, self.pixel_format)
