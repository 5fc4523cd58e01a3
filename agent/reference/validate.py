"""The content checks a baseline passes at load, after its checksum: a valid hash says the file is what a writer
wrote, not that what was written can be used. Each check names the field and why it is refused; the loader
(:func:`camdrift.agent.reference.baseline.load_baseline`) prefixes the file.

Rules: header scalars have their type and range (frame_count >= 1, alpha > 0, finite numbers; thresholds' window
and block_length >= 1, fps, run_length, cusum_h and bucket_seconds > 0, level in [0, 1)); every array has the
shape the header implies (4 groups x B bins, S scalars of ``scalar_names``, the thumbnail and the G x G grid of
the kernel, one threshold per statistic name) and a numeric dtype; every value is finite; edges strictly
increase within 0..256; lut bins lie in 0..B-1; counts, proportions, sds and null scales are >= 0; each warn
threshold is > 0 and at most its drift threshold (calibration writes warn < drift since issue #14; earlier files
capped warn at drift and still load); the optional n_eff >= 0, widening >= 1, min_frames >= 0 and forced
(strings). The activation group follows the same rules for its arrays.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from camdrift.kernels import PIXEL_FORMATS

N_GROUPS = 4  # camdrift.agent.drift.statistics.GROUPS
MAX_DIM = 1 << 16  # any declared count or size in a header (bins, cells, px)


class ContentError(ValueError):
    """A field of a baseline that cannot be used; the message names the field and why."""


def number(header: dict[str, Any], key: str, *, lo: float = -math.inf, lo_open: bool = False) -> float:
    """``header[key]`` as a finite number (ints accepted, bools not) >= ``lo`` (> ``lo`` with ``lo_open``)."""
    v = header.get(key)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ContentError(f"{key} must be a finite number, got {v!r}")
    if v < lo or (lo_open and v == lo):
        raise ContentError(f"{key} must be {'>' if lo_open else '>='} {lo:g}, got {v!r}")
    return float(v)


def integer(header: dict[str, Any], key: str, lo: int, hi: int = 2**62) -> int:
    """``header[key]`` as an int in ``lo..hi`` (bools refused)."""
    v = header.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ContentError(f"{key} must be an integer in {lo}..{hi}, got {v!r}")
    return v


def text(header: dict[str, Any], key: str) -> str:
    v = header.get(key)
    if not isinstance(v, str):
        raise ContentError(f"{key} must be a string, got {v!r}")
    return v


def strings(header: dict[str, Any], key: str) -> tuple[str, ...]:
    v = header.get(key)
    if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
        raise ContentError(f"{key} must be a list of strings, got {str(v)[:80]}")
    return tuple(v)


def array(
    arrays: dict[str, np.ndarray],
    name: str,
    shape: tuple[int | None, ...],
    *,
    lo: float | None = None,
    kinds: str = "iuf",
) -> np.ndarray:
    """``arrays[name]``: of a dtype kind in ``kinds`` (default: integer or float; "iu": integers), of ``shape``
    (None: any length), finite, every value >= ``lo`` if given."""
    a = arrays.get(name)
    if a is None:
        raise ContentError(f"array {name} is missing")
    if a.dtype.kind not in kinds:
        want = "an integer" if kinds == "iu" else "a numeric"
        raise ContentError(f"array {name} has dtype {a.dtype}, want {want} one")
    if a.ndim != len(shape) or any(w is not None and n != w for n, w in zip(a.shape, shape, strict=True)):
        want = "x".join("?" if w is None else str(w) for w in shape)
        raise ContentError(f"array {name} has shape {a.shape}, want {want}")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise ContentError(f"array {name} holds non-finite values (NaN or inf)")
    if lo is not None and a.size and a.min() < lo:
        raise ContentError(f"array {name} holds values below {lo:g} (min {a.min().item()!r})")
    return a


def kernel(header: dict[str, Any]) -> None:
    """The kernel keys: pixel format, positive stride, thumbnail and grid sizes, exposure limits, resolution."""
    if header.get("pixel_format") not in PIXEL_FORMATS:
        raise ContentError(
            f"pixel_format must be one of {', '.join(PIXEL_FORMATS)}, got {header.get('pixel_format')!r}"
        )
    integer(header, "stride", 1, MAX_DIM)
    integer(header, "grid", 1, 256)
    integer(header, "under_threshold", 0, 255)
    integer(header, "over_threshold", 0, 255)
    if "kernel_version" in header:  # absent: a file from before kernel versions (version 1)
        integer(header, "kernel_version", 1, 1000)
    for key, n in (("thumb_size", 2), ("resolution", 2), ("roi", 4)):
        v = header.get(key)
        if key == "roi" and v is None:
            continue
        ok = isinstance(v, list) and len(v) == n and all(type(x) is int and 0 <= x <= MAX_DIM for x in v)
        if not ok or (key != "roi" and min(v) < 1) or (key == "roi" and min(v[2:]) < 1):
            raise ContentError(f"{key} must be a list of {n} integers in range, got {str(v)[:80]}")
    if header["under_threshold"] >= header["over_threshold"]:
        raise ContentError(
            f"under_threshold must be below over_threshold, got {header['under_threshold']} and "
            f"{header['over_threshold']}"
        )
    roi, (w, h) = header.get("roi"), header["resolution"]
    if roi is not None and (roi[0] + roi[2] > w or roi[1] + roi[3] > h):
        raise ContentError(f"roi {roi} (x, y, w, h) does not fit the resolution {w}x{h}")


def thresholds(th: Any, arrays: dict[str, np.ndarray], prefix: str = "thresholds") -> None:
    """The decision thresholds: one finite drift/warn/null-scale per name, 0 < warn <= drift."""
    if not isinstance(th, dict):
        raise ContentError(f"{prefix} must be a table, got {str(th)[:80]}")
    names = strings(th, "names")
    n = len(names)
    drift = array(arrays, f"{prefix}.drift", (n,))
    warn = array(arrays, f"{prefix}.warn", (n,))
    array(arrays, f"{prefix}.null_scale", (n,), lo=0.0)
    bad = np.flatnonzero(~((warn > 0) & (warn <= drift)))
    if bad.size:
        i = int(bad[0])
        raise ContentError(
            f"{prefix} of {names[i]}: want 0 < warn <= drift, got warn {float(warn[i])!r} and drift {float(drift[i])!r}"
        )


def increasing_edges(a: np.ndarray, name: str, lo: float, hi: float) -> None:
    if a.shape[-1] < 2 or (np.diff(a, axis=-1) <= 0).any() or a.min() < lo or a.max() > hi:
        raise ContentError(f"array {name} must increase strictly along each row within {lo:g}..{hi:g}")


def check_baseline(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Every rule of the module docstring for a baseline's header and arrays; :class:`ContentError` if one fails."""
    for key in ("camera_id", "created_at", "source"):
        text(header, key)
    integer(header, "frame_count", 1)
    number(header, "alpha", lo=0.0, lo_open=True)
    kernel(header)
    names = strings(header, "scalar_names")
    s, (th, tw), g = len(names), header["thumb_size"], header["grid"]
    edges = array(arrays, "edges", (N_GROUPS, None), kinds="iu")
    b = edges.shape[1] - 1
    if not 1 <= b <= 256:
        raise ContentError(f"array edges has {b} bins per group, want 1..256")
    increasing_edges(edges, "edges", 0, 256)
    lut = array(arrays, "lut", (N_GROUPS, 256), lo=0, kinds="iu")
    if lut.max() >= b:
        raise ContentError(f"array lut names bin {lut.max()}, the edges have {b}")
    array(arrays, "ref_counts", (N_GROUPS, b), lo=0.0)
    props = array(arrays, "ref_props", (N_GROUPS, b), lo=0.0)
    with np.errstate(all="ignore"):  # 1e308 proportions overflow the sum: refused below, not a warning
        sums = props.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-6):
        raise ContentError("array ref_props: each group's proportions must sum to 1")
    for name in ("scalar_mean", "scalar_acf1"):
        array(arrays, name, (s,))
    for name in ("scalar_std", "scalar_robust", "window_sd"):
        array(arrays, name, (s,), lo=0.0)
    array(arrays, "scalar_acf", (s, None))
    array(arrays, "thumbnail", (th, tw))
    weight = array(arrays, "thumbnail_weight", (th, tw), lo=0.0)
    if weight.size and weight.max() > 1.0:
        raise ContentError("array thumbnail_weight holds values above 1")
    for name in ("grid_log_sharpness", "grid_luma"):
        array(arrays, name, (g, g))
    for name in ("grid_sharpness_sd", "grid_luma_sd"):
        array(arrays, name, (g, g), lo=0.0)
    check_thresholds_header(header.get("thresholds"))
    thresholds(header["thresholds"], arrays)
    if any(k.startswith("frames.") for k in arrays):
        _reference_frames(arrays, s, (th, tw), g)
    if "activations" in header:
        check_activations(header["activations"], arrays)


def check_thresholds_header(th: Any) -> None:
    """The scalar settings of a baseline's thresholds (window, rates, CUSUM, bootstrap)."""
    if not isinstance(th, dict):
        raise ContentError(f"thresholds must be a table, got {str(th)[:80]}")
    for key in ("method", "budget"):
        text(th, key)
    strings(th, "notes")
    integer(th, "window", 1, 10**7)
    integer(th, "block_length", 1, 10**7)
    integer(th, "n_replicates", 0, 10**7)
    integer(th, "seed", -(2**63), 2**63)
    for key in ("fps", "run_length", "cusum_h", "bucket_seconds"):
        number(th, key, lo=0.0, lo_open=True)
    number(th, "cusum_k", lo=0.0)
    # recorded since issue #14, absent from older files
    if "n_eff" in th:
        number(th, "n_eff", lo=0.0)
    if "widening" in th:
        number(th, "widening", lo=1.0)
    if "min_frames" in th:
        integer(th, "min_frames", 0, 10**9)
    if "forced" in th:
        strings(th, "forced")
    if not number(th, "level", lo=0.0) < 1.0:
        raise ContentError(f"thresholds.level must be < 1, got {th['level']!r}")


def _reference_frames(arrays: dict[str, np.ndarray], s: int, thumb: tuple[int, int], g: int) -> None:
    hist = array(arrays, "frames.hist", (None, N_GROUPS, 256), lo=0, kinds="iu")
    r = hist.shape[0]
    array(arrays, "frames.scalars", (r, s))
    array(arrays, "frames.thumbnails", (r, *thumb))
    array(arrays, "frames.grid_sharpness", (r, g, g))
    array(arrays, "frames.grid_luma", (r, g, g))


def check_activations(act: Any, arrays: dict[str, np.ndarray]) -> None:
    """The activation group: model identity, sizes, and the arrays' shapes and ranges."""
    if not isinstance(act, dict):
        raise ContentError(f"activations must be a table, got {str(act)[:80]}")
    for key in ("model_sha256", "model_name", "output", "output_layout"):
        text(act, key)
    for key, lo in (("every_n", 1), ("window", 1), ("sample_count", 1)):
        integer(act, key, lo)
    number(act, "alpha", lo=0.0, lo_open=True)
    number(act, "residual_mean")
    number(act, "residual_sd", lo=0.0)
    basis = array(arrays, "act.basis", (None, None))
    c, k = basis.shape
    if not (1 <= k <= c <= MAX_DIM):
        raise ContentError(f"array act.basis has shape {basis.shape}, want C x K with 1 <= K <= C")
    array(arrays, "act.mean", (c,))
    array(arrays, "act.explained", (k,), lo=0.0)
    edges = array(arrays, "act.edges", (k, None))
    if edges.shape[1] < 2 or (np.diff(edges, axis=1) <= 0).any():
        raise ContentError("array act.edges must increase strictly along each row")
    array(arrays, "act.ref_counts", (k, edges.shape[1] - 1), lo=0.0)
    array(arrays, "act.proj_mean", (k,))
    array(arrays, "act.proj_cov", (k, k))
    thresholds(
        {"names": act.get("names", ["act.psi", "act.mahalanobis", "act.residual"])}, arrays, prefix="act"
    )
