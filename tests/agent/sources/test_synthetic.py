"""Synthetic scenarios as a source: deterministic in their seed."""

from __future__ import annotations

import numpy as np
import pytest

from camdrift.agent.frames import SourceEnded
from camdrift.agent.sources import open_source


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
