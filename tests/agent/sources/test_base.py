"""The FrameSource protocol: every kind of source offers what the daemon uses, the request-interval hook too."""

from __future__ import annotations

import pytest

from camdrift.agent.runtime.inprocess import Mailbox
from camdrift.agent.sources import ReopeningSource, open_source
from camdrift.agent.sources.base import FrameSource
from camdrift.agent.tap import TapReader

URIS = (
    "shm:line3",
    "video:/data/x.avi",
    "rtsp://10.0.0.5/stream1",
    "v4l2:/dev/video0",
    "dir:/data?fps=5",
    "synthetic:gain_step?frames=10",
)


@pytest.mark.parametrize("uri", URIS)
def test_every_source_is_a_frame_source(uri):
    src = open_source(uri)
    assert isinstance(src, FrameSource)
    assert isinstance(ReopeningSource(src), FrameSource)


def test_the_in_process_mailbox_is_a_frame_source():
    assert isinstance(Mailbox("bgr8"), FrameSource)


def test_the_tap_asks_for_frames_at_the_interval_it_is_given():
    reader = TapReader("line3")
    reader.set_request_interval(0.2)  # the daemon: one frame request per analysis period
    assert reader.request_interval == 0.2
    with pytest.raises(ValueError, match="request_interval must be >= 0 s"):
        reader.set_request_interval(-1.0)


def test_a_source_that_reads_on_its_own_ignores_the_interval():
    src = open_source("synthetic:gain_step?frames=3&fps=5&size=96x64")
    src.set_request_interval(3600.0)  # would starve a tap; a rendered scenario keeps its own pace
    src.open()
    assert [src.read(0.1).stream_time for _ in range(3)] == pytest.approx([0.0, 0.2, 0.4])
