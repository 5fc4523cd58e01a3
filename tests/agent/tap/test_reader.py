"""The frame tap across real processes: intact frames, no torn reads, restarts of either side, rejections."""

from __future__ import annotations

import grp
import os
import select
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from camdrift.agent.frames import PIXEL_FORMATS, SourceError
from camdrift.agent.tap import FrameTap, TapReader, layout, segment_path
from camdrift.agent.tap import reader as reader_module

HERE = Path(__file__).parents[1]  # tests/agent: the shared _tap_producer.py
sys.path.insert(0, str(HERE))
from _tap_producer import pattern  # noqa: E402


@pytest.fixture
def name():
    n = f"test-{uuid.uuid4().hex[:12]}"
    yield n
    for leftover in Path("/dev/shm").glob(f"camdrift-tap.{n}*"):
        leftover.unlink()


class Producers:
    """Starts _tap_producer.py processes and makes sure none outlives the test."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, name: str, *args: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "_tap_producer.py"), name, *args],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.procs.append(proc)
        line = proc.stdout.readline()
        assert line.startswith("ready"), f"producer did not start: {line!r}"
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)  # reaped, so its pid no longer exists

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                self.kill(proc)
            proc.stdout.close()


@pytest.fixture
def producers():
    p = Producers()
    yield p
    p.stop_all()


def read_frames(reader: TapReader, n: int, limit_s: float = 20.0) -> list:
    frames = []
    end = time.monotonic() + limit_s
    while len(frames) < n and time.monotonic() < end:
        frame = reader.read(0.5)
        if frame is not None:
            frames.append(frame)
    assert len(frames) == n, f"got {len(frames)} of {n} frames"
    return frames


def test_pixel_formats_match_the_kernels():
    from camdrift.kernels import PIXEL_FORMATS as kernel_formats

    assert PIXEL_FORMATS == kernel_formats


def test_producer_side_imports_neither_numba_nor_opencv():
    code = "import sys, camdrift.agent.tap; print(sorted({'numba', 'cv2'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_frames_from_another_process_arrive_intact(name, producers):
    producers.start(name, "--shape", "48x64x3")
    with TapReader(name, pixel_format="bgr8") as reader:
        frames = read_frames(reader, 15)
    indices = [f.frame_index for f in frames]
    assert indices == sorted(set(indices))
    for f in frames:
        k = f.frame_index
        assert f.pixel_format == "bgr8" and f.flag is None
        np.testing.assert_array_equal(f.image, pattern(k, (48, 64, 3)))
        assert f.stream_time == pytest.approx(k / 100)
        np.testing.assert_array_equal(f.activations, np.array([k, k + 1, k + 2], np.float32))
    assert reader.counters.frames_read == 15 and reader.counters.frames_rejected == 0


def test_torn_writes_never_surface(name, producers):
    # The flag slot is written on every iteration regardless of the reader, so copies race with writes.
    producers.start(name, "--shape", "240x320x3", "--flag-every", "1", "--interval", "0")
    with TapReader(name) as reader:
        end = time.monotonic() + 2.0
        seen = 0
        while time.monotonic() < end:
            f = reader.read(0.2)
            if f is None:
                continue
            seen += 1
            k = f.frame_index
            if f.flag is not None:
                assert f.flag == f"k={k}"
            np.testing.assert_array_equal(f.image, pattern(k, (240, 320, 3)))
            assert f.stream_time == pytest.approx(k / 100)
        assert seen > 10 and reader.flags_read > 0


def test_odd_sequence_is_never_delivered(name):
    # A producer frozen mid-write (seq odd, e.g. killed while copying) must never hand out its half frame.
    with FrameTap(name, pixel_format="gray8", capacity=4096) as tap, TapReader(name) as reader:
        assert reader.read(0.0) is None  # raises the want word
        tap.offer(np.full((8, 8), 7, np.uint8), ts=1.0)
        seq_word = layout.SLOT_WORDS[layout.FRAME] + layout.S_SEQ
        tap._seg.words[seq_word] += 1  # odd: "writing"
        assert reader.read(0.05) is None
        tap._seg.words[seq_word] += 1
        frame = reader.read(0.05)
        assert frame is not None and frame.stream_time == 1.0


def test_write_during_copy_is_discarded_and_retried(name, monkeypatch):
    # Deterministic version of the race: the producer flags a new frame while the reader is copying the old one.
    with FrameTap(name, pixel_format="gray8", capacity=4096) as tap, TapReader(name) as reader:
        tap.flag(np.full((8, 8), 1, np.uint8), "first", ts=1.0)
        real_frombuffer = np.frombuffer
        calls = []

        def frombuffer_racing_producer(*args, **kwargs):
            view = real_frombuffer(*args, **kwargs)
            if not calls:
                calls.append(1)
                tap.flag(np.full((8, 8), 2, np.uint8), "second", ts=2.0)
            return view

        monkeypatch.setattr(reader_module.np, "frombuffer", frombuffer_racing_producer)
        frame = reader.read(0.05)
        monkeypatch.undo()
    assert reader.torn_reads == 1
    assert frame.flag == "second" and frame.stream_time == 2.0 and (frame.image == 2).all()


def test_producer_killed_and_restarted_reader_recovers(name, producers):
    first = producers.start(name)
    reader = TapReader(name)
    reader.open()
    read_frames(reader, 3)
    generation = reader.generation
    producers.kill(first)
    with pytest.raises(SourceError, match=f"pid {first.pid}"):
        end = time.monotonic() + 10
        while time.monotonic() < end:
            reader.read(0.2)
    with pytest.raises(SourceError, match="has exited"):
        reader.open()  # the stale segment is refused, not read
    second = producers.start(name)
    reader.open()  # the new producer replaced the stale segment
    frames = read_frames(reader, 3)
    assert reader.generation != generation
    assert reader._seg.words[layout.W_PID] == second.pid
    assert all(np.array_equal(f.image, pattern(f.frame_index, (48, 64, 3))) for f in frames)
    reader.close()


def test_reader_reattaches_when_producer_replaces_segment_under_it(name, producers):
    first = producers.start(name)
    with TapReader(name, check_pid=False) as reader:
        read_frames(reader, 2)
        producers.kill(first)
        producers.start(name)
        read_frames(reader, 2)
        assert reader.reattaches == 1


READER_CODE = """
import sys, time
from camdrift.agent.tap import TapReader
r = TapReader(sys.argv[1]); r.open()
n = 0
while n < 2:
    n += r.read(1.0) is not None
print("got 2", flush=True)
r.read(30.0)  # killed while waiting, with its request raised
"""


def test_reader_killed_and_restarted_producer_unaffected(name):
    with FrameTap(name, pixel_format="bgr8") as tap:
        reader_proc = subprocess.Popen(
            [sys.executable, "-c", READER_CODE, name], stdout=subprocess.PIPE, text=True
        )
        k = 0
        end = time.monotonic() + 20
        try:
            # Offer frames until the reader has taken two, then kill it while its next request is raised.
            while not select.select([reader_proc.stdout], [], [], 0)[0] and time.monotonic() < end:
                tap.offer(pattern(k, (48, 64, 3)), ts=k)
                k += 1
                time.sleep(0.002)
            assert reader_proc.stdout.readline().strip() == "got 2"
            time.sleep(0.1)
            reader_proc.send_signal(signal.SIGKILL)
            reader_proc.wait(10)
        finally:
            if reader_proc.poll() is None:
                reader_proc.kill()
                reader_proc.wait(10)
            reader_proc.stdout.close()
        copied = tap.frames_copied
        for _ in range(100):  # nobody asks any more: offers return without copying
            tap.offer(pattern(k, (48, 64, 3)), ts=k)
            k += 1
        assert tap.frames_copied <= copied + 1
        with TapReader(name) as reader:
            assert reader.read(0.0) is None
            tap.offer(pattern(k, (48, 64, 3)), ts=k)
            frame = reader.read(1.0)
        assert frame is not None and frame.frame_index == k
        np.testing.assert_array_equal(frame.image, pattern(k, (48, 64, 3)))


def test_wrong_shape_and_dtype_are_counted_not_fatal(name, caplog):
    good = np.zeros((32, 32), np.uint8)
    with FrameTap(name, pixel_format="gray8", capacity=32 * 32 * 8) as tap, TapReader(name) as reader:
        for bad in (
            np.zeros((32, 32, 3), np.uint8),
            np.zeros((32, 32), np.uint16),
            np.zeros((32, 32), np.float32),
        ):
            reader.read(0.0)
            assert tap.offer(bad)
            assert reader.read(0.05) is None
        reader.read(0.0)
        tap.offer(good, ts=5.0)
        frame = reader.read(0.05)
    assert frame is not None and frame.stream_time == 5.0
    c = reader.counters
    assert c.frames_rejected == 3 and c.frames_read == 1
    assert c.rejected == {"wrong_shape": 1, "wrong_dtype": 2}
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2  # once per reason
    assert any("gray8 needs dtype uint8, got uint16" in m for m in warnings)


def test_declared_format_must_match_the_agent(name):
    with FrameTap(name, pixel_format="rgb8") as tap, TapReader(name, pixel_format="bgr8") as reader:
        reader.read(0.0)
        tap.offer(np.zeros((8, 8, 3), np.uint8))
        assert reader.read(0.05) is None
    assert reader.counters.rejected == {"format_mismatch": 1}


def test_larger_frame_grows_the_segment(name):
    small, big = np.ones((16, 16, 3), np.uint8), np.full((200, 300, 3), 9, np.uint8)
    with FrameTap(name, capacity=small.nbytes) as tap, TapReader(name) as reader:
        generation = reader.generation
        reader.read(0.0)
        tap.offer(big)  # copied into a new, larger segment
        assert reader.read(0.05) is None  # the reader reattaches and asks again
        tap.offer(big, ts=2.0)
        frame = reader.read(0.05)
        assert reader.generation != generation and reader.reattaches == 1
    np.testing.assert_array_equal(frame.image, big)


def test_segment_mode_and_group_as_configured(name):
    other = next(g for g in grp.getgrall() if g.gr_gid != os.getgid())
    old_umask = os.umask(0o077)  # a strict umask must not change the chosen mode
    try:
        with FrameTap(name, mode=0o640, group=other.gr_name) as tap:
            st = os.stat(tap.path)
            assert (st.st_mode & 0o777, st.st_gid) == (0o640, other.gr_gid)
        with FrameTap(name) as tap:
            st = os.stat(tap.path)
            assert (st.st_mode & 0o777, st.st_gid) == (0o660, os.getgid())
    finally:
        os.umask(old_umask)
    with pytest.raises(ValueError, match="group 'no-such-group-x' does not exist"):
        FrameTap(name, group="no-such-group-x")
    with pytest.raises(ValueError, match="mode"):
        FrameTap(name, mode=0o1777)


def test_flag_slot_latest_wins_and_is_taken_once(name):
    with FrameTap(name, pixel_format="gray8") as tap:
        with TapReader(name) as reader:
            tap.flag(np.full((8, 8), 1, np.uint8), "low confidence", ts=1.0)
            tap.flag(np.full((8, 8), 2, np.uint8), "operator corrected false positive", ts=2.0)
            frame = reader.read(0.05)
            assert frame.flag == "operator corrected false positive" and frame.stream_time == 2.0
            assert (frame.image == 2).all() and reader.flags_overwritten == 1
            assert reader.read(0.02) is None  # taken once; no frame offered
        with TapReader(name) as restarted:
            assert restarted.read(0.02) is None  # a restarted reader does not take the same flag again
            tap.flag(np.full((8, 8), 3, np.uint8), "é" * 40)  # 80 bytes of UTF-8: cut at 64, whole characters
            assert restarted.read(0.05).flag == "é" * 32
    assert tap.flags == 3


def test_request_interval_spares_the_app_copies(name):
    with FrameTap(name, pixel_format="gray8") as tap, TapReader(name, request_interval=3600.0) as reader:
        assert reader.read(0.0) is None  # first request
        assert tap.offer(np.zeros((4, 4), np.uint8))
        assert reader.read(0.01) is not None
        assert reader.read(0.01) is None  # no second request within the interval...
        assert not tap.offer(np.zeros((4, 4), np.uint8))  # ...so the app copies nothing
        tap.flag(np.ones((4, 4), np.uint8), "low confidence")
        assert reader.read(0.01).flag == "low confidence"  # flags are not held back
        reader.request_interval = 0.0
        assert reader.read(0.0) is None and tap.offer(np.zeros((4, 4), np.uint8))


def test_deleted_segment_is_made_again_by_the_producer(name):
    # A tmp cleaner or RemoveIPC= may delete the file under a running app: offer() notices within 256 calls.
    with FrameTap(name, pixel_format="gray8") as tap:
        os.unlink(tap.path)
        for _ in range(256):
            tap.offer(np.zeros((4, 4), np.uint8))
        assert os.path.exists(tap.path) and tap.recreated == 1
        with TapReader(name) as reader:
            reader.read(0.0)
            tap.offer(np.full((4, 4), 5, np.uint8), ts=3.0)
            assert reader.read(0.05).stream_time == 3.0


def test_closed_or_missing_tap_raises_source_error(name):
    with pytest.raises(SourceError, match="no tap segment"):
        TapReader(name).open()
    tap = FrameTap(name)
    reader = TapReader(name)
    reader.open()
    tap.close()
    with pytest.raises(SourceError, match="removed"):
        reader.read(0.01)
    reader.close()
    Path(segment_path(name)).write_bytes(b"\0" * 8192)
    with pytest.raises(SourceError, match="bad magic"):
        TapReader(name).open()


@pytest.mark.parametrize("bad", ["", "../etc", "a/b", ".hidden", "x" * 101])
def test_bad_tap_names_are_refused(bad):
    with pytest.raises(ValueError, match="tap name"):
        segment_path(bad)
