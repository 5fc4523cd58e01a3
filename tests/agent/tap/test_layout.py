"""The tap segment's layout shared by both sides: where segments live, which names and formats they take."""

from __future__ import annotations

import pytest

from camdrift.agent.frames import PIXEL_FORMATS
from camdrift.agent.tap import segment_path


def test_pixel_formats_match_the_kernels():
    from camdrift.kernels import PIXEL_FORMATS as kernel_formats

    assert PIXEL_FORMATS == kernel_formats


@pytest.mark.parametrize("bad", ["", "../etc", "a/b", ".hidden", "x" * 101])
def test_bad_tap_names_are_refused(bad):
    with pytest.raises(ValueError, match="tap name"):
        segment_path(bad)


def test_segment_lives_in_dev_shm_under_the_documented_name():
    # The systemd units and the README name this file (PrivateDevices=, RemoveIPC=, SupplementaryGroups=).
    assert segment_path("line3") == "/dev/shm/camdrift-tap.line3"
    assert segment_path("line3", directory="/run/test") == "/run/test/camdrift-tap.line3"
