"""The reference a camera is judged against: :class:`Baseline`, its :class:`Thresholds`, and its one file.

The file is ONE self-describing ``np.savez`` archive: every array is an array entry, and the entry ``header`` is
UTF-8 JSON bytes stored as a uint8 array. It is read with ``np.load(..., allow_pickle=False)``. The header holds
``format`` ("camdrift-baseline"), ``version`` and ``sha256``: the SHA-256 over the canonical content (the header
JSON without ``sha256``, keys sorted, then for each array in sorted name order its name, dtype, shape and bytes),
so a truncated or altered file is refused with the reason.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from camdrift.agent.reference import activation_baseline
from camdrift.agent.reference.activation_baseline import ActivationReference

FORMAT = "camdrift-baseline"
FORMAT_VERSION = 1
GROUPS = ("blue", "green", "red", "luma")


class BaselineError(ValueError):
    """A baseline file or a frame configuration that cannot be used; the message names the reason."""


@dataclass(frozen=True)
class Thresholds:
    """Calibrated decision thresholds for every monitored statistic, with their provenance.

    names: statistic names (``psi.<group>``, ``shift.<scalar>``, ``grid.sharpness``, ``displacement``); drift /
        warn: (n,) float64 thresholds on each statistic's score (PSI in nats, shifts and the grid score as |z|,
        displacement in frame pixels); warn doubles as the lower exit threshold.
    null_scale: (n,) the bootstrap mean of each statistic's chi-like value (PSI, z^2, px^2) under no drift.
    method: ``bootstrap-tail`` (scaled chi-square fitted to the bootstrap max-statistic) or ``chi2`` (theory).
    window: sliding-window length (frames); fps: analysis rate (frames / s) the budget is counted in.
    budget: plain words, e.g. ``one per 30 days at 5 fps``; run_length: target frames between false alarms;
        level: the per-test exceedance probability that run length implies.
    cusum_k, cusum_h: two-sided CUSUM allowance and decision threshold (units of a bucket mean's null sd);
        bucket_seconds: the long-window bucket the CUSUM runs on.
    n_replicates, block_length, seed: bootstrap settings; notes: free remarks (which fallbacks were taken).
    """

    names: tuple[str, ...]
    drift: np.ndarray
    warn: np.ndarray
    null_scale: np.ndarray
    method: str
    window: int
    fps: float
    budget: str
    run_length: float
    level: float
    cusum_k: float
    cusum_h: float
    bucket_seconds: float
    n_replicates: int
    block_length: int
    seed: int
    notes: tuple[str, ...] = ()

    def index(self, name: str) -> int:
        return self.names.index(name)


class ReferenceFrames(NamedTuple):
    """Per-frame reference features, kept in a baseline so that baselines can be merged and their thresholds
    recomputed from the union (``camdrift baseline merge``); optional (a file without them loads with None).

    hist: (R, K, 256) uint32 natural-bin counts per group in :data:`GROUPS` order; scalars: (R, S) float64 in
    the baseline's ``scalar_names`` order; thumbnails: (R, th, tw) float16 or float32 luma (DN8);
    grid_sharpness: (R, gh, gw) float32 or float64 ln(1 + cell Laplacian variance); grid_luma: (R, gh, gw) DN8.
    Stored as arrays ``frames.<field>``.
    """

    hist: np.ndarray
    scalars: np.ndarray
    thumbnails: np.ndarray
    grid_sharpness: np.ndarray
    grid_luma: np.ndarray


@dataclass(frozen=True)
class Baseline:
    """Everything the engine compares a stream with, frozen at calibration.

    Kernel parameters (pixel_format, roi (x, y, w, h) or None, stride, resolution (w, h), thumb_size (th, tw),
    grid, under/over thresholds) must match the live stream's; :meth:`check_frames` refuses a mismatch.
    edges: (K, B+1) int64 natural-bin edges per group in :data:`GROUPS` order (reference quantile bins);
    lut: (K, 256) int64 natural bin -> rebinned bin; ref_counts: (K, B) float64 pooled reference counts;
    ref_props: (K, B) float64 smoothed reference proportions (rows sum to 1).
    scalar_names: names of the per-frame scalars (see :mod:`camdrift.agent.drift.features`); scalar_mean, scalar_std,
    scalar_robust (1.4826 MAD), scalar_acf1: (S,) per-frame summaries; window_sd: (S,) bootstrap null sd of
    the sliding-window mean; scalar_acf: (S, L) autocorrelation at lags 0..L-1 (for the bucket-mean sd).
    thumbnail: (th, tw) float64 mean luma thumbnail (DN8); thumbnail_weight: (th, tw) float64 in (0, 1], how
    static each thumbnail cell is in the reference (1 / (1 + (sd / median sd)^2)), the weight phase correlation
    gives it so that passing products do not read as a camera move; grid_log_sharpness, grid_luma: (gh, gw) float64
    reference means per cell; grid_sharpness_sd, grid_luma_sd: (gh, gw) null sd of their window means.
    reference_frames: the per-frame features the baseline was built from (:class:`ReferenceFrames`), or None.
    activations: the optional activation group (:class:`~camdrift.agent.activation_baseline.ActivationReference`),
    or None for a pixel-statistics-only baseline.
    """

    camera_id: str
    created_at: str
    source: str
    frame_count: int
    pixel_format: str
    roi: tuple[int, int, int, int] | None
    stride: int
    resolution: tuple[int, int]
    thumb_size: tuple[int, int]
    grid: int
    under_threshold: int
    over_threshold: int
    alpha: float
    edges: np.ndarray
    lut: np.ndarray
    ref_counts: np.ndarray
    ref_props: np.ndarray
    scalar_names: tuple[str, ...]
    scalar_mean: np.ndarray
    scalar_std: np.ndarray
    scalar_robust: np.ndarray
    scalar_acf1: np.ndarray
    window_sd: np.ndarray
    scalar_acf: np.ndarray
    thumbnail: np.ndarray
    thumbnail_weight: np.ndarray
    grid_log_sharpness: np.ndarray
    grid_luma: np.ndarray
    grid_sharpness_sd: np.ndarray
    grid_luma_sd: np.ndarray
    thresholds: Thresholds
    format_version: int = FORMAT_VERSION
    reference_frames: ReferenceFrames | None = None
    activations: ActivationReference | None = None

    @property
    def n_bins(self) -> int:
        return int(self.ref_counts.shape[1])

    @functools.cached_property
    def baseline_id(self) -> str:
        """Short content id (first 16 hex of the canonical SHA-256): states name the baseline they belong to.

        Computed once per object (the content is frozen): it hashes every array, per-frame features included."""
        header, arrays = _to_parts(self)
        return _digest(header, arrays)[:16]

    def check_frames(
        self, pixel_format: str, resolution: tuple[int, int], roi: tuple[int, int, int, int] | None
    ) -> None:
        """Raise :class:`BaselineError` naming the difference if frames of this kind cannot be judged here."""
        if pixel_format != self.pixel_format:
            raise BaselineError(
                f"pixel format {pixel_format!r} differs from the baseline's {self.pixel_format!r}"
            )
        if tuple(resolution) != tuple(self.resolution):
            raise BaselineError(
                f"resolution {resolution[0]}x{resolution[1]} differs from the baseline's "
                f"{self.resolution[0]}x{self.resolution[1]}"
            )
        want = None if self.roi is None else tuple(self.roi)
        got = None if roi is None else tuple(roi)
        if got != want:
            raise BaselineError(f"roi {got} differs from the baseline's {want}")


_ARRAY_FIELDS = (
    "edges lut ref_counts ref_props scalar_mean scalar_std scalar_robust scalar_acf1 window_sd scalar_acf "
    "thumbnail thumbnail_weight grid_log_sharpness grid_luma grid_sharpness_sd grid_luma_sd"
).split()
_THRESHOLD_ARRAYS = ("drift", "warn", "null_scale")


def _to_parts(b: Baseline) -> tuple[dict, dict[str, np.ndarray]]:
    arrays = {name: np.ascontiguousarray(getattr(b, name)) for name in _ARRAY_FIELDS}
    header = {
        f.name: getattr(b, f.name)
        for f in dataclasses.fields(b)
        if f.name not in _ARRAY_FIELDS
        and f.name not in ("thresholds", "format_version", "reference_frames", "activations")
    }
    header["roi"] = None if b.roi is None else list(b.roi)
    header["resolution"] = list(b.resolution)
    header["thumb_size"] = list(b.thumb_size)
    header["scalar_names"] = list(b.scalar_names)
    t = b.thresholds
    th = {f.name: getattr(t, f.name) for f in dataclasses.fields(t) if f.name not in _THRESHOLD_ARRAYS}
    th["names"] = list(t.names)
    th["notes"] = list(t.notes)
    header["thresholds"] = th
    for name in _THRESHOLD_ARRAYS:
        arrays[f"thresholds.{name}"] = np.ascontiguousarray(getattr(t, name), dtype=np.float64)
    if b.reference_frames is not None:  # optional arrays: files without them still load (and hash) as before
        for name, a in b.reference_frames._asdict().items():
            arrays[f"frames.{name}"] = np.ascontiguousarray(a)
    if b.activations is not None:  # optional too: baselines without it hash as before
        header["activations"], act_arrays = activation_baseline.to_parts(b.activations)
        arrays |= act_arrays
    header["format"] = FORMAT
    header["version"] = b.format_version
    return header, arrays


def _digest(header: dict, arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({k: v for k, v in header.items() if k != "sha256"}, sort_keys=True).encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def atomic_write(path: str | Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` atomically: temp file in the same directory, fsync, os.replace, fsync dir."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the file from the service user
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def pack_npz(header: dict, arrays: dict[str, np.ndarray]) -> bytes:
    """``np.savez`` bytes holding ``arrays`` plus the JSON ``header`` as a uint8 array (no pickle anywhere)."""
    for name, a in arrays.items():
        if np.asarray(a).dtype.kind not in "biuf":
            raise TypeError(f"array {name!r} has dtype {np.asarray(a).dtype}: only numeric arrays are stored")
    buf = io.BytesIO()
    raw = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
    np.savez(buf, header=raw, allow_pickle=False, **arrays)
    return buf.getvalue()


def unpack_npz(path: str | Path, kind: str, error: type[ValueError]) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a file written by :func:`pack_npz`; raise ``error`` naming why it is not a readable ``kind`` file."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if "header" not in z.files:
                raise error(f"{path}: not a {kind} file (no header entry)")
            header = json.loads(z["header"].tobytes().decode())
            arrays = {name: z[name] for name in z.files if name != "header"}
    except error:
        raise
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        raise error(f"{path}: not a readable {kind} file (truncated or not an npz archive: {exc})") from exc
    if not isinstance(header, dict):
        raise error(f"{path}: not a {kind} file (header is not a JSON object)")
    return header, arrays


def save_baseline(baseline: Baseline, path: str | Path) -> None:
    """Write ``baseline`` to ``path`` atomically (see the module docstring for the format)."""
    header, arrays = _to_parts(baseline)
    header["sha256"] = _digest(header, arrays)
    atomic_write(path, pack_npz(header, arrays))


def load_baseline(path: str | Path) -> Baseline:
    """Read a baseline; raise :class:`BaselineError` if it is truncated, altered, from the future or not one."""
    header, arrays = unpack_npz(path, "baseline", BaselineError)
    if header.get("format") != FORMAT:
        raise BaselineError(f"{path}: not a baseline file (format {header.get('format')!r})")
    version = header.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise BaselineError(
            f"{path}: baseline format version {version!r} is not supported (this camdrift reads 1..{FORMAT_VERSION})"
        )
    stored = header.get("sha256")
    if stored != _digest(header, arrays):
        raise BaselineError(f"{path}: content hash mismatch (the file was altered or damaged)")
    try:
        th = dict(header["thresholds"])
        th["names"] = tuple(th["names"])
        th["notes"] = tuple(th["notes"])
        for name in _THRESHOLD_ARRAYS:
            th[name] = arrays[f"thresholds.{name}"]
        fields = {
            k: v
            for k, v in header.items()
            if k not in ("format", "version", "sha256", "thresholds", "activations")
        }
        fields["roi"] = None if fields["roi"] is None else tuple(fields["roi"])
        for key in ("resolution", "thumb_size", "scalar_names"):
            fields[key] = tuple(fields[key])
        for name in _ARRAY_FIELDS:
            fields[name] = arrays[name]
        if any(k.startswith("frames.") for k in arrays):
            fields["reference_frames"] = ReferenceFrames(
                **{name: arrays[f"frames.{name}"] for name in ReferenceFrames._fields}
            )
        if "activations" in header:
            fields["activations"] = activation_baseline.from_parts(header["activations"], arrays)
        return Baseline(thresholds=Thresholds(**th), format_version=version, **fields)
    except (KeyError, TypeError) as exc:
        raise BaselineError(f"{path}: baseline is missing or has a malformed field ({exc})") from exc
