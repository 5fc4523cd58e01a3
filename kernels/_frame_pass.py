"""The fused per-frame passes behind :func:`camdrift.kernels.frame_stats`.

Private numba kernels: arrays and scalars in, accumulators filled in place, no Python objects. The checking
wrapper in ``frame_stats.py`` validates everything first, so these trust their inputs.

Shared conventions (all kernels):
- ``img`` is the ROI view (a non-contiguous view is fine: no copy); ``s`` is the pixel stride. Sampled pixels are
  ``(i*s, j*s)`` for ``i < hs = ceil(h/s)``, ``j < ws = ceil(w/s)``.
- ``hist`` is ``(4, 256) int64``: rows B, G, R, luma (grey formats fill row 3 only). Luma bins are 8-bit values
  (16-bit inputs are shifted right by ``shift``).
- The Laplacian (4-neighbour, as ``cv2.Laplacian(ksize=1)``) and Immerkaer's noise mask use the full-resolution
  neighbours of each sampled pixel, so a stride samples the same statistic rather than measuring a coarser scale.
  Only sampled pixels whose 3x3 neighbourhood lies inside the ROI ("interior") contribute.
- ``acc`` is ``(3,) int64``: sum of Laplacian, sum of squared Laplacian, sum of |Immerkaer response|; ``n_int``
  counts interior pixels in ``acc[3]``.
- ``thumb_sum`` ``(th, tw) float64`` sums luma per thumbnail cell, ``thumb_n`` ``(th, tw) int64`` counts; cell of
  sampled pixel (i, j) is ``(i*th//hs, j*tw//ws)``. ``grid`` ``(3, gh, gw) int64`` holds per-cell Laplacian count,
  sum and squared sum, cells mapped the same way with ``gh, gw``.
- ``moments`` ``(2,) float64``: sum and squared sum of luma in native units (used for 16-bit, where the
  256-bin histogram is too coarse for exact moments).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# BT.601 integer luma, bit-identical to OpenCV 5's cvtColor(BGR2GRAY).
_LB = 3735
_LG = 19235
_LR = 9798
_LROUND = 16384
_LSHIFT = 15


@njit(cache=True, nogil=True, inline="always")
def _luma8(b: np.uint32, g: np.uint32, r: np.uint32) -> np.uint32:
    return (
        np.uint32(_LB) * b + np.uint32(_LG) * g + np.uint32(_LR) * r + np.uint32(_LROUND)
    ) >> np.uint32(_LSHIFT)


@njit(cache=True, nogil=True)
def _cell_starts(n: int, cells: int) -> np.ndarray:
    """start[k] = first sampled index j with j*cells//n == k; start[cells] = n."""
    out = np.empty(cells + 1, np.int64)
    for k in range(cells + 1):
        out[k] = (k * n + cells - 1) // cells
    return out


@njit(cache=True, nogil=True, boundscheck=False)
def _bgr_stride1(img, ib, ir, hist, acc, thumb_sum, thumb_n, grid, lrows):
    """3-channel 8-bit frame at stride 1: one pass, a 3-row ring of luma feeds the Laplacian."""
    h = img.shape[0]
    w = img.shape[1]
    th, tw = thumb_sum.shape
    gh, gw = grid.shape[1], grid.shape[2]
    tcols = _cell_starts(w, tw)
    gcols = _cell_starts(w, gw)
    hb = hist[0]
    hg = hist[1]
    hr = hist[2]
    hy = hist[3]
    s1 = np.int64(0)
    s2 = np.int64(0)
    sa = np.int64(0)
    for y in range(h):
        row = img[y]
        lrow = lrows[y % 3]
        for x in range(w):
            b = np.uint32(row[x, ib])
            g = np.uint32(row[x, 1])
            r = np.uint32(row[x, ir])
            lum = _luma8(b, g, r)
            lrow[x] = lum
            hb[b] += 1
            hg[g] += 1
            hr[r] += 1
            hy[lum] += 1
        ti = y * th // h
        for k in range(tw):
            t = np.int64(0)
            for x in range(tcols[k], tcols[k + 1]):
                t += lrow[x]
            thumb_sum[ti, k] += t
            thumb_n[ti, k] += tcols[k + 1] - tcols[k]
        if y >= 2:
            # Row y-1 now has both neighbours in the ring.
            yc = y - 1
            up = lrows[(y - 2) % 3]
            mid = lrows[yc % 3]
            dn = lrow
            gi = yc * gh // h
            for k in range(gw):
                x_lo = max(gcols[k], 1)
                x_hi = min(gcols[k + 1], w - 1)
                c1 = np.int64(0)
                c2 = np.int64(0)
                ca = np.int64(0)
                for x in range(x_lo, x_hi):
                    cross = np.int32(up[x]) + np.int32(dn[x]) + np.int32(mid[x - 1]) + np.int32(mid[x + 1])
                    diag = np.int32(up[x - 1]) + np.int32(up[x + 1]) + np.int32(dn[x - 1]) + np.int32(dn[x + 1])
                    c4 = np.int32(4) * np.int32(mid[x])
                    lap = cross - c4
                    nz = diag - np.int32(2) * cross + c4
                    c1 += lap
                    c2 += np.int64(lap) * lap
                    ca += abs(nz)
                if x_hi > x_lo:
                    grid[0, gi, k] += x_hi - x_lo
                    grid[1, gi, k] += c1
                    grid[2, gi, k] += c2
                    s1 += c1
                    s2 += c2
                    sa += ca
    acc[0] += s1
    acc[1] += s2
    acc[2] += sa
    acc[3] += max(h - 2, 0) * max(w - 2, 0)


@njit(cache=True, nogil=True, boundscheck=False)
def _bgr_luma_at(img, y, x, ib, ir) -> np.int64:
    return np.int64(_luma8(np.uint32(img[y, x, ib]), np.uint32(img[y, x, 1]), np.uint32(img[y, x, ir])))


@njit(cache=True, nogil=True, boundscheck=False)
def _bgr_strided(img, s, ib, ir, hist, acc, thumb_sum, thumb_n, grid):
    """3-channel 8-bit frame at any stride (the 3x3 neighbourhood's luma is computed where needed)."""
    h = img.shape[0]
    w = img.shape[1]
    hs = (h + s - 1) // s
    ws = (w + s - 1) // s
    th, tw = thumb_sum.shape
    gh, gw = grid.shape[1], grid.shape[2]
    for i in range(hs):
        y = i * s
        ti = i * th // hs
        gi = i * gh // hs
        interior_row = 0 < y < h - 1
        for j in range(ws):
            x = j * s
            b = np.uint32(img[y, x, ib])
            g = np.uint32(img[y, x, 1])
            r = np.uint32(img[y, x, ir])
            lum = _luma8(b, g, r)
            hist[0, b] += 1
            hist[1, g] += 1
            hist[2, r] += 1
            hist[3, lum] += 1
            tj = j * tw // ws
            thumb_sum[ti, tj] += lum
            thumb_n[ti, tj] += 1
            if interior_row and 0 < x < w - 1:
                c = np.int64(lum)
                cross = (
                    _bgr_luma_at(img, y - 1, x, ib, ir)
                    + _bgr_luma_at(img, y + 1, x, ib, ir)
                    + _bgr_luma_at(img, y, x - 1, ib, ir)
                    + _bgr_luma_at(img, y, x + 1, ib, ir)
                )
                diag = (
                    _bgr_luma_at(img, y - 1, x - 1, ib, ir)
                    + _bgr_luma_at(img, y - 1, x + 1, ib, ir)
                    + _bgr_luma_at(img, y + 1, x - 1, ib, ir)
                    + _bgr_luma_at(img, y + 1, x + 1, ib, ir)
                )
                lap = cross - 4 * c
                acc[0] += lap
                acc[1] += lap * lap
                acc[2] += abs(diag - 2 * cross + 4 * c)
                acc[3] += 1
                gj = j * gw // ws
                grid[0, gi, gj] += 1
                grid[1, gi, gj] += lap
                grid[2, gi, gj] += lap * lap


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
                    np.int64(yp[y - 1, x]) + np.int64(yp[y + 1, x]) + np.int64(yp[y, x - 1]) + np.int64(yp[y, x + 1])
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
