"""Incremental windows: the sliding window of the last N frames and stream-time buckets for slow drift.

Both are updated in O(size of one frame's record) per frame, never by recomputing from scratch, and hold bounded
memory (stated in each class). Integer sums (histogram counts) are exact; float sums are updated by add-new /
subtract-evicted and recomputed from the ring once per wrap (every N updates, so O(1) amortised per element),
which bounds the rounding drift to N additions: the running sums equal the batch sums to ~1e-12 relative.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from camdrift.agent.drift.contract import Section, copy_into, prefixed
from camdrift.agent.drift.features import FrameFeatures


class RingSum:
    """Ring buffer of the last ``size`` arrays of shape ``shape`` and their running sum.

    Memory: ``size * prod(shape) * itemsize`` bytes for the ring plus one sum.
    """

    def __init__(self, size: int, shape: tuple[int, ...], dtype: type = np.float64) -> None:
        if size < 1:
            raise ValueError(f"window size must be >= 1, got {size}")
        self.size = size
        self.buf = np.zeros((size, *shape), dtype=dtype)
        self.sum = np.zeros(shape, dtype=dtype)
        self.pos = 0  # next slot to write
        self.filled = 0

    def update(self, x: np.ndarray) -> RingSum:
        slot = self.buf[self.pos]
        if self.filled == self.size:
            self.sum -= slot
        else:
            self.filled += 1
        slot[...] = x
        self.sum += slot
        self.pos += 1
        if self.pos == self.size:
            self.pos = 0
            if self.buf.dtype.kind == "f":
                # once per wrap: replace the running float sum by the exact ring sum, so rounding cannot drift
                self.sum[...] = self.buf.sum(axis=0)
        return self

    @property
    def nbytes(self) -> int:
        return self.buf.nbytes + self.sum.nbytes

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {"buf": self.buf, "sum": self.sum}

    def state_header(self) -> dict[str, Any]:
        return {"pos": self.pos, "filled": self.filled}

    def restore(self, header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        copy_into("buf", self.buf, arrays["buf"])
        copy_into("sum", self.sum, arrays["sum"])
        self.pos, self.filled = int(header["pos"]), int(header["filled"])


class SlidingWindow:
    """The last ``size`` frames' :class:`FrameFeatures` and their running sums.

    Memory: ``(size + 1) * (8*K*B + 8*S + 8*th*tw + 16*gh*gw)`` bytes (rings plus sums; e.g. N=20, K=4, B=20,
    S=13, 64x64 thumbnails, 8x8 grid: 725,256 B, dominated by the thumbnails).
    """

    def __init__(self, size: int, template: FrameFeatures) -> None:
        self.size = size
        self.rings = FrameFeatures(
            *(RingSum(size, a.shape, np.int64 if a.dtype.kind in "iu" else np.float64) for a in template)
        )

    def update(self, f: FrameFeatures) -> SlidingWindow:
        for ring, x in zip(self.rings, f, strict=True):
            ring.update(x)
        return self

    @property
    def count(self) -> int:
        return self.rings.scalars.filled

    @property
    def full(self) -> bool:
        return self.count == self.size

    def sums(self) -> FrameFeatures:
        """Running sums over the frames in the window (counts exact int64)."""
        return FrameFeatures(*(r.sum for r in self.rings))

    def recent_sums(self, n: int) -> FrameFeatures:
        """Sums over the last ``min(n, count)`` frames (O(n) per call: for evidence, not for every frame)."""
        n = min(n, self.count)
        idx = (self.rings.scalars.pos - 1 - np.arange(n)) % self.size
        return FrameFeatures(*(r.buf[idx].sum(axis=0) for r in self.rings))

    def means(self) -> FrameFeatures:
        """Window means of every field (counts as float64 mean counts per frame)."""
        n = max(self.count, 1)
        return FrameFeatures(*(r.sum / n for r in self.rings))

    @property
    def nbytes(self) -> int:
        return sum(r.nbytes for r in self.rings)

    def state_arrays(self) -> dict[str, np.ndarray]:
        """``<field>.buf`` / ``<field>.sum`` per :class:`FrameFeatures` field (the rings share one position)."""
        out: dict[str, np.ndarray] = {}
        for name, ring in zip(self.rings._fields, self.rings, strict=True):
            out |= prefixed(f"{name}.", ring.state_arrays())
        return out

    def state_header(self) -> dict[str, Any]:
        return self.rings.scalars.state_header()

    def restore(self, header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        for name, ring in zip(self.rings._fields, self.rings, strict=True):
            ring.restore(header, Section(arrays, f"{name}."))


class Bucket(NamedTuple):
    """A closed time bucket: ``index`` = floor(start / width); ``start`` (s, stream time); ``count`` frames;
    ``mean`` (S,) float64 scalar means."""

    index: int
    start: float
    count: int
    mean: np.ndarray


class TimeBuckets:
    """Scalars summed in stream-time buckets of ``width`` seconds, the last ``n_buckets`` of them kept.

    Bucket ``i`` holds frames with ``floor(t / width) == i``. A frame in a new bucket closes the previous one
    (:attr:`closed` after that :meth:`update`); a bucket older than ``n_buckets`` is overwritten. Memory:
    ``n_buckets * (16 + 8*S)`` bytes (minute buckets for 24 h with S=13: 172,800 B; hourly for 30 days: 86,400 B).
    """

    def __init__(self, width: float, n_buckets: int, n_scalars: int) -> None:
        if width <= 0 or n_buckets < 2:
            raise ValueError(f"need width > 0 and n_buckets >= 2, got {width} and {n_buckets}")
        self.width = float(width)
        self.n_buckets = n_buckets
        self.ids = np.full(n_buckets, -(2**62), dtype=np.int64)
        self.counts = np.zeros(n_buckets, dtype=np.int64)
        self.sums = np.zeros((n_buckets, n_scalars), dtype=np.float64)
        self.current = -(2**62)
        self.closed: Bucket | None = None  # the bucket the last update closed

    def update(self, t: float, x: np.ndarray) -> TimeBuckets:
        """Add scalars ``x`` (S,) observed at stream time ``t`` (s); :attr:`closed` is the bucket it closed."""
        b = int(np.floor(t / self.width))
        if b < self.current:
            raise ValueError(
                f"stream time {t} s goes back before bucket {self.current} (times must not decrease)"
            )
        closed = None
        if b != self.current:
            if self.current > -(2**62):
                closed = self.bucket(self.current)
            slot = b % self.n_buckets
            self.ids[slot] = b
            self.counts[slot] = 0
            self.sums[slot] = 0.0
            self.current = b
        slot = b % self.n_buckets
        self.counts[slot] += 1
        self.sums[slot] += x
        self.closed = closed
        return self

    def bucket(self, index: int) -> Bucket | None:
        slot = index % self.n_buckets
        if self.ids[slot] != index or self.counts[slot] == 0:
            return None
        n = int(self.counts[slot])
        return Bucket(index, index * self.width, n, self.sums[slot] / n)

    def series(self, include_current: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Live buckets in time order: (start times (n,) s, counts (n,), means (n, S))."""
        last = self.current if include_current else self.current - 1
        live = (self.ids > self.current - self.n_buckets) & (self.ids <= last) & (self.counts > 0)
        order = np.argsort(self.ids[live])
        ids = self.ids[live][order]
        counts = self.counts[live][order]
        means = self.sums[live][order] / counts[:, None]
        return ids * self.width, counts, means

    @property
    def nbytes(self) -> int:
        return self.ids.nbytes + self.counts.nbytes + self.sums.nbytes

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {"ids": self.ids, "counts": self.counts, "sums": self.sums}

    def state_header(self) -> dict[str, Any]:
        return {"current": int(self.current)}

    def restore(self, header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        for name, dst in self.state_arrays().items():
            copy_into(name, dst, arrays[name])
        self.current = int(header["current"])
        self.closed = None
