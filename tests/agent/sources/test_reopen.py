"""Frame sources: real video files, real image folders, the tap through open_source, reopening and URIs."""

from __future__ import annotations

import functools
import http.server
import logging
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from camdrift.agent.frames import Frame, FrameSource, SourceCounters, SourceEnded, SourceError
from camdrift.agent.sources import FolderSource, ReopeningSource, SyntheticSource, VideoSource, open_source
from camdrift.agent.tap import TapReader

HERE = Path(__file__).parents[1]  # tests/agent: the shared _tap_producer.py
W, H = 160, 120


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A real photo, BGR8, H x W."""
    rgb = skdata.astronaut()
    return cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), (W, H), interpolation=cv2.INTER_AREA)


def shifted(photo: np.ndarray, k: int) -> np.ndarray:
    """Frame k of the test video: the photo rolled by 8k pixels, so frames are told apart by content."""
    return np.roll(photo, 8 * k, axis=1)


@pytest.fixture(scope="module")
def video(tmp_path_factory, photo) -> Path:
    path = tmp_path_factory.mktemp("video") / "line.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (W, H))
    assert writer.isOpened()
    for k in range(12):
        writer.write(shifted(photo, k))
    writer.release()
    return path


def test_video_file_frames_and_timestamps(video, photo):
    src = open_source(f"video:{video}")
    assert isinstance(src, VideoSource) and isinstance(src, FrameSource)
    src.open()
    frames = []
    with pytest.raises(SourceEnded, match="end of file after 12 frames"):
        while True:
            frames.append(src.read(1.0))
    src.close()
    assert [f.frame_index for f in frames] == list(range(12))
    np.testing.assert_allclose([f.stream_time for f in frames], np.arange(12) / 10.0, atol=1e-6)
    for f in frames:
        assert f.image.shape == (H, W, 3) and f.pixel_format == "bgr8"
        errors = [np.abs(f.image.astype(int) - shifted(photo, k)).mean() for k in range(12)]
        assert int(np.argmin(errors)) == f.frame_index and min(errors) < 6  # MJPG is lossy
    assert src.counters.frames_read == 12


def test_video_file_as_gray(video):
    src = open_source(f"video:{video}", pixel_format="gray8")
    src.open()
    frame = src.read(1.0)
    src.close()
    assert frame.image.shape == (H, W) and frame.image.dtype == np.uint8 and frame.pixel_format == "gray8"


def test_end_of_file_emits_ended_once(video):
    src = ReopeningSource(open_source(f"video:{video}"))
    frames = [src.read(1.0) for _ in range(15)]
    assert sum(f is not None for f in frames) == 12 and frames[12:] == [None] * 3
    events = src.drain_events()
    assert [(e.kind, e.frame_index) for e in events] == [("source.ended", 11)]
    assert events[0].stream_time == pytest.approx(1.1) and src.ended


@pytest.fixture
def http_video(video):
    """The test video served over HTTP by a real server on a free port (a stream that ends: a dropping camera)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(video.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{video.name}"
    server.shutdown()
    server.server_close()


def test_http_stream_that_ends_is_lost_then_restored(http_video):
    src = ReopeningSource(open_source(http_video), stall_timeout=5.0, backoff_initial=0.01)
    assert isinstance(src.source, VideoSource) and src.source.live
    got, events = [], []
    end = time.monotonic() + 20
    while time.monotonic() < end and not any(e.kind == "source.restored" for e in events):
        frame = src.read(0.2)
        if frame is not None:
            got.append(frame)
        events += src.drain_events()
    src.close()
    assert [e.kind for e in events] == ["source.lost", "source.restored"]
    assert "stream ended" in events[0].reason
    assert got and all(f.image.shape == (H, W, 3) for f in got)
    # The grabber keeps only the newest frame, so indices only grow within one connection.
    first_run = [f.frame_index for f in got[:-1]]
    assert first_run == sorted(set(first_run))


@pytest.fixture
def folder(tmp_path, photo) -> Path:
    """Good frames 0, 2, 5, 6; a corrupt file, a zero-byte file and two wrong-size images in between."""
    d = tmp_path / "frames"
    d.mkdir()
    for k in (0, 2, 5, 6):
        cv2.imwrite(str(d / f"img_{k:03d}.png"), shifted(photo, k))
    (d / "img_001.png").write_bytes(np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    (d / "img_003.png").write_bytes(b"")
    cv2.imwrite(str(d / "img_004.png"), cv2.resize(photo, (W // 2, H // 2)))
    cv2.imwrite(str(d / "img_007.png"), cv2.resize(photo, (W, H + 2)))
    (d / "notes.txt").write_text("not an image, not matched by the default pattern")
    return d


def test_image_folder_skips_bad_files_with_reasons(folder, photo, caplog):
    src = open_source(f"dir:{folder}?fps=4")
    assert isinstance(src, FolderSource)
    src.open()
    frames = []
    with caplog.at_level(logging.WARNING), pytest.raises(SourceEnded):
        while True:
            frames.append(src.read(0.1))
    assert [f.frame_index for f in frames] == [0, 2, 5, 6]
    assert [f.stream_time for f in frames] == [0.0, 0.5, 1.25, 1.5]
    for f in frames:
        np.testing.assert_array_equal(f.image, shifted(photo, f.frame_index))  # PNG is lossless
    c = src.counters
    assert (c.frames_read, c.frames_rejected) == (4, 4)
    assert c.rejected == {"undecodable": 1, "empty_file": 1, "wrong_size": 2}
    logged = [r.getMessage() for r in caplog.records]
    assert sum("wrong_size" in m for m in logged) == 1  # logged once, counted twice
    assert any("img_004.png: 80x60, expected 160x120" in m for m in logged)
    assert any("img_003.png: zero bytes" in m for m in logged)


def test_image_folder_pattern_and_declared_size(folder):
    src = open_source(f"dir:{folder}?pattern=img_00[4-7].png&size={W // 2}x{H // 2}")
    src.open()
    frame = src.read(0.1)
    assert frame.image.shape == (H // 2, W // 2, 3)
    with pytest.raises(SourceEnded):
        src.read(0.1)
    assert src.counters.rejected == {"wrong_size": 3}


def test_image_folder_gray16(tmp_path):
    ramp = (np.arange(40 * 30, dtype=np.uint16).reshape(30, 40) * 50) % 4096
    cv2.imwrite(str(tmp_path / "a.png"), ramp)
    cv2.imwrite(str(tmp_path / "b.png"), (ramp // 16).astype(np.uint8))  # 8-bit: wrong depth for gray16
    src = FolderSource(str(tmp_path), pixel_format="gray16")
    src.open()
    frame = src.read(0.1)
    np.testing.assert_array_equal(frame.image, ramp)
    with pytest.raises(SourceEnded):
        src.read(0.1)
    assert src.counters.rejected == {"undecodable": 1}


def test_image_folder_watch_mode_takes_new_files(tmp_path, photo):
    cv2.imwrite(str(tmp_path / "a.png"), photo)
    src = open_source(f"dir:{tmp_path}?watch=1&poll=0.01")
    src.open()
    assert src.read(0.5).frame_index == 0
    assert src.read(0.05) is None  # nothing new: waits, does not end
    cv2.imwrite(str(tmp_path / "b.png"), shifted(photo, 1))
    frame = None
    end = time.monotonic() + 10
    while frame is None and time.monotonic() < end:
        frame = src.read(0.1)
    assert frame.frame_index == 1
    np.testing.assert_array_equal(frame.image, shifted(photo, 1))


def test_missing_folder_is_a_source_error(tmp_path):
    with pytest.raises(SourceError, match="no such folder"):
        open_source(f"dir:{tmp_path / 'nope'}").open()


def test_synthetic_source_is_deterministic_in_seed():
    def frames(uri):
        src = open_source(uri)
        src.open()
        out = [src.read(0.1) for _ in range(3)]
        with pytest.raises(SourceEnded):
            src.read(0.1)
        return out

    a = frames("synthetic:gain_step?seed=3&frames=3&size=96x64&fps=10")
    b = frames("synthetic:gain_step?seed=3&frames=3&size=96x64&fps=10")
    c = frames("synthetic:gain_step?seed=4&frames=3&size=96x64&fps=10")
    assert [f.stream_time for f in a] == pytest.approx([0.0, 0.1, 0.2])
    assert a[0].image.shape == (64, 96, 3)
    assert all(np.array_equal(x.image, y.image) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0].image, c[0].image)


class ScriptedSource:
    """A source following a script: "fail" (open or read raises SourceError), "frame", "none" (timeout)."""

    def __init__(self, opens: list[bool], reads: list[str]) -> None:
        self.opens = list(opens)
        self.reads = list(reads)
        self.counters = SourceCounters()
        self.index = 0
        self.open_calls = 0

    def describe(self) -> str:
        return "scripted"

    def open(self) -> None:
        self.open_calls += 1
        if not (self.opens.pop(0) if self.opens else True):
            raise SourceError("camera unreachable")

    def close(self) -> None:
        pass

    def read(self, timeout: float) -> Frame | None:
        step = self.reads.pop(0) if self.reads else "none"
        if step == "fail":
            raise SourceError("stream broke")
        if step == "none":
            return None
        self.index += 1
        return Frame(np.zeros((2, 2), np.uint8), self.index, float(self.index), "gray8")


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


def test_reopen_with_exponential_backoff_until_the_source_recovers():
    t = FakeTime()
    inner = ScriptedSource(
        opens=[True, False, False, False, False, False, True], reads=["frame", "fail", "frame"]
    )
    src = ReopeningSource(inner, backoff_initial=0.5, backoff_max=3.0, clock=t.clock, sleep=t.sleep)
    assert src.read(1.0).frame_index == 1
    assert src.read(1.0) is None  # "stream broke"
    retries = []
    while (frame := src.read(10.0)) is None:
        retries.append(t.now)
    assert frame.frame_index == 2
    assert inner.open_calls == 7
    # Attempts at 0.5, 1.5, 3.5, 6.5, 9.5, 12.5 s after the loss: 0.5 s doubling, capped at 3 s.
    attempt_times = [s for s in np.cumsum(t.sleeps)]
    assert attempt_times == pytest.approx([0.5, 1.5, 3.5, 6.5, 9.5, 12.5])
    events = src.drain_events()
    assert [e.kind for e in events] == ["source.lost", "source.restored"]
    assert events[0].reason == "stream broke" and events[0].frame_index == 1
    assert src.losses == 1 and src.lost_reason is None


def test_open_failure_at_start_is_reported_not_raised():
    t = FakeTime()
    src = ReopeningSource(ScriptedSource([False, True], ["frame"]), clock=t.clock, sleep=t.sleep)
    src.open()
    assert src.lost_reason == "camera unreachable"
    assert src.read(5.0) is None and src.read(5.0).frame_index == 1
    assert [e.kind for e in src.drain_events()] == ["source.lost", "source.restored"]


def test_stall_detection():
    t = FakeTime()
    inner = ScriptedSource([], ["frame", "none", "none", "none", "frame"])
    src = ReopeningSource(inner, stall_timeout=2.0, backoff_initial=0.1, clock=t.clock, sleep=t.sleep)
    kinds = []
    for second in range(5):
        t.now = float(second)  # each read waits its whole 1 s timeout
        frame = src.read(1.0)
        kinds.append((frame is not None, [e.kind for e in src.drain_events()]))
    assert kinds == [
        (True, []),
        (False, []),
        (False, ["source.lost"]),  # 2 s without a frame
        (False, []),  # reopened after the backoff, nothing yet
        (True, ["source.restored"]),
    ]
    assert inner.open_calls == 2 and src.describe() == "scripted [ok]"


@pytest.fixture
def tap_name():
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    for leftover in Path("/dev/shm").glob(f"camdrift-tap.{name}*"):
        leftover.unlink()


def start_producer(name: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "_tap_producer.py"), name], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().startswith("ready")
    return proc


def test_tap_source_survives_producer_kill_and_restart(tap_name):
    src = ReopeningSource(
        open_source(f"shm:{tap_name}"), stall_timeout=5.0, backoff_initial=0.02, backoff_max=0.1
    )
    procs = [start_producer(tap_name)]
    try:

        def read_until(pred, limit=20.0):
            end = time.monotonic() + limit
            events = []
            while time.monotonic() < end:
                frame = src.read(0.2)
                events += src.drain_events()
                if pred(frame, events):
                    return events
            raise AssertionError(f"condition not reached; events {events}")

        read_until(lambda f, ev: f is not None)
        procs[0].kill()
        procs[0].wait(10)
        lost = read_until(lambda f, ev: any(e.kind == "source.lost" for e in ev))
        assert f"pid {procs[0].pid}" in lost[0].reason
        procs.append(start_producer(tap_name))
        restored = read_until(lambda f, ev: f is not None)
        assert [e.kind for e in restored] == ["source.restored"]
    finally:
        src.close()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
            p.stdout.close()


@pytest.mark.parametrize(
    ("uri", "match"),
    [
        ("", "non-empty"),
        ("ftp://cam/stream", "unknown scheme"),
        ("shm:", "tap name"),
        ("shm:../x", "tap name"),
        ("shm:line3?check_pid=maybe", "check_pid must be 0 or 1"),
        ("shm:line3?pid=0", "unknown parameter 'pid'"),
        ("video:", "no file path"),
        ("rtsp://", "no host"),
        ("v4l2:video0", "device path"),
        ("dir:", "no folder path"),
        ("dir:/data?fps=abc", "fps must be a number, got 'abc'"),
        ("dir:/data?fps=0", "fps must be > 0"),
        ("dir:/data?watch=2", "watch must be 0 or 1"),
        ("dir:/data?size=320", "size must be WIDTHxHEIGHT"),
        ("dir:/data?fsp=5", "unknown parameter 'fsp' \\(allowed: fps, pattern, watch, size, poll\\)"),
        ("synthetic:", "no scenario name"),
        ("synthetic:no_such_scenario", "unknown scenario"),
        ("synthetic:gain_step?frames=-1", "frames must be >= 0"),
        ("synthetic:gain_step?seed=1.5", "seed must be an integer"),
        ("synthetic:gain_step?size=10x10", "frame size 10x10"),
    ],
)
def test_uri_errors_name_the_wrong_part(uri, match):
    with pytest.raises(ValueError, match=match):
        open_source(uri)


@pytest.mark.parametrize(
    ("uri", "kind"),
    [
        ("shm:line3", TapReader),
        ("video:/data/x.avi", VideoSource),
        ("rtsp://10.0.0.5/stream1", VideoSource),
        ("https://cam.local/mjpg", VideoSource),
        ("v4l2:/dev/video0", VideoSource),
        ("dir:/data?fps=5&pattern=*.png&watch=1", FolderSource),
        ("synthetic:gain_step?seed=1&fps=5&size=320x240&frames=10", SyntheticSource),
    ],
)
def test_uri_schemes(uri, kind):
    src = open_source(uri)
    assert isinstance(src, kind) and isinstance(src, FrameSource)


def test_pixel_format_not_available_from_video():
    with pytest.raises(ValueError, match="pixel_format must be one of bgr8, rgb8, gray8"):
        open_source("video:/data/x.avi", pixel_format="nv12")
