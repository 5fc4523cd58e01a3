"""What the daemon publishes runs on one stream time and names its episodes by their source: the in-process
:class:`Daemon` (its real run loop, sinks and reloads) on a live source that restarts its clock, and on
recordings. Every message is read back from the JSON-lines file and validated against the schema."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import jsonschema
import numpy as np
import pytest

from camdrift.agent.frames import Frame, SourceCounters, SourceEnded, SourceError
from camdrift.agent.output.evidence import EvidenceSpool
from camdrift.agent.output.sinks import read_jsonl
from camdrift.agent.predictions.flags import flag_note
from camdrift.agent.reference.baseline import save_baseline
from camdrift.agent.runtime.daemon import Daemon
from camdrift.agent.sim.line import HEALTHY, Drift, ProductionLine
from tests.agent.drift_fixtures import small_baseline
from tests.agent.runtime.helpers import agent_config

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = json.loads((ROOT / "agent/schema/messages.schema.json").read_text())
FPS = 5.0


class RestartingCamera:
    """A live camera on its own clock: each opening starts its clock and frame index at 0 again and delivers
    ``per_opening`` frames, then breaks (SourceError: reopened by the daemon); after the last opening it ends.
    ``on_frame(opening, index)`` runs before each frame is handed over and before it breaks (index
    ``per_opening``), e.g. to send the daemon a SIGHUP."""

    def __init__(self, openings: int, per_opening: int) -> None:
        self.counters = SourceCounters()
        self.openings, self.per_opening = openings, per_opening
        self.opening, self.index, self.total = -1, 0, 0
        self.line = ProductionLine(seed=8, width=160, height=120, fps=FPS)
        self.on_frame: Callable[[int, int], None] = lambda opening, index: None

    def open(self) -> None:
        self.opening += 1
        self.index = 0

    def read(self, timeout: float) -> Frame | None:
        self.on_frame(self.opening, self.index)
        if self.index == self.per_opening:
            if self.opening == self.openings - 1:
                raise SourceEnded("end of the script")
            raise SourceError("camera unplugged")
        frame = Frame(self.line.frame(self.total), self.index, self.index / FPS, "bgr8")
        self.index += 1
        self.total += 1
        return frame

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return "restarting camera"

    def set_request_interval(self, seconds: float) -> None:
        pass


def messages(path: Path) -> list[dict]:
    docs = read_jsonl(path)
    for doc in docs:
        jsonschema.validate(doc, SCHEMA)
    return docs


def stream_times(docs: list[dict]) -> list[tuple[str, float]]:
    """(kind or schema, stream_time) of every message that names a frame, in the order they were written."""
    return [(d.get("kind", d["schema"]), d["stream_time"]) for d in docs if d.get("stream_time") is not None]


def test_stream_time_never_goes_back_across_a_source_reopen_and_a_reload(
    baseline_file: Path, tmp_path: Path
) -> None:
    """The camera restarts its clock twice (0 .. 9.8 s each time); while it is lost the second time a SIGHUP
    puts a new baseline in place (fresh windows that have seen no frame yet). Source events, states and drift
    events all run on the agent's stream time: 0 .. 29.8 s, never back (before: source.restored at the camera's
    0.0 s, and after the reload the state went back to the camera's clock as well)."""
    baseline = tmp_path / "baseline.npz"
    baseline.write_bytes(baseline_file.read_bytes())
    jsonl = tmp_path / "events.jsonl"
    cfg = agent_config(
        tmp_path, baseline, source={"backoff_initial": 0.01}, sinks={"jsonl": {"path": str(jsonl)}}
    )
    camera = RestartingCamera(openings=3, per_opening=50)
    daemon = Daemon(lambda: cfg, environ={}, source=camera)

    def sighup(opening: int, index: int) -> None:
        if (opening, index) == (1, 10):
            daemon.request_reload()  # the same baseline: windows kept
        if (opening, index) == (1, 50):  # the camera breaks: the reload runs while it is lost
            save_baseline(small_baseline(seed=5), baseline)  # a technician put a new baseline in place
            daemon.request_reload()

    camera.on_frame = sighup
    assert daemon.run() == 0
    docs = messages(jsonl)
    kinds = [d["kind"] for d in docs if d["schema"] == "camdrift.event/1"]
    assert kinds.count("baseline.loaded") == 2 and kinds.count("source.restored") == 2, kinds
    times = stream_times(docs)
    assert all(a[1] <= b[1] for a, b in zip(times, times[1:], strict=False)), times
    source = [(k, round(t, 6)) for k, t in times if k.startswith("source.")]
    assert source == [
        ("source.lost", 9.8),  # the last frame before, at 9.8 s of the camera's clock
        ("source.restored", 10.0),  # the reopened camera's frame 0 (0.0 s of its clock), one period on
        ("source.lost", 19.8),
        ("source.restored", 20.0),  # after the reload: the timeline was kept
        ("source.ended", 29.8),
    ]
    states = [t for k, t in times if k == "camdrift.state/1"]
    assert states[-1] == pytest.approx(29.8) and daemon.time_offset == pytest.approx(20.0)


def write_recording(path: Path, gain: float, n: int = 120, onset: int = 50) -> None:
    """A 160x120 recording at 5 fps of the healthy line, the light changed by ``gain`` from ``onset`` on."""
    line = ProductionLine(seed=8, width=160, height=120, fps=FPS)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (160, 120))
    assert writer.isOpened()
    for i in range(n):
        writer.write(line.frame(i, Drift(gain=gain) if i >= onset else HEALTHY))
    writer.release()


def replay(baseline: Path, video: Path, tmp: Path, state: str) -> list[dict]:
    """``camdrift run --source video:VIDEO`` (in-process) with its state in ``tmp/state``; the drift events."""
    jsonl = tmp / f"{video.stem}-{state}.jsonl"
    cfg = agent_config(
        tmp,
        baseline,
        source={"uri": f"video:{video}"},
        state={"dir": str(tmp / state)},
        sinks={"jsonl": {"path": str(jsonl)}},
    )
    assert Daemon(lambda: cfg, environ={}).run() == 0
    return [d for d in messages(jsonl) if d.get("kind") in ("drift.started", "drift.updated", "drift.ended")]


def episodes(drift: list[dict]) -> list[tuple[int, float, str]]:
    return [
        (d["frame_index"], d["stream_time"], d["episode_id"]) for d in drift if d["kind"] == "drift.started"
    ]


def test_two_recordings_with_the_same_timing_get_their_own_episode_ids(
    baseline_file: Path, tmp_path: Path
) -> None:
    """dark.avi then blur.avi (the same length, fps and onset) with one state folder, as in a user's trial:
    before, both episodes got the same id. The same recording replayed (fresh state): the same ids."""
    dark, other = tmp_path / "dark.avi", tmp_path / "other.avi"
    write_recording(dark, gain=0.8)
    write_recording(other, gain=0.8)  # another recording of the same change: identical timing
    first = episodes(replay(baseline_file, dark, tmp_path, "st8"))
    second = episodes(replay(baseline_file, other, tmp_path, "st8"))  # not restored: another source
    assert len(first) == len(second) == 1
    assert first[0][:2] == second[0][:2]  # the same frame and stream time
    assert first[0][2] != second[0][2]
    again = episodes(replay(baseline_file, dark, tmp_path, "fresh"))
    assert again == first
    drift = replay(baseline_file, dark, tmp_path, "fresh2")
    assert {d["episode_id"] for d in drift} == {first[0][2]}  # one id from start to end
    assert np.isfinite([d["stream_time"] for d in drift]).all()


class AskedCamera(RestartingCamera):
    """A camera that records every request interval the agent sets (what a frame tap would ask the app for)."""

    def __init__(self, openings: int, per_opening: int) -> None:
        super().__init__(openings, per_opening)
        self.asked: list[float] = []

    def set_request_interval(self, seconds: float) -> None:
        self.asked.append(seconds)


def test_a_reload_that_changes_the_rate_changes_what_the_source_is_asked_for(
    baseline_file: Path, tmp_path: Path
) -> None:
    """SIGHUP with ``analysis.max_fps`` 5 -> 10: the source is asked for a frame every 0.1 s from then on (it
    was asked every 0.2 s; before, the reload showed "10 fps" in STATUS and the tap still asked for 5)."""
    configs = [agent_config(tmp_path, baseline_file, analysis={"max_fps": 5.0})]
    camera = AskedCamera(openings=1, per_opening=40)
    daemon = Daemon(lambda: configs[-1], environ={}, source=camera)

    def sighup(opening: int, index: int) -> None:
        if index == 20:
            configs.append(agent_config(tmp_path, baseline_file, analysis={"max_fps": 10.0}))
            daemon.request_reload()

    camera.on_frame = sighup
    assert daemon.run() == 0
    assert camera.asked[0] == 0.2 and camera.asked[-1] == 0.1
    assert daemon.parts.sampler.fps == 10.0


class FlaggingCamera(RestartingCamera):
    """One opening of 60 frames; before frames 20 and 40 the app flags a frame it had offered 30 s earlier
    (an operator correcting an earlier part): the tap hands a flag over before the next frame."""

    def read(self, timeout: float) -> Frame | None:
        if self.index in (20, 40) and not getattr(self, f"_flagged_{self.index}", False):
            setattr(self, f"_flagged_{self.index}", True)
            image = self.line.frame(self.total)
            return Frame(
                image,
                self.index,
                self.index / FPS - 30.0,
                "bgr8",
                flag_note("operator_corrected", corrected="ok"),
            )
        return super().read(timeout)


def test_a_flag_never_moves_the_stream_clock(baseline_file: Path, tmp_path: Path) -> None:
    jsonl = tmp_path / "events.jsonl"
    cfg = agent_config(tmp_path, baseline_file, sinks={"jsonl": {"path": str(jsonl)}})
    daemon = Daemon(lambda: cfg, environ={}, source=FlaggingCamera(openings=1, per_opening=60))
    assert daemon.run() == 0
    times = stream_times(messages(jsonl))
    assert all(a[1] <= b[1] for a, b in zip(times, times[1:], strict=False)), times
    assert daemon.time_offset == 0.0  # before: each flag 30 s back read as a source restart
    (manifest,) = tmp_path.rglob("manifest.jsonl")
    spool = EvidenceSpool(manifest.parent)
    flags = [r for r in spool.records() if r.kind == "flag"]
    assert [r.stream_time for r in flags] == [-26.0, -22.0]  # where the flagged frames sit on the clock
