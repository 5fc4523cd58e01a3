"""The fused per-frame passes behind :func:`camdrift.kernels.frame_stats`.

Private numba kernels: arrays and scalars in, accumulators filled in place, no Python objects. The checking
wrapper in ``frame_stats.py`` validates everything first, so these trust their inputs.

Shared conventions (all kernels):
- ``img`` is the ROI view (a non-contiguous view is fine: no copy); ``s`` is the pixel stride. Sampled pixels are
  ``(i*s, j*s)`` for ``i < hs = ceil(h/s)``, ``j < ws = ceil(w/s)``.
- ``hist`` is ``(4, 256)`` uint32 counts: rows B, G, R, luma (grey formats fill row 3 only). Luma bins are 8-bit
  values (16-bit inputs are shifted right by ``shift``).
- The Laplacian (4-neighbour, as ``cv2.Laplacian(ksize=1)``) and Immerkaer's noise mask use the full-resolution
  neighbours of each sampled pixel, so a stride samples the same statistic rather than measuring a coarser scale.
  Only sampled pixels whose 3x3 neighbourhood lies inside the ROI ("interior") contribute.
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
def _luma_row(row, ib, ir, out):
    for x in range(row.shape[0]):
        out[x] = _luma8(np.uint32(row[x, ib]), np.uint32(row[x, 1]), np.uint32(row[x, ir]))


@njit(cache=True, nogil=True, boundscheck=False)
def _luma_row_hist(row, ib, ir, out, hist):
    """Luma of a whole row and the four histograms of it, in the same loop (stride 1)."""
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
def _hist_row_strided(row, s, ws, ib, ir, lrow, hist):
    for j in range(ws):
        x = j * s
        hist[0, np.uint32(row[x, ib])] += 1
        hist[1, np.uint32(row[x, 1])] += 1
        hist[2, np.uint32(row[x, ir])] += 1
        hist[3, lrow[x]] += 1


@njit(cache=True, nogil=True, boundscheck=False)
def _band_add(lrow, s, colsum):
    """colsum[j] += luma of sampled column j: rows of one thumbnail band are summed column-wise first (a
    vectorised full-width add) and split into cells once per band, instead of once per row."""
    if s == 1:
        for j in range(colsum.shape[0]):
            colsum[j] += lrow[j]
    else:
        for j in range(colsum.shape[0]):
            colsum[j] += lrow[j * s]


@njit(cache=True, nogil=True, boundscheck=False)
def _band_flush(colsum, tcols, rows, out_sum, out_n):
    for k in range(out_sum.shape[0]):
        t = np.uint64(0)
        for j in range(tcols[k], tcols[k + 1]):
            t += colsum[j]
        out_sum[k] += t
        out_n[k] += (tcols[k + 1] - tcols[k]) * rows
    colsum[:] = 0


@njit(cache=True, nogil=True, boundscheck=False)
def _bgr_pass(img, s, ib, ir, hist, acc, thumb_sum, thumb_n, grid, lrows, tags):
    """3-channel 8-bit frame, any stride, in one pass over the rows it needs.

    A 3-slot cache of full-width luma rows (slot = row % 3) serves each sampled row and its two neighbours; at
    stride 1 every row is converted once, and its histograms are counted in the same loop as its luma.
    """
    h = img.shape[0]
    w = img.shape[1]
    hs = (h + s - 1) // s
    ws = (w + s - 1) // s
    th, tw = thumb_sum.shape
    gh, gw = grid.shape[1], grid.shape[2]
    tcols = _cell_starts(ws, tw)
    gcols = _cell_starts(ws, gw)
    j_last = (w - 2) // s + 1 if w >= 3 else 0  # interior columns: 0 < j*s < w-1
    span = np.zeros(3, np.int64)
    colsum = np.zeros(ws, np.uint32)  # <= 255 * rows per band: exact
    band = 0
    band_rows = 0
    for k in range(3):
        tags[k] = -1
    for i in range(hs):
        y = i * s
        for r in range(max(y - 1, 0), min(y + 2, h)):
            slot = r % 3
            if tags[slot] != r:
                if s == 1:
                    _luma_row_hist(img[r], ib, ir, lrows[slot], hist)
                else:
                    _luma_row(img[r], ib, ir, lrows[slot])
                tags[slot] = r
        mid = lrows[y % 3]
        if s > 1:
            _hist_row_strided(img[y], s, ws, ib, ir, mid, hist)
        ti = i * th // hs
        if ti != band:
            _band_flush(colsum, tcols, band_rows, thumb_sum[band], thumb_n[band])
            band = ti
            band_rows = 0
        _band_add(mid, s, colsum)
        band_rows += 1
        if 0 < y < h - 1:
            up = lrows[(y - 1) % 3]
            dn = lrows[(y + 1) % 3]
            gi = i * gh // hs
            for k in range(gw):
                j_lo = max(gcols[k], 1)
                j_hi = min(gcols[k + 1], j_last)
                if j_hi > j_lo:
                    _lap_span(up, mid, dn, j_lo, j_hi, s, span)
                    grid[0, gi, k] += j_hi - j_lo
                    grid[1, gi, k] += span[0]
                    grid[2, gi, k] += span[1]
                    acc[0] += span[0]
                    acc[1] += span[1]
                    acc[2] += span[2]
                    acc[3] += j_hi - j_lo
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
        interior_row = 0 < y < h - 1
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
            if interior_row and 0 < x < w - 1:
                cross = (
                    np.int64(img[y - 1, x])
                    + np.int64(img[y + 1, x])
                    + np.int64(img[y, x - 1])
                    + np.int64(img[y, x + 1])
                )
                diag = (
                    np.int64(img[y - 1, x - 1])
                    + np.int64(img[y - 1, x + 1])
                    + np.int64(img[y + 1, x - 1])
                    + np.int64(img[y + 1, x + 1])
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
        interior_row = 0 < y < h - 1
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
            if interior_row and 0 < x < w - 1:
                cross = (
                    np.int64(yp[y - 1, x])
                    + np.int64(yp[y + 1, x])
                    + np.int64(yp[y, x - 1])
                    + np.int64(yp[y, x + 1])
                )
                diag = (
                    np.int64(yp[y - 1, x - 1])
                    + np.int64(yp[y - 1, x + 1])
                    + np.int64(yp[y + 1, x - 1])
                    + np.int64(yp[y + 1, x + 1])
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
