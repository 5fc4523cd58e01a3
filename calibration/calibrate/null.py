"""The null of a live window against a reference, by a circular block bootstrap over the reference FRAMES.

A live window of N frames is compared with the reference's mean, histogram and thumbnail, and both are noisy: the
window by N frames' worth, the reference by its R frames' worth (a short reference's mean is itself off by a
fraction of a window's sd, for as long as the baseline is used). So each replicate draws BOTH sides from the
reference by the same circular block scheme: a window of N frames (random blocks, as a live window) and a
pseudo-reference of R frames (as the reference was). Every statistic is computed on the pair exactly as the engine
computes it on (window, reference), so the replicates' spread holds both variances; the null sds the engine
standardizes its z's with are the sds of that same difference, so the engine's z's match the thresholds.

Both sides' means come from prefix sums over the circularly extended reference (a block's sum is two rows of
them), so a replicate costs O(blocks x features), not O(frames x features), and needs no BLAS (a threaded matrix
product stalled for minutes on a busy 2-core box).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from camdrift.agent.drift.statistics import GRID_SD_FLOOR, SCALAR_SD_FLOOR, phase_shift, static_weight
from camdrift.kernels.divergence import psi_rows

CHUNK = 256  # most replicates drawn at once


class Reference(NamedTuple):
    """Per-frame reference features, stacked: counts (R, K, B) int64, scalars (R, S), grid_sharpness and
    grid_luma (R, gh, gw), thumbnails (R, th, tw); pixel_count: pixels per frame."""

    counts: np.ndarray
    scalars: np.ndarray
    grid_sharpness: np.ndarray
    grid_luma: np.ndarray
    thumbnails: np.ndarray
    pixel_count: int


class NullSample(NamedTuple):
    """Bootstrap replicates of window-vs-reference. chi: (n_rep, n) chi-like values (PSI, z^2, max cell z^2,
    px^2) in :func:`~camdrift.agent.drift.statistics.statistic_names` order; window_sd: (S,), grid_sharpness_sd and
    grid_luma_sd: (gh, gw): sds of (window mean - reference mean), floored."""

    chi: np.ndarray
    window_sd: np.ndarray
    grid_sharpness_sd: np.ndarray
    grid_luma_sd: np.ndarray


def bootstrap_windows(
    n_frames: int, window: int, block: int, n_rep: int, rng: np.random.Generator
) -> np.ndarray:
    """(n_rep, window) frame indices: circular blocks of ``block`` consecutive frames from random starts."""
    n_blocks = -(-window // block)
    starts = rng.integers(0, n_frames, size=(n_rep, n_blocks))
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(n_rep, -1)[:, :window]
    return idx % n_frames


def prefix_sums(a: np.ndarray, block: int) -> np.ndarray:
    """(R + block + 1, ...) float64 prefix sums of the (R, ...) per-frame ``a``, extended circularly by ``block``
    frames: the sum of frames s..s+l-1 (circular, l <= block) is ``P[s + l] - P[s]``."""
    ext = np.concatenate([a, a[:block]]).astype(np.float64)
    return np.concatenate([np.zeros((1, *a.shape[1:])), np.cumsum(ext, axis=0)])


def block_plan(n: int, block: int) -> np.ndarray:
    """Lengths of the circular blocks that make ``n`` frames: full blocks, then the rest."""
    lengths = [block] * (n // block)
    return np.array(lengths + ([n % block] if n % block else []), np.int64)


def block_means(p: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(c, ...) means over the blocks starting at ``starts`` (c, nb) with ``lengths`` (nb,), from prefix sums."""
    total = (p[starts + lengths] - p[starts]).sum(axis=1)
    return total / lengths.sum()


class _Sides(NamedTuple):
    """Window (``w_*``) and pseudo-reference (``r_*``) means of one chunk of replicates (rows)."""

    w_scalars: np.ndarray
    r_scalars: np.ndarray
    w_gs: np.ndarray
    r_gs: np.ndarray
    w_gl: np.ndarray
    r_gl: np.ndarray
    w_counts: np.ndarray  # (c, K, B) summed over the window's frames
    r_counts: np.ndarray  # (c, K, B) summed over the pseudo-reference's R frames
    w_thumbs: np.ndarray
    r_thumbs: np.ndarray


def _sides(
    prefix: tuple[np.ndarray, ...],
    plans: tuple[np.ndarray, np.ndarray],
    r: int,
    c: int,
    rng: np.random.Generator,
) -> _Sides:
    """Draw ``c`` (window, pseudo-reference) pairs over ``r`` frames: random circular block starts, their means
    from the prefix sums."""
    (w_len, r_len), out = plans, []
    sw = rng.integers(0, r, size=(c, len(w_len)))
    sr = rng.integers(0, r, size=(c, len(r_len)))
    for p in prefix:
        out += [block_means(p, sw, w_len), block_means(p, sr, r_len)]
    n_w, n_r = int(w_len.sum()), int(r_len.sum())
    out[6], out[7] = out[6] * n_w, out[7] * n_r  # counts are summed, not averaged
    return _Sides(*out)


def null_sample(
    ref: Reference,
    *,
    window: int,
    block: int,
    n_rep: int,
    seed: int,
    alpha: float,
    cell_px: tuple[float, float],
) -> NullSample:
    """``n_rep`` replicates of (bootstrap window of ``window`` frames) vs (bootstrap pseudo-reference of all R
    frames), both in circular blocks of ``block`` frames (module doc). alpha: PSI pseudo-count; cell_px: frame
    pixels per thumbnail cell (x, y)."""
    rng = np.random.default_rng(seed)
    r = ref.scalars.shape[0]
    block = max(1, min(block, r))
    weight = static_weight(ref.thumbnails.std(axis=0, dtype=np.float64))
    arrays = (ref.scalars, ref.grid_sharpness, ref.grid_luma, ref.counts, ref.thumbnails)
    prefix = tuple(prefix_sums(a, block) for a in arrays)
    plans = (block_plan(window, block), block_plan(r, block))
    # bound the (chunk, blocks, thumbnail cells) gather to ~16 M values
    chunk = int(max(1, min(CHUNK, (1 << 24) // max(1, len(plans[1]) * ref.thumbnails[0].size))))
    diffs: dict[str, list[np.ndarray]] = {"s": [], "gs": [], "gl": []}
    psi_rows_out, d2 = [], []
    for start in range(0, n_rep, chunk):
        c = min(chunk, n_rep - start)
        sd = _sides(prefix, plans, r, c, rng)
        diffs["s"].append(sd.w_scalars - sd.r_scalars)
        diffs["gs"].append(sd.w_gs - sd.r_gs)
        diffs["gl"].append(sd.w_gl - sd.r_gl)
        for j in range(c):
            psi_rows_out.append(psi_rows(sd.r_counts[j], sd.w_counts[j], alpha))
            dx, dy, _ = phase_shift(sd.r_thumbs[j], sd.w_thumbs[j], cell_px, weight)
            d2.append(dx * dx + dy * dy)
    ds, dgs, dgl = (np.concatenate(diffs[k]) for k in ("s", "gs", "gl"))
    window_sd = np.maximum(ds.std(axis=0, ddof=1), SCALAR_SD_FLOOR[: ds.shape[1]])
    gs_sd = np.maximum(dgs.std(axis=0, ddof=1), GRID_SD_FLOOR[0])
    gl_sd = np.maximum(dgl.std(axis=0, ddof=1), GRID_SD_FLOOR[1])
    z2 = (ds / window_sd) ** 2
    grid = ((dgs / gs_sd) ** 2).reshape(n_rep, -1).max(axis=1)
    chi = np.column_stack([np.array(psi_rows_out), z2, grid, np.array(d2)])
    return NullSample(chi, window_sd, gs_sd, gl_sd)
