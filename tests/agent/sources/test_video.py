"""OpenCV sources: real video files and a real HTTP stream that ends (a dropping camera)."""

from __future__ import annotations

import functools
import http.server
import threading
import time

import numpy as np
import pytest

from camdrift.agent.frames import SourceEnded
from camdrift.agent.sources import ReopeningSource, VideoSource, open_source
from camdrift.agent.sources.base import FrameSource
from tests.agent.sources.helpers import H, W, shifted


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


def test_pixel_format_not_available_from_video():
    with pytest.raises(ValueError, match="pixel_format must be one of bgr8, rgb8, gray8"):
        open_source("video:/data/x.avi", pixel_format="nv12")
