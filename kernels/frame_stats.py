"""Per-frame statistics in one fused pass: :func:`frame_stats` -> :class:`FrameStats`.

Units: "DN8" are 8-bit digital numbers (0..255). 16-bit grey frames with a declared bit depth ``d`` are put on the
same scale by dividing by ``2**(d-8)`` (so a 12-bit value 4095 is 255.94 DN8), and their histogram bin is
``value >> (d-8)``. Histograms have 256 bins of width 1 DN8; bin ``k`` holds values in the half-open ``[k, k+1)``.
"""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from camdrift.kernels._checks import check_int
from camdrift.kernels._frame_pass import (
    _bgr_pass,
    _grey_strided,
    _nv12_strided,
    _touch_bytes,
)
from camdrift.kernels.pixel_formats import image_problem


class Roi(NamedTuple):
    """Rectangle in frame pixels: columns ``x..x+w``, rows ``y..y+h`` (for NV12, in luma-plane pixels)."""

    x: int
    y: int
    w: int
    h: int


class FrameStats(NamedTuple):
    """Statistics of the sampled pixels of one frame (inside the ROI, at the given stride).

    channel_hist: (C, 256) int64 counts; C = 3 in B, G, R order for colour formats (whatever the input order),
        C = 1 (the luma) for grey formats.
    luma_hist: (256,) int64 counts of BT.601 integer luma (cv2 BGR2GRAY), the grey value, or NV12's Y plane.
    pixel_count: number of sampled pixels; every histogram row sums to it.
    mean, var: (C,) float64 per-channel mean (DN8) and population variance (DN8^2).
    luma_mean, luma_var: float, DN8 and DN8^2.
    under_exposed, over_exposed: fractions of sampled pixels whose luma is <= / >= the thresholds (DN8).
    sharpness: variance of the 4-neighbour Laplacian of luma over the interior points of the sampled grid (DN8^2;
        at stride s the neighbours are s pixels away); 0 if none.
    noise_sigma: Immerkaer's (1996) noise standard deviation estimate (DN8); 0 if no interior pixel.
    thumbnail: (th, tw) float32 area-averaged luma (DN8); th = min(thumb_h, sampled rows), likewise tw.
    grid_sharpness: (gh, gw) float64 Laplacian variance per cell (DN8^2), 0 for a cell without interior pixels;
        gh = min(grid, sampled rows), likewise gw.
    rg, bg: mean R / mean G and mean B / mean G (1.0 for grey formats, 0.0 when the green mean is 0).
    """

    channel_hist: np.ndarray
    luma_hist: np.ndarray
    pixel_count: int
    mean: np.ndarray
    var: np.ndarray
    luma_mean: float
    luma_var: float
    under_exposed: float
    over_exposed: float
    sharpness: float
    noise_sigma: float
    thumbnail: np.ndarray
    grid_sharpness: np.ndarray
    rg: float
    bg: float


# What a stride > 1 computes. v1: the Laplacian and noise used each sampled pixel's full-resolution neighbours;
# v2: they are taken on the sampled grid (neighbours ``stride`` pixels away). Stride 1 is the same in both.
KERNEL_VERSION = 2


def _int_tuple(value: object) -> tuple[int, ...] | None:
    """None, or a tuple of Python ints (numpy integers and JSON lists accepted; a float raises TypeError)."""
    return None if value is None else tuple(operator.index(v) for v in value)


@dataclass(frozen=True)
class KernelParams:
    """How frames are analysed: the inputs of :func:`frame_stats` and the frames they were fixed for.

    A baseline records them (``baseline.kernel``) and live frames are analysed with the same ones, because each
    changes the statistics the thresholds were calibrated on. pixel_format: one of ``PIXEL_FORMATS``; roi:
    (x, y, w, h) px or None (the whole frame); stride: every ``stride``-th pixel in both directions; thumb_size:
    (th, tw) thumbnail cells; grid: G for the G x G sharpness grid; under_threshold, over_threshold: exposure
    limits (DN8); resolution: (w, h) px of the frames the parameters were fixed for (NV12: the luma plane), or
    None while not known yet (before a capture's first frame). Sequences are stored as tuples of ints.
    """

    pixel_format: str = "bgr8"
    roi: tuple[int, int, int, int] | None = None
    stride: int = 1
    thumb_size: tuple[int, int] = (64, 64)
    grid: int = 8
    under_threshold: int = 5
    over_threshold: int = 250
    resolution: tuple[int, int] | None = None
    kernel_version: int = KERNEL_VERSION

    def __post_init__(self) -> None:
        for name in ("roi", "thumb_size", "resolution"):
            object.__setattr__(self, name, _int_tuple(getattr(self, name)))
        object.__setattr__(self, "kernel_version", operator.index(self.kernel_version))

    def stats(self, image: np.ndarray) -> FrameStats:
        """:func:`frame_stats` of ``image`` with these parameters (raises as it does for an unfit image)."""
        return frame_stats(
            image,
            pixel_format=self.pixel_format,
            roi=self.roi,
            stride=self.stride,
            thumb_size=self.thumb_size,
            grid=self.grid,
            under_threshold=self.under_threshold,
            over_threshold=self.over_threshold,
        )

    @classmethod
    def from_header(cls, header: Mapping[str, Any]) -> KernelParams:
        """The parameters stored as a file header's keys (raises KeyError for a missing one).

        A header without ``kernel_version`` was written before it existed: version 1. A version-1 record at
        stride 1 computes exactly what version 2 does, so it is read as the current version.
        """
        fields = {f.name: header[f.name] for f in dataclasses.fields(cls) if f.name != "kernel_version"}
        version = header.get("kernel_version", 1)
        if version == 1 and fields["stride"] == 1:
            version = KERNEL_VERSION
        return cls(**fields, kernel_version=version)

    def header_fields(self) -> dict[str, Any]:
        """Every field by name, for a file header; ``kernel_version`` only where it matters (stride > 1), so a
        stride-1 record reads and hashes exactly as it did before the version existed."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if self.stride == 1:
            del fields["kernel_version"]
        return fields

    def outdated(self) -> str | None:
        """Why statistics made with these parameters cannot be compared with this kernel's, or None if they can."""
        if self.kernel_version == KERNEL_VERSION:
            return None
        return (
            f"recalibrate: made with kernel v{self.kernel_version} stride {self.stride}, and this camdrift computes"
            f" stride-{self.stride} statistics with kernel v{KERNEL_VERSION} (sharpness and noise on the sampled"
            " grid)"
        )

    def with_resolution(self, resolution: tuple[int, int]) -> KernelParams:
        """The same parameters, fixed for frames of ``resolution`` (w, h) px."""
        return dataclasses.replace(self, resolution=resolution)


_BINS = np.arange(256, dtype=np.float64)
_SQRT_HALF_PI = math.sqrt(math.pi / 2.0)


def _resolve_roi(roi: Roi | tuple[int, int, int, int] | None, height: int, width: int) -> Roi:
    if roi is None:
        return Roi(0, 0, width, height)
    if len(roi) != 4:
        raise ValueError(f"roi must be (x, y, w, h), got {roi!r}")
    x, y, w, h = (check_int(f"roi.{k}", v, 0) for k, v in zip("xywh", roi, strict=True))
    if w < 1 or h < 1:
        raise ValueError(f"roi {tuple(roi)} is empty")
    if x + w > width or y + h > height:
        raise ValueError(f"roi {tuple(roi)} (x, y, w, h) lies outside the {width}x{height} frame")
    return Roi(x, y, w, h)


def _check_frame(frame: object, pixel_format: str, bit_depth: int | None) -> tuple[int, int, int]:
    """Returns (height, width, shift) of the image described by ``frame``; raises naming what is wrong."""
    problem = image_problem(frame, pixel_format)
    if problem is not None:
        kind, detail = problem
        raise (TypeError if kind in ("not_array", "wrong_dtype") else ValueError)(f"frame: {detail}")
    if pixel_format == "gray16":
        if bit_depth is None:
            raise ValueError("gray16 frames need bit_depth (10, 12, 14 or 16)")
        depth = check_int("bit_depth", bit_depth, 9)
        if depth > 16:
            raise ValueError(f"bit_depth {depth} does not fit a uint16 frame (max 16)")
        shift = depth - 8
    elif bit_depth not in (None, 8):
        raise ValueError(f"bit_depth {bit_depth} does not apply to {pixel_format} (8-bit) frames")
    else:
        shift = 0
    rows, width = frame.shape[:2]
    if pixel_format == "nv12":
        return rows * 2 // 3, width, 0  # the luma plane; the chroma rows follow it
    return rows, width, shift


def frame_stats(
    frame: np.ndarray,
    *,
    pixel_format: str = "bgr8",
    roi: Roi | tuple[int, int, int, int] | None = None,
    stride: int = 1,
    bit_depth: int | None = None,
    thumb_size: tuple[int, int] = (64, 64),
    grid: int = 8,
    under_threshold: int = 5,
    over_threshold: int = 250,
) -> FrameStats:
    """Histograms, moments, exposure, sharpness, noise, thumbnail and colour balance of one frame.

    frame: BGR8/RGB8 (H, W, 3) uint8, GRAY8 (H, W) uint8, GRAY16 (H, W) uint16 with ``bit_depth`` 9..16, or NV12
        (H*3/2, W) uint8 (Y plane then interleaved UV). Non-contiguous views are read without a copy.
    roi: (x, y, w, h) in pixels; for NV12, x and y must be even. None means the whole frame.
    stride: sample every ``stride``-th pixel in both directions (1 = every pixel): the sampled grid is the pixels
        ``(y + i*stride, x + j*stride)`` of the ROI, ``i < ceil(h/stride)``, ``j < ceil(w/stride)``, and EVERY
        statistic is computed on it alone. The Laplacian and noise mask take a grid point's neighbours on the grid
        (``stride`` pixels away), so a stride s reads 1/s^2 of the pixels; interior = grid points not on the
        grid's border. Stride 1 is the full-resolution Laplacian (``cv2.Laplacian(ksize=1)``). This is kernel
        version 2 (``KERNEL_VERSION``); see :meth:`KernelParams.outdated`.
    thumb_size: (th, tw) cells of the luma thumbnail; grid: G for the G x G local-sharpness grid.
    under_threshold, over_threshold: luma (DN8) at or below / at or above which a pixel counts as under- /
        over-exposed.
    """
    height, width, shift = _check_frame(frame, pixel_format, bit_depth)
    r = _resolve_roi(roi, height, width)
    s = check_int("stride", stride, 1)
    if len(thumb_size) != 2:
        raise ValueError(f"thumb_size must be (th, tw), got {thumb_size!r}")
    th, tw = (check_int("thumb_size", v, 1) for v in thumb_size)
    g = check_int("grid", grid, 1)
    lo = check_int("under_threshold", under_threshold, 0)
    hi = check_int("over_threshold", over_threshold, 0)
    if lo > 255 or hi > 255 or lo >= hi:
        raise ValueError(f"need 0 <= under_threshold < over_threshold <= 255, got {lo} and {hi}")

    hs = -(-r.h // s)
    ws = -(-r.w // s)
    th, tw = min(th, hs), min(tw, ws)
    gh, gw = min(g, hs), min(g, ws)
    hist = np.zeros(
        (4, 256), np.uint32
    )  # 32-bit counters: less cache traffic; frames stay far below 2**32 px
    acc = np.zeros(4, np.int64)
    thumb_sum = np.zeros((th, tw), np.float64)
    thumb_n = np.zeros((th, tw), np.int64)
    cells = np.zeros((3, gh, gw), np.int64)
    moments = np.zeros(2, np.float64)
    scale = float(1 << shift)

    if pixel_format in ("bgr8", "rgb8"):
        ib, ir = (0, 2) if pixel_format == "bgr8" else (2, 0)
        view = frame[r.y : r.y + r.h, r.x : r.x + r.w]
        _bgr_pass(view, s, ib, ir, hist, acc, thumb_sum, thumb_n, cells, np.empty((3, ws), np.uint16))
        n_channels = 3
    elif pixel_format == "nv12":
        if r.x % 2 or r.y % 2:
            raise ValueError(f"nv12 roi {tuple(r)} must start on even x and y (chroma is subsampled 2x2)")
        yp = frame[r.y : r.y + r.h, r.x : r.x + r.w]
        uv = frame[height + r.y // 2 : height + (r.y + r.h + 1) // 2, r.x : r.x + r.w + (r.w % 2)]
        _nv12_strided(yp, uv, s, hist, acc, thumb_sum, thumb_n, cells)
        n_channels = 3
    else:
        view = frame[r.y : r.y + r.h, r.x : r.x + r.w]
        vmax = _grey_strided(view, s, shift, hist, acc, thumb_sum, thumb_n, cells, moments)
        if pixel_format == "gray16" and vmax >> (shift + 8):
            raise ValueError(
                f"gray16 frame holds value {vmax}, which does not fit the declared bit_depth {shift + 8}"
            )
        n_channels = 1

    n = int(hist[3].sum())
    luma_hist = hist[3].astype(np.int64)
    channel_hist = hist[:3].astype(np.int64) if n_channels == 3 else luma_hist[None, :].copy()
    if shift:
        luma_mean = moments[0] / n / scale
        luma_var = max(moments[1] / n / (scale * scale) - luma_mean * luma_mean, 0.0)
        mean = np.array([luma_mean])
        var = np.array([luma_var])
    else:
        mean = channel_hist @ _BINS / n
        var = np.maximum(channel_hist @ (_BINS * _BINS) / n - mean * mean, 0.0)
        luma_mean = float(luma_hist @ _BINS / n)
        luma_var = max(float(luma_hist @ (_BINS * _BINS) / n) - luma_mean * luma_mean, 0.0)

    n_int = int(acc[3])
    if n_int:
        lap_mean = acc[0] / n_int
        sharpness = max(acc[1] / n_int - lap_mean * lap_mean, 0.0) / (scale * scale)
        noise_sigma = _SQRT_HALF_PI * float(acc[2]) / (6.0 * n_int) / scale
    else:
        sharpness = 0.0
        noise_sigma = 0.0
    counts = cells[0]
    safe = np.maximum(counts, 1)
    cell_mean = cells[1] / safe
    grid_sharpness = np.where(counts > 0, np.maximum(cells[2] / safe - cell_mean * cell_mean, 0.0), 0.0)
    grid_sharpness /= scale * scale

    if n_channels == 3:
        g_mean = mean[1]
        rg = float(mean[2] / g_mean) if g_mean > 0 else 0.0
        bg = float(mean[0] / g_mean) if g_mean > 0 else 0.0
    else:
        rg = bg = 1.0
    return FrameStats(
        channel_hist=channel_hist,
        luma_hist=luma_hist,
        pixel_count=n,
        mean=mean,
        var=var,
        luma_mean=float(luma_mean),
        luma_var=float(luma_var),
        under_exposed=float(luma_hist[: lo + 1].sum() / n),
        over_exposed=float(luma_hist[hi:].sum() / n),
        sharpness=float(sharpness),
        noise_sigma=float(noise_sigma),
        thumbnail=(thumb_sum / thumb_n / scale).astype(np.float32),
        grid_sharpness=grid_sharpness,
        rg=rg,
        bg=bg,
    )


def touch_bytes(frame: np.ndarray) -> int:
    """XOR of every 8-byte word of a C-contiguous frame: a plain memory read, the floor for ``frame_stats``."""
    if not frame.flags.c_contiguous or frame.nbytes % 8:
        raise ValueError("touch_bytes needs a C-contiguous frame whose size is a multiple of 8 bytes")
    return int(_touch_bytes(frame.reshape(-1).view(np.uint64)))
