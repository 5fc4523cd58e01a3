"""Image folders: bad files skipped with their reasons, patterns, sizes, gray16, watch mode and reopens."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from camdrift.agent.frames import SourceEnded, SourceError
from camdrift.agent.sources import FolderSource, ReopeningSource, open_source
from tests.agent.sources.helpers import H, W, shifted


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


def _small_pngs(d: Path, names: range) -> None:
    for k in names:
        cv2.imwrite(str(d / f"f_{k:03d}.png"), np.full((8, 8), k, np.uint8))


def _run(src: ReopeningSource, seconds: float) -> tuple[list, list[str]]:
    """Reads for ``seconds``: the frames and the kinds of the events."""
    frames, kinds = [], []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if (frame := src.read(0.02)) is not None:
            frames.append(frame)
        kinds += [ev.kind for ev in src.drain_events()]
    return frames, kinds


def test_watched_folder_waiting_for_new_files_is_not_lost(tmp_path):
    _small_pngs(tmp_path, range(5))
    src = ReopeningSource(open_source(f"dir:{tmp_path}?fps=10&watch=1&poll=0.02"), stall_timeout=0.3)
    src.open()
    frames, kinds = _run(src, 1.0)  # three stall timeouts without a new file
    assert [f.frame_index for f in frames] == [0, 1, 2, 3, 4]  # each file exactly once
    assert [int(f.image[0, 0, 0]) for f in frames] == [0, 1, 2, 3, 4]
    assert kinds == [] and src.lost_reason is None and src.reopen_attempts == 1
    _small_pngs(tmp_path, range(5, 6))
    frames, _ = _run(src, 0.3)
    assert [f.frame_index for f in frames] == [5]


def test_reopened_folder_delivers_only_new_files(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    _small_pngs(d, range(3))
    src = ReopeningSource(
        open_source(f"dir:{d}?fps=10&watch=1&poll=0.02"),
        stall_timeout=0.3,
        backoff_initial=0.02,
        backoff_max=0.05,
    )
    src.open()
    assert [f.frame_index for f in _run(src, 0.2)[0]] == [0, 1, 2]
    d.rename(tmp_path / "away")  # the folder vanishes: that is a lost source
    frames, kinds = _run(src, 0.2)
    assert (frames, kinds) == ([], ["source.lost"])
    (tmp_path / "away").rename(d)
    _small_pngs(d, range(3, 5))
    frames, kinds = _run(src, 0.3)
    assert [(f.frame_index, f.stream_time) for f in frames] == [(3, 0.3), (4, 0.4)]
    assert [int(f.image[0, 0, 0]) for f in frames] == [3, 4]
    assert kinds == ["source.restored"] and src.losses == 1


def test_folder_close_and_open_resumes_after_the_files_taken(tmp_path):
    _small_pngs(tmp_path, range(2))
    src = FolderSource(str(tmp_path), pixel_format="gray8")
    src.open()
    assert [src.read(0.1).frame_index for _ in range(2)] == [0, 1]
    src.close()
    _small_pngs(tmp_path, range(2, 3))
    src.open()
    assert src.read(0.1).frame_index == 2
    with pytest.raises(SourceEnded):
        src.read(0.1)
