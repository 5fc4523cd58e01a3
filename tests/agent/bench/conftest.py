"""Bench tests run on tiny frames from a tiny pool, and leave the process's thread settings as they were."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numba
import pytest

from camdrift.agent.bench import frame_kernels


@pytest.fixture
def small_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two frames per size instead of enough to exceed the cache (the figures are not the point here)."""
    original = frame_kernels.frame_pool
    monkeypatch.setattr(frame_kernels, "frame_pool", lambda w, h: original(w, h, min_bytes=0))


@pytest.fixture
def restore_threads() -> Iterator[None]:
    """``camdrift bench`` pins OpenCV and numba to one thread; other tests keep theirs."""
    cv_threads, numba_threads = cv2.getNumThreads(), numba.get_num_threads()
    yield
    cv2.setNumThreads(cv_threads)
    numba.set_num_threads(numba_threads)
