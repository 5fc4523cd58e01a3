"""The 4-neighbour Laplacian and Immerkaer noise sums over one row span of 8-bit luma (the colour pass's inner loop).

``up``, ``mid``, ``dn`` are three consecutive rows of the compact sampled luma grid (uint16, values 0..255, one
entry per sampled column); the sums run over the columns ``j`` in ``[j_lo, j_hi)``, which must all be interior
(0 < j < ws - 1). The
Laplacian is ``cv2.Laplacian(ksize=1)``'s, Immerkaer's (1996) mask response is ``diag - 2 * cross + 4 * mid``.
All sums are exact integers: they are accumulated in 32 bits over chunks short enough never to overflow (so the
loop vectorises in 32-bit lanes), and in 64 bits across chunks.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Chunk length for the 32-bit Laplacian accumulators: 1024 * max(lap^2) = 1024 * 1020^2 < 2^31, so they stay
# exact while the loop vectorises (64-bit accumulation blocks it).
_CHUNK = 1024

# numba types int32 + int32 as int64; truncating every intermediate back to int16 (the filter responses: |cross|,
# |diag| <= 1020, |Immerkaer| <= 2040) or int32 (squares and chunk sums) lets LLVM keep the loop in narrow lanes
# instead of int64 with a slow 64-bit multiply: 0.56 -> 0.33 ms per 720p frame measured in isolation.
_i32 = np.int32
_i16 = np.int16


@njit(cache=True, nogil=True, boundscheck=False)
def _lap_span(up, mid, dn, j_lo, j_hi, out):
    """Laplacian sum, squared sum and Immerkaer |response| sum at columns j in [j_lo, j_hi)."""
    c1 = np.int64(0)
    c2 = np.int64(0)
    ca = np.int64(0)
    j = j_lo
    one = np.uint64(1)
    while j < j_hi:
        e = min(j + _CHUNK, j_hi)
        a1 = np.int32(0)
        a2 = np.int32(0)
        aa = np.int32(0)
        for k in range(j, e):
            u = np.uint64(k)
            cross = _i16(_i16(up[u]) + _i16(dn[u]) + _i16(mid[u - one]) + _i16(mid[u + one]))
            diag = _i16(_i16(up[u - one]) + _i16(up[u + one]) + _i16(dn[u - one]) + _i16(dn[u + one]))
            c4 = _i16(_i16(4) * _i16(mid[u]))
            lap = _i16(cross - c4)
            a1 = _i32(a1 + _i32(lap))
            a2 = _i32(a2 + _i32(_i32(lap) * _i32(lap)))
            aa = _i32(aa + _i32(abs(_i16(diag - _i16(2) * cross + c4))))
        c1 += a1
        c2 += a2
        ca += aa
        j = e
    out[0] = c1
    out[1] = c2
    out[2] = ca
