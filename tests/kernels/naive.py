"""Plain-numpy references for the kernels: slow, obvious, and written from the documented definitions."""

from __future__ import annotations

import math

import numpy as np


def naive_luma(bgr: np.ndarray) -> np.ndarray:
    """BT.601 integer luma of a (H, W, 3) BGR uint8 image, as OpenCV 5's BGR2GRAY."""
    b, g, r = (bgr[..., k].astype(np.int64) for k in range(3))
    return ((3735 * b + 19235 * g + 9798 * r + 16384) >> 15).astype(np.int64)


def naive_nv12_to_bgr(nv12: np.ndarray) -> np.ndarray:
    """OpenCV's integer NV12 -> BGR (BT.601 video range)."""
    h = nv12.shape[0] * 2 // 3
    w = nv12.shape[1]
    y = nv12[:h].astype(np.int64)
    uv = nv12[h:].reshape(h // 2, w // 2, 2).astype(np.int64)
    u = np.repeat(np.repeat(uv[..., 0], 2, 0), 2, 1) - 128
    v = np.repeat(np.repeat(uv[..., 1], 2, 0), 2, 1) - 128
    yy = np.maximum(y - 16, 0) * 1220542
    half = 1 << 19
    r = np.clip((yy + half + 1673527 * v) >> 20, 0, 255)
    g = np.clip((yy + half - 852492 * v - 409993 * u) >> 20, 0, 255)
    b = np.clip((yy + half + 2116026 * u) >> 20, 0, 255)
    return np.stack([b, g, r], axis=-1)


def naive_frame_stats(
    frame: np.ndarray,
    pixel_format: str = "bgr8",
    roi: tuple[int, int, int, int] | None = None,
    stride: int = 1,
    bit_depth: int | None = None,
    thumb_size: tuple[int, int] = (64, 64),
    grid: int = 8,
    under_threshold: int = 5,
    over_threshold: int = 250,
) -> dict:
    """Every FrameStats field computed the obvious way: full-resolution planes, then sampling and masks.

    Stride s samples the grid ``(i*s, j*s)``; the Laplacian and noise mask are taken on that grid (kernel v2).
    """
    shift = (bit_depth - 8) if pixel_format == "gray16" else 0
    if pixel_format == "nv12":
        height = frame.shape[0] * 2 // 3
        bgr = naive_nv12_to_bgr(frame)
        luma = frame[:height].astype(np.int64)
        planes = [bgr[..., 0], bgr[..., 1], bgr[..., 2]]
    elif pixel_format in ("bgr8", "rgb8"):
        bgr = frame if pixel_format == "bgr8" else frame[..., ::-1]
        luma = naive_luma(bgr)
        planes = [bgr[..., k].astype(np.int64) for k in range(3)]
    else:
        luma = frame.astype(np.int64)
        planes = None
    height, width = luma.shape
    x0, y0, w, h = roi if roi is not None else (0, 0, width, height)
    luma = luma[y0 : y0 + h, x0 : x0 + w]
    scale = float(1 << shift)

    ys = np.arange(0, h, stride)
    xs = np.arange(0, w, stride)
    sampled = luma[np.ix_(ys, xs)]
    bins8 = sampled >> shift
    luma_hist = np.bincount(bins8.ravel(), minlength=256).astype(np.int64)
    if planes is not None:
        chans = [p[y0 : y0 + h, x0 : x0 + w][np.ix_(ys, xs)] for p in planes]
        channel_hist = np.stack([np.bincount(c.ravel(), minlength=256) for c in chans]).astype(np.int64)
        mean = np.array([c.mean() for c in chans])
        var = np.array([c.var() for c in chans])
    else:
        channel_hist = luma_hist[None, :].copy()
        mean = np.array([sampled.mean() / scale])
        var = np.array([(sampled / scale).var()])
    n = sampled.size

    # Laplacian and noise on the sampled grid: a sampled pixel's neighbours are the sampled pixels next to it.
    lum = sampled.astype(np.float64)
    gh_, gw_ = lum.shape
    lap = np.zeros_like(lum)
    imm = np.zeros_like(lum)
    if gh_ >= 3 and gw_ >= 3:
        c = lum[1:-1, 1:-1]
        cross = lum[:-2, 1:-1] + lum[2:, 1:-1] + lum[1:-1, :-2] + lum[1:-1, 2:]
        diag = lum[:-2, :-2] + lum[:-2, 2:] + lum[2:, :-2] + lum[2:, 2:]
        lap[1:-1, 1:-1] = cross - 4 * c
        imm[1:-1, 1:-1] = diag - 2 * cross + 4 * c
    mask = np.zeros((gh_, gw_), bool)
    mask[1:-1, 1:-1] = True
    lap_s = lap[mask]
    imm_s = imm[mask]
    sharpness = lap_s.var() / scale**2 if lap_s.size else 0.0
    noise = math.sqrt(math.pi / 2) * np.abs(imm_s).sum() / (6 * lap_s.size) / scale if lap_s.size else 0.0

    hs, ws = len(ys), len(xs)
    th, tw = min(thumb_size[0], hs), min(thumb_size[1], ws)
    ti = np.arange(hs) * th // hs
    tj = np.arange(ws) * tw // ws
    thumb = np.zeros((th, tw))
    for a in range(th):
        for b in range(tw):
            thumb[a, b] = sampled[np.ix_(ti == a, tj == b)].mean() / scale
    gh, gw = min(grid, hs), min(grid, ws)
    gi = np.arange(hs) * gh // hs
    gj = np.arange(ws) * gw // ws
    lap_grid = lap
    grid_sharp = np.zeros((gh, gw))
    for a in range(gh):
        for b in range(gw):
            cell = np.ix_(gi == a, gj == b)
            vals = lap_grid[cell][mask[cell]]
            grid_sharp[a, b] = vals.var() / scale**2 if vals.size else 0.0

    if planes is not None:
        rg = mean[2] / mean[1] if mean[1] > 0 else 0.0
        bg = mean[0] / mean[1] if mean[1] > 0 else 0.0
    else:
        rg = bg = 1.0
    return {
        "channel_hist": channel_hist,
        "luma_hist": luma_hist,
        "pixel_count": n,
        "mean": mean,
        "var": var,
        "luma_mean": float((sampled / scale).mean()),
        "luma_var": float((sampled / scale).var()),
        "under_exposed": float((bins8 <= under_threshold).mean()),
        "over_exposed": float((bins8 >= over_threshold).mean()),
        "sharpness": float(sharpness),
        "noise_sigma": float(noise),
        "thumbnail": thumb,
        "grid_sharpness": grid_sharp,
        "rg": float(rg),
        "bg": float(bg),
    }


# --- divergences (kernels/divergence.py) --------------------------------------------------------------------


def naive_smoothed(counts: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Jeffreys-smoothed proportions (c + alpha) / (n + alpha * B) along the last axis."""
    c = np.asarray(counts, dtype=np.float64)
    return (c + alpha) / (c.sum(axis=-1, keepdims=True) + alpha * c.shape[-1])


def naive_psi(ref: np.ndarray, cur: np.ndarray, alpha: float = 0.5) -> float:
    p, q = naive_smoothed(ref, alpha), naive_smoothed(cur, alpha)
    return float(np.sum((q - p) * np.log(q / p)))


def naive_kl_terms(pc: np.ndarray, qc: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """(B,) terms p ln(p / q) of KL(p || q) over smoothed proportions (of both signs)."""
    p, q = naive_smoothed(pc, alpha), naive_smoothed(qc, alpha)
    return p * np.log(p / q)


def naive_kl(pc: np.ndarray, qc: np.ndarray, alpha: float = 0.5) -> float:
    return float(np.sum(naive_kl_terms(pc, qc, alpha)))


def naive_js_terms(pc: np.ndarray, qc: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """(2B,) terms p ln(p / m) / 2 and q ln(q / m) / 2 of JS(p, q), m = (p + q) / 2 (of both signs)."""
    p, q = naive_smoothed(pc, alpha), naive_smoothed(qc, alpha)
    m = (p + q) / 2
    return 0.5 * np.concatenate([p * np.log(p / m), q * np.log(q / m)])


def naive_js(pc: np.ndarray, qc: np.ndarray, alpha: float = 0.5) -> float:
    return float(np.sum(naive_js_terms(pc, qc, alpha)))


def rounding_scale(terms: np.ndarray) -> float:
    """sum |t|: what the rounding error of a floating-point sum of ``terms`` is proportional to.

    Summing n terms in any order errs by at most about n * eps * sum |t| (Higham, Accuracy and Stability of
    Numerical Algorithms, 4.2). For terms of one sign that is the sum itself, a relative bound; when terms of
    both signs cancel, the sum can be far smaller than sum |t|, and so two correct summation orders can
    differ by far more than eps relative to the result.
    """
    return float(np.sum(np.abs(terms)))


def naive_wasserstein(pc: np.ndarray, qc: np.ndarray, centers: np.ndarray) -> float:
    """W1 from the definition: integral of |CDF_p - CDF_q| over the positions ``centers`` of the bins."""
    p = np.asarray(pc, np.float64) / np.sum(pc, dtype=np.float64)
    q = np.asarray(qc, np.float64) / np.sum(qc, dtype=np.float64)
    return float(np.sum(np.abs(np.cumsum(p) - np.cumsum(q))[:-1] * np.diff(centers)))


def naive_wasserstein_scale(pc: np.ndarray, qc: np.ndarray, centers: np.ndarray) -> float:
    """:func:`rounding_scale` of W1's terms: W1 sums ``width_i * |sum_{k<=i} (p_k - q_k)|``, and the inner sums
    cancel, so their rounding scales with ``width_i * (CDF_p(i) + CDF_q(i))``, not with the difference."""
    p = np.asarray(pc, np.float64) / np.sum(pc, dtype=np.float64)
    q = np.asarray(qc, np.float64) / np.sum(qc, dtype=np.float64)
    return rounding_scale((np.cumsum(p) + np.cumsum(q))[:-1] * np.diff(centers))


# --- rebinning (kernels/rebin.py) ---------------------------------------------------------------------------


def naive_quantile_edges(counts: np.ndarray, n_bins: int) -> np.ndarray:
    """Nearest natural boundary to each quantile target j*M/n_bins (ties upward), dropping empty coarse bins."""
    cum = np.concatenate([[0], np.cumsum(counts)])  # cum[e] = mass of natural bins [0, e)
    total = cum[-1]
    edges = [0]
    for j in range(1, n_bins):
        e = int(np.argmax(cum * n_bins >= j * total))
        if e > 1 and j * total - cum[e - 1] * n_bins < cum[e] * n_bins - j * total:
            e -= 1
        if cum[edges[-1]] < cum[e] < total:
            edges.append(e)
    edges.append(len(counts))
    return np.array(edges, dtype=np.int64)


def naive_rebin(counts: np.ndarray, lut: np.ndarray, n_bins: int) -> np.ndarray:
    """Coarse bin j = Python sum of the natural bins mapped to j, in natural order (as exact as the kernel)."""
    c = np.asarray(counts)
    flat = c.reshape(-1, c.shape[-1])
    is_float = c.dtype.kind == "f"
    out = np.zeros((flat.shape[0], n_bins), np.float64 if is_float else np.int64)
    for k in range(flat.shape[0]):
        for j in range(n_bins):
            members = [float(v) if is_float else int(v) for v in flat[k][lut == j]]
            out[k, j] = sum(members, 0.0 if is_float else 0)
    return out.reshape(c.shape[:-1] + (n_bins,))


# --- activations (kernels/activations.py) -------------------------------------------------------------------


def naive_pool(act: np.ndarray, layout: str = "nchw") -> np.ndarray:
    a = act.astype(np.float64)
    if a.ndim == 2:
        return a
    return a.mean(axis=(2, 3) if layout == "nchw" else (1, 2))


def naive_finite_samples(act: np.ndarray) -> np.ndarray:
    return np.isfinite(act.astype(np.float64)).reshape(act.shape[0], -1).all(axis=1)


def naive_project(features: np.ndarray, mean: np.ndarray, basis: np.ndarray) -> np.ndarray:
    return (features.astype(np.float64) - mean.astype(np.float64)) @ basis.astype(np.float64)


def naive_histogram_by_edges(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin = number of inner edges <= value: [e_i, e_i+1) bins with open-ended outer bins."""
    n_bins = edges.shape[1] - 1
    rows = [
        np.bincount(
            np.searchsorted(edges[k, 1:-1], values[:, k].astype(np.float64), side="right"), minlength=n_bins
        )
        for k in range(values.shape[1])
    ]
    return np.array(rows, dtype=np.int64).reshape(values.shape[1], n_bins)


def naive_quantile_edges_float(values: np.ndarray, n_bins: int) -> np.ndarray:
    """min, the values of rank round(j N / n_bins) (halves up), max; each nudged above its predecessor."""
    n = values.shape[0]
    out = np.empty((values.shape[1], n_bins + 1))
    for k in range(values.shape[1]):
        col = np.sort(values[:, k].astype(np.float64))
        ranks = [0] + [math.floor(j * n / n_bins + 0.5) for j in range(1, n_bins)] + [n - 1]
        prev = -np.inf
        for j, r in enumerate(ranks):
            value = col[r] if r < n else np.nextafter(col[-1], np.inf)
            prev = max(value, np.nextafter(prev, np.inf)) if j else value
            out[k, j] = prev
    return out
