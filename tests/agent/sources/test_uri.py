"""open_source: each scheme builds its source; a wrong URI names the part that is wrong."""

from __future__ import annotations

import pytest

from camdrift.agent.sources import FolderSource, SyntheticSource, VideoSource, open_source
from camdrift.agent.sources.base import FrameSource
from camdrift.agent.tap import TapReader


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
