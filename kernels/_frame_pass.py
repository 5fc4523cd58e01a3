"""The fused per-frame passes behind :func:`camdrift.kernels.frame_stats`.

Private numba kernels: arrays and scalars in, accumulators filled in place, no Python objects. The checking
wrapper in ``frame_stats.py`` validates everything first, so these trust their inputs.

Shared conventions (all kernels):
- ``img`` is the ROI view (a non-contiguous view is fine: no copy); ``s`` is the pixel stride. Sampled pixels are
  ``(i*s, j*s)`` for ``i < hs = ceil(h/s)``, ``j < ws = ceil(w/s)``.
- ``hist`` is ``(4, 256)`` uint32 counts: rows B, G, R, luma (grey formats fill row 3 only). Luma bins are 8-bit
  values (16-bit inputs are shifted right by ``shift``).
- The Laplacian (4-neighbour, as ``cv2.Laplacian(ksize=1)``) and Immerkaer's noise mask are computed on the
  sampled luma grid ``L[i, j] = luma(i*s, j*s)``: a sampled pixel's neighbours are the sampled pixels ``s`` away
  (at stride 1, its full-resolution neighbours). Only grid points with ``0 < i < hs - 1`` and ``0 < j < ws - 1``
  ("interior") contribute. So a stride reads 1/s^2 of the pixels for every statistic (kernel version 2; in
  version 1 the Laplacian used full-resolution neighbours and needed every luma row).
- ``acc`` is ``(4,) int64``: sum of Laplacian, sum of squared Laplacian, sum of |Immerkaer response|, and the
  number of interior pixels. All Laplacian sums are exact integers.
- ``thumb_sum`` ``(th, tw) float64`` sums luma per thumbnail cell, ``thumb_n`` ``(th, tw) int64`` counts; cell of
  sampled pixel (i, j) is ``(i*th//hs, j*tw//ws)``. ``grid`` ``(3, gh, gw) int64`` holds per-cell Laplacian count,
  sum and squared sum, cells mapped the same way with ``gh, gw``.
- ``moments`` ``(2,) float64``: sum and squared sum of luma in native units (used for 16-bit, where the
  256-bin histogram is too coarse for exact moments).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from camdrift.kernels._laplacian import _lap_span

# BT.601 integer luma, bit-identical to OpenCV 5's cvtColor(BGR2GRAY).
_LB = 3735
_LG = 19235
_LR = 9798
_LROUND = 16384
_LSHIFT = 15


@njit(cache=True, nogil=True, inline="always")
def _luma8(b: np.uint32, g: np.uint32, r: np.uint32) -> np.uint32:
    return (np.uint32(_LB) * b + np.uint32(_LG) * g + np.uint32(_LR) * r + np.uint32(_LROUND)) >> np.uint32(
        _LSHIFT
    )


@njit(cache=True, nogil=True)
def _cell_starts(n: int, cells: int) -> np.ndarray:
    """start[k] = first sampled index j with j*cells//n == k; start[cells] = n."""
    out = np.empty(cells + 1, np.int64)
    for k in range(cells + 1):
        out[k] = (k * n + cells - 1) // cells
    return out


@njit(cache=True, nogil=True, boundscheck=False)
def _luma_row_hist(row, ib, ir, out, hist):
    """Luma of every pixel of a row and the four histograms of it, in one loop (stride 1)."""
    hb = hist[0]
    hg = hist[1]
    hr = hist[2]
    hy = hist[3]
    for x in range(row.shape[0]):
        b = np.uint32(row[x, ib])
        g = np.uint32(row[x, 1])
        r = np.uint32(row[x, ir])
        lum = _luma8(b, g, r)
        out[x] = lum
        hb[b] += 1
        hg[g] += 1
        hr[r] += 1
        hy[lum] += 1


@njit(cache=True, nogil=True, boundscheck=False)
def _luma_row_hist_strided(row, s, ib, ir, out, hist):
    """Luma of the sampled pixels ``x = j*s`` of a row into the compact ``out[j]``, and their histograms."""
    hb = hist[0]
    hg = hist[1]
    hr = hist[2]
    hy = hist[3]
    for j in range(out.shape[0]):
        x = j * s
        b = np.uint32(row[x, ib])
        g = np.uint32(row[x, 1])
        r = np.uint32(row[x, ir])
        lum = _luma8(b, g, r)
        out[j] = lum
        hb[b] += 1
        hg[g] += 1
        hr[r] += 1
        hy[lum] += 1


@njit(cache=True, nogil=True, boundscheck=False)
def _band_add(lrow, colsum):
    """colsum[j] += lrow[j]: rows of one thumbnail band are summed column-wise first (a vectorised add) and
    split into cells once per band, instead of once per row."""
    for j in range(colsum.shape[0]):
        colsum[j] += lrow[j]


@njit(cache=True, nogil=True, boundscheck=False)
def _band_flush(colsum, tcols, rows, out_sum, out_n):
    for k in range(out_sum.shape[0]):
        t = np.uint64(0)
        for j in range(tcols[k], tcols[k + 1]):
            t += colsum[j]
        out_sum[k] += t
        out_n[k] += (tcols[k + 1] - tcols[k]) * rows
    colsum[:] = 0


@njit(cache=True, nogil=True, boundscheck=False, inline="always")
def _lap_row(up, mid, dn, gi, gcols, grid, acc, span, resp):
    """Laplacian and noise sums of one interior row ``mid`` of the compact luma grid, cell by cell."""
    j_last = mid.shape[0] - 1  # interior columns: 0 < j < ws - 1
    for k in range(grid.shape[2]):
        j_lo = max(gcols[k], 1)
        j_hi = min(gcols[k + 1], j_last)
        if j_hi > j_lo:
            _lap_span(up, mid, dn, j_lo, j_hi, span, resp)
            grid[0, gi, k] += j_hi - j_lo
            grid[1, gi, k] += span[0]
            grid[2, gi, k] += span[1]
            acc[0] += span[0]
            acc[1] += span[1]
            acc[2] += span[2]
            acc[3] += j_hi - j_lo


@njit(cache=True, nogil=True, boundscheck=False)
def _bgr_pass(img, s, ib, ir, hist, acc, thumb_sum, thumb_n, grid, lrows):
    """3-channel 8-bit frame, any stride, reading only the sampled rows and pixels.

    ``lrows`` is ``(3, ws)`` uint16 (half the cache footprint of uint32: 10 % faster at stride 1), a ring of the
    last three compact luma rows of the sampled grid (slot ``i % 3``). Each sampled row's luma and histograms are
    computed in one loop; once grid row ``i`` is in, the Laplacian of grid row ``i - 1`` is summed from rows
    ``i - 2 .. i``.
    """
    hs = (img.shape[0] + s - 1) // s
    ws = lrows.shape[1]
    th, tw = thumb_sum.shape
    gh = grid.shape[1]
    tcols = _cell_starts(ws, tw)
    gcols = _cell_starts(ws, grid.shape[2])
    span = np.zeros(3, np.int64)
    resp = np.empty((2, ws), np.int16)  # the Laplacian and Immerkaer responses of one cell's span
    colsum = np.zeros(ws, np.uint32)  # <= 255 * rows per band: exact
    band = 0
    band_rows = 0
    for i in range(hs):
        lrow = lrows[i % 3]
        if s == 1:
            _luma_row_hist(img[i], ib, ir, lrow, hist)
        else:
            _luma_row_hist_strided(img[i * s], s, ib, ir, lrow, hist)
        ti = i * th // hs
        if ti != band:
            _band_flush(colsum, tcols, band_rows, thumb_sum[band], thumb_n[band])
            band = ti
            band_rows = 0
        _band_add(lrow, colsum)
        band_rows += 1
        if i >= 2:
            up = lrows[(i - 2) % 3]
            _lap_row(up, lrows[(i - 1) % 3], lrow, (i - 1) * gh // hs, gcols, grid, acc, span, resp)
    _band_flush(colsum, tcols, band_rows, thumb_sum[band], thumb_n[band])


@njit(cache=True, nogil=True, boundscheck=False)
def _grey_strided(img, s, shift, hist, acc, thumb_sum, thumb_n, grid, moments):
    """Single-channel 8- or 16-bit frame at any stride; ``shift`` maps values to 8-bit bins.

    Returns the largest value seen, so the wrapper can reject values that do not fit the declared bit depth.
    """
    h = img.shape[0]
    w = img.shape[1]
    hs = (h + s - 1) // s
    ws = (w + s - 1) // s
    th, tw = thumb_sum.shape
    gh, gw = grid.shape[1], grid.shape[2]
    vmax = np.int64(0)
    m1 = 0.0
    m2 = 0.0
    sh = np.uint32(shift)
    for i in range(hs):
        y = i * s
        ti = i * th // hs
        gi = i * gh // hs
        interior_row = 0 < i < hs - 1
        for j in range(ws):
            x = j * s
            v = np.int64(img[y, x])
            if v > vmax:
                vmax = v
            b = np.uint32(v) >> sh
            if b > 255:
                b = np.uint32(255)  # only reachable for out-of-depth values, which the wrapper rejects
            hist[3, b] += 1
            fv = float(v)
            m1 += fv
            m2 += fv * fv
            tj = j * tw // ws
            thumb_sum[ti, tj] += fv
            thumb_n[ti, tj] += 1
            if interior_row and 0 < j < ws - 1:
                cross = (
                    np.int64(img[y - s, x])
                    + np.int64(img[y + s, x])
                    + np.int64(img[y, x - s])
                    + np.int64(img[y, x + s])
                )
                diag = (
                    np.int64(img[y - s, x - s])
                    + np.int64(img[y - s, x + s])
                    + np.int64(img[y + s, x - s])
                    + np.int64(img[y + s, x + s])
                )
                lap = cross - 4 * v
                acc[0] += lap
                acc[1] += lap * lap
                acc[2] += abs(diag - 2 * cross + 4 * v)
                acc[3] += 1
                gj = j * gw // ws
                grid[0, gi, gj] += 1
                grid[1, gi, gj] += lap
                grid[2, gi, gj] += lap * lap
    moments[0] += m1
    moments[1] += m2
    return vmax


# OpenCV's integer YUV420sp -> BGR (ITU-R BT.601, video range), bit-identical to cvtColor(YUV2BGR_NV12).
_CY = 1220542
_CUB = 2116026
_CUG = -409993
_CVG = -852492
_CVR = 1673527
_YUV_SHIFT = 20


@njit(cache=True, nogil=True, inline="always")
def _clip8(v: np.int64) -> np.int64:
    return min(max(v, 0), 255)


@njit(cache=True, nogil=True, boundscheck=False)
def _nv12_strided(yp, uv, s, hist, acc, thumb_sum, thumb_n, grid):
    """NV12: ``yp`` (h, w) luma plane view, ``uv`` (h/2, w) interleaved chroma view, ROI origin even.

    Colour histograms are of the BGR pixels OpenCV would decode; luma is the Y plane itself.
    """
    h = yp.shape[0]
    w = yp.shape[1]
    hs = (h + s - 1) // s
    ws = (w + s - 1) // s
    th, tw = thumb_sum.shape
    gh, gw = grid.shape[1], grid.shape[2]
    half = np.int64(1) << (_YUV_SHIFT - 1)
    for i in range(hs):
        y = i * s
        ti = i * th // hs
        gi = i * gh // hs
        interior_row = 0 < i < hs - 1
        for j in range(ws):
            x = j * s
            v8 = np.int64(yp[y, x])
            xc = (x >> 1) << 1
            u = np.int64(uv[y >> 1, xc]) - 128
            vv = np.int64(uv[y >> 1, xc + 1]) - 128
            yy = max(v8 - 16, 0) * _CY
            r = _clip8((yy + half + _CVR * vv) >> _YUV_SHIFT)
            g = _clip8((yy + half + _CVG * vv + _CUG * u) >> _YUV_SHIFT)
            b = _clip8((yy + half + _CUB * u) >> _YUV_SHIFT)
            hist[0, b] += 1
            hist[1, g] += 1
            hist[2, r] += 1
            hist[3, v8] += 1
            tj = j * tw // ws
            thumb_sum[ti, tj] += v8
            thumb_n[ti, tj] += 1
            if interior_row and 0 < j < ws - 1:
                cross = (
                    np.int64(yp[y - s, x])
                    + np.int64(yp[y + s, x])
                    + np.int64(yp[y, x - s])
                    + np.int64(yp[y, x + s])
                )
                diag = (
                    np.int64(yp[y - s, x - s])
                    + np.int64(yp[y - s, x + s])
                    + np.int64(yp[y + s, x - s])
                    + np.int64(yp[y + s, x + s])
                )
                lap = cross - 4 * v8
                acc[0] += lap
                acc[1] += lap * lap
                acc[2] += abs(diag - 2 * cross + 4 * v8)
                acc[3] += 1
                gj = j * gw // ws
                grid[0, gi, gj] += 1
                grid[1, gi, gj] += lap
                grid[2, gi, gj] += lap * lap


@njit(cache=True, nogil=True, boundscheck=False)
def _touch_bytes(flat) -> np.uint64:
    """Read every 8-byte word once (the physical floor for any kernel that looks at every pixel)."""
    acc = np.uint64(0)
    for i in range(flat.shape[0]):
        acc ^= flat[i]
    return acc
