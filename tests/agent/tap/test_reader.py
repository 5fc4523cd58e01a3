"""The reader side of the frame tap (TapReader, in the agent): intact frames across real processes, no torn
reads, restarts of the producer, rejections counted."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from camdrift.agent.frames import SourceError
from camdrift.agent.runtime.sampler import CpuBudget, FrameSampler
from camdrift.agent.sources.reopen import ReopeningSource
from camdrift.agent.tap import FrameTap, TapReader, layout, segment_path
from camdrift.agent.tap import slot as slot_module
from tests.agent.tap.helpers import pattern, read_frames


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
                assert f.flag.reason == f"k={k}"
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

        monkeypatch.setattr(slot_module.np, "frombuffer", frombuffer_racing_producer)
        frame = reader.read(0.05)
        monkeypatch.undo()
    assert reader.torn_reads == 1
    assert frame.flag.reason == "second" and frame.stream_time == 2.0 and (frame.image == 2).all()


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


def test_request_interval_spares_the_app_copies(name):
    with FrameTap(name, pixel_format="gray8") as tap, TapReader(name, request_interval=3600.0) as reader:
        assert reader.read(0.0) is None  # first request
        assert tap.offer(np.zeros((4, 4), np.uint8))
        assert reader.read(0.01) is not None
        assert reader.read(0.01) is None  # no second request within the interval...
        assert not tap.offer(np.zeros((4, 4), np.uint8))  # ...so the app copies nothing
        tap.flag(np.ones((4, 4), np.uint8), "low confidence")
        assert reader.read(0.01).flag.reason == "low confidence"  # flags are not held back
        reader.request_interval = 0.0
        assert reader.read(0.0) is None and tap.offer(np.zeros((4, 4), np.uint8))


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


def test_request_interval_is_set_by_the_agent_and_checked(name):
    with pytest.raises(ValueError, match="request_interval"):
        TapReader(name, request_interval=-1.0)
    with FrameTap(name, pixel_format="gray8") as tap, TapReader(name) as reader:
        reader.set_request_interval(3600.0)  # the daemon's 1 / sampler.fps
        assert reader.read(0.0) is None and tap.offer(np.zeros((4, 4), np.uint8))
        assert reader.read(0.01) is not None
        assert reader.read(0.01) is None and not tap.offer(np.zeros((4, 4), np.uint8))
        for bad in (-0.1, float("nan")):
            with pytest.raises(ValueError, match="request_interval"):
                reader.set_request_interval(bad)
        assert reader.request_interval == 3600.0


def _copies(tap: FrameTap, reader, seconds: float) -> list[float]:
    """The app offers a frame every ~5 ms for ``seconds`` while the agent reads: the times of the copies made."""
    image = np.zeros((4, 4), np.uint8)
    made = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if tap.offer(image):
            made.append(time.monotonic())
        reader.read(0.0)
        time.sleep(0.005)
    return made


def test_the_app_copies_only_the_frames_the_sampler_will_take(name):
    """Over budget the sampler halves its rate and the tap asks the app for half as many copies; back within
    budget it asks for more again (seen from the app's side: which offers are copied)."""
    cpu, wall = [0.0], [0.0]
    budget = CpuBudget(0.15, window=1.0, cpu_clock=lambda: cpu[0], wall_clock=lambda: wall[0])
    sampler = FrameSampler(8.0, budget=budget, max_stride_factor=1, min_fps=1.0, recover_after=0.0)
    with FrameTap(name, pixel_format="gray8") as tap, TapReader(name) as reader:
        sampler.follow(reader.set_request_interval)
        assert sampler.offer(0.0) and not sampler.offer(0.01)  # the first frame; the budget runs from here
        fast = _copies(tap, reader, 1.0)
        for _ in range(2):  # two windows over budget: 8 -> 4 -> 2 fps
            wall[0] += 1.0
            cpu[0] += 1.0
            sampler.update()
        assert sampler.fps == 2.0 and reader.request_interval == 0.5
        slow = _copies(tap, reader, 1.6)
        for _ in range(2):  # calm again: 2 -> 4 -> 8 fps
            wall[0] += 1.0
            sampler.update()
        again = _copies(tap, reader, 1.0)
    assert len(fast) >= 5 and len(again) >= 5  # 8 a second asked for
    assert 2 <= len(slow) <= 4 and all(b - a >= 0.45 for a, b in zip(slow, slow[1:], strict=False))


def test_a_re_created_segment_is_attached_within_a_second(name):
    """The app restarts: its old segment is retired, and the new one appears after the agent's backoff has
    grown to seconds. The reader sees the new segment and re-attaches at once, not when the backoff ends."""
    image = np.zeros((4, 4), np.uint8)
    first = FrameTap(name, pixel_format="gray8")
    source = ReopeningSource(TapReader(name), backoff_initial=4.0, backoff_max=30.0)
    source.open()
    source.read(0.0)
    assert first.offer(image) and source.read(0.1) is not None
    first.close()
    end = time.monotonic() + 1.0
    while source.lost_reason is None and time.monotonic() < end:
        source.read(0.05)
    assert source.lost_reason is not None  # lost: the next regular attempt is 4 s away
    with FrameTap(name, pixel_format="gray8") as second:
        created = time.monotonic()
        frame = None
        while frame is None and time.monotonic() < created + 3.0:
            frame = source.read(0.05)
            second.offer(image)
        assert frame is not None and time.monotonic() - created < 1.0
        assert [e.kind for e in source.drain_events()] == ["source.lost", "source.restored"]
    source.close()


def test_a_tool_beside_the_agent_leaves_the_flags_to_it(name):
    with FrameTap(name, pixel_format="gray8") as tap, TapReader(name, take_flags=False) as tool:
        tap.flag(np.ones((4, 4), np.uint8), "false_positive", ts=1.0)
        assert tool.read(0.0) is None  # the tool asks for a frame, and does not take the flag
        assert tap.offer(np.zeros((4, 4), np.uint8), ts=2.0)
        got = tool.read(0.05)
        assert got is not None and got.flag is None and tool.flags_read == 0
        with TapReader(name) as agent:
            flagged = agent.read(0.05)
        assert flagged is not None and flagged.flag.reason == "false_positive" and flagged.stream_time == 1.0
