"""The producer side of the frame tap (FrameTap, in the app): cheap offers, restarts, permissions, growth."""

from __future__ import annotations

import grp
import os
import select
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from camdrift.agent.tap import FrameTap, TapReader
from tests.agent.tap.helpers import pattern


def test_producer_side_imports_neither_numba_nor_opencv():
    code = "import sys, camdrift.agent.tap; print(sorted({'numba', 'cv2'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


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
            assert select.select([reader_proc.stdout], [], [], 0)[0], "the reader got no 2 frames in 20 s"
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
            assert frame.flag.reason == "operator corrected false positive" and frame.stream_time == 2.0
            assert (frame.image == 2).all() and reader.flags_overwritten == 1
            assert reader.read(0.02) is None  # taken once; no frame offered
        with TapReader(name) as restarted:
            assert restarted.read(0.02) is None  # a restarted reader does not take the same flag again
            tap.flag(np.full((8, 8), 3, np.uint8), "é" * 40)  # 80 bytes of UTF-8: cut at 64, whole characters
            assert (
                restarted.read(0.05).flag.reason == "é" * 40
            )  # the note carries it whole (200 characters max)
    assert tap.flags == 3


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


def _as_nobody(name: str, group: str) -> str:
    """What FrameTap(name, group=group) says in a forked child that runs as nobody:nogroup (no other groups)."""
    import pwd

    nobody = pwd.getpwnam("nobody")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop root, try, report through the pipe, never return into pytest
        try:
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            from camdrift.agent.tap import TapGroupError

            try:
                FrameTap(name, group=group).close()
                msg = "accepted"
            except TapGroupError as exc:
                msg = f"refused: {exc}"
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            msg = f"error: {type(exc).__name__}: {exc}"
        os.write(w, msg.encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        out = f.read().decode()
    os.waitpid(pid, 0)
    return out


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_a_group_the_app_user_is_not_in_is_refused_naming_it_and_the_fix(name):
    """README's snippet in an app whose user is not (yet) in camdrift-tap: a clear error, not a bare
    PermissionError from fchown, and no segment left behind."""
    other = next(g for g in grp.getgrall() if g.gr_name not in ("root", "nogroup") and g.gr_gid != 0)
    out = _as_nobody(name, other.gr_name)
    assert out.startswith("refused: ") and f"not in group {other.gr_name!r}" in out, out
    assert f"usermod -aG {other.gr_name}" in out
    assert not [p for p in os.listdir("/dev/shm") if p.startswith(f"camdrift-tap.{name}")]


def test_an_offer_the_app_got_wrong_leaves_the_agents_request_open(name):
    frame = np.full((8, 8), 5, np.uint8)
    with FrameTap(name, pixel_format="gray8") as tap, TapReader(name) as reader:
        assert reader.read(0.0) is None  # the agent asks for a frame
        with pytest.raises(ValueError, match="probs"):
            tap.offer(frame, ts=1.0, outputs={"probs": [np.nan, 1.0]})
        with pytest.raises(TypeError, match="frame must be"):
            tap.offer("not an image", ts=1.1)
        assert tap.offer(frame, ts=1.2)  # the next good offer serves the same request at once
        got = reader.read(0.05)
        assert got is not None and got.stream_time == 1.2
