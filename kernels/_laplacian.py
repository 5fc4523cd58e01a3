"""The 4-neighbour Laplacian and Immerkaer noise sums over one row span of 8-bit luma (the colour pass's inner loop).

``up``, ``mid``, ``dn`` are three consecutive full-width luma rows (uint32, values 0..255); the sums run over the
sampled columns ``x = j * s`` for ``j`` in ``[j_lo, j_hi)``, which must all be interior (0 < x < w - 1). The
Laplacian is ``cv2.Laplacian(ksize=1)``'s, Immerkaer's (1996) mask response is ``diag - 2 * cross + 4 * mid``.
All sums are exact integers: they are accumulated in 32 bits over chunks short enough never to overflow (so the
loop vectorises), and in 64 bits across chunks.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Chunk length for the 32-bit Laplacian accumulators: 1024 * max(lap^2) = 1024 * 1020^2 < 2^31, so they stay
# exact while the loop vectorises (64-bit accumulation blocks it).
_CHUNK = 1024


@njit(cache=True, nogil=True, boundscheck=False)
def _lap_span(up, mid, dn, j_lo, j_hi, s, out):
    """Laplacian sum, squared sum and Immerkaer |response| sum at columns x = j*s, j in [j_lo, j_hi)."""
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
        # Two copies of one loop on purpose: with the index k*s for a runtime s, LLVM cannot prove unit stride and
        # the stride-1 case (the one the speed target is about) would not vectorise.
        if s == 1:
            for k in range(j, e):
                u = np.uint64(k)
                cross = np.int32(up[u]) + np.int32(dn[u]) + np.int32(mid[u - one]) + np.int32(mid[u + one])
                diag = (
                    np.int32(up[u - one])
                    + np.int32(up[u + one])
                    + np.int32(dn[u - one])
                    + np.int32(dn[u + one])
                )
                c4 = np.int32(4) * np.int32(mid[u])
                lap = cross - c4
                a1 += lap
                a2 += lap * lap
                aa += abs(diag - np.int32(2) * cross + c4)
        else:
            for k in range(j, e):
                u = np.uint64(k * s)
                cross = np.int32(up[u]) + np.int32(dn[u]) + np.int32(mid[u - one]) + np.int32(mid[u + one])
                diag = (
                    np.int32(up[u - one])
                    + np.int32(up[u + one])
                    + np.int32(dn[u - one])
                    + np.int32(dn[u + one])
                )
                c4 = np.int32(4) * np.int32(mid[u])
                lap = cross - c4
                a1 += lap
                a2 += lap * lap
                aa += abs(diag - np.int32(2) * cross + c4)
        c1 += a1
        c2 += a2
        ca += aa
        j = e
    out[0] = c1
    out[1] = c2
    out[2] = ca
