"""The reference a camera is judged against: :class:`Baseline`, its :class:`Thresholds`, and its one file.

The file is ONE self-describing ``np.savez`` archive (:mod:`camdrift.agent.reference.archive`): every array is an
array entry, and the entry ``header`` is UTF-8 JSON bytes stored as a uint8 array. It is read with
``np.load(..., allow_pickle=False)``. The header holds ``format`` ("camdrift-baseline"), ``version`` and
``sha256``: the SHA-256 over the canonical content (the header JSON without ``sha256``, keys sorted, then for each
array in sorted name order its name, dtype, shape and bytes), so a truncated or altered file is refused with the
reason. Groups are in :data:`camdrift.agent.drift.statistics.GROUPS` order (blue, green, red, luma).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from camdrift.agent.files import atomic_write_bytes
from camdrift.agent.reference import activation_baseline, output_baseline
from camdrift.agent.reference.activation_baseline import ActivationReference
from camdrift.agent.reference.archive import content_digest, pack_npz, unpack_npz
from camdrift.agent.reference.output_baseline import OutputReference
from camdrift.agent.reference.thresholds import Thresholds, thresholds_from_parts, thresholds_to_parts
from camdrift.agent.reference.validate import ContentError, check_baseline
from camdrift.kernels.frame_stats import KernelParams

FORMAT = "camdrift-baseline"
# 2: the rg, bg scalars are ratios of channel medians (features.colour_ratios); 1: ratios of channel means,
# still read and scored with means, so a baseline made before keeps working until it is recalibrated.
FORMAT_VERSION = 2


class BaselineError(ValueError):
    """A baseline file or a frame configuration that cannot be used; the message names the reason."""


class ReferenceFrames(NamedTuple):
    """Per-frame reference features, kept in a baseline so that baselines can be merged and their thresholds
    recomputed from the union (``camdrift baseline merge``); optional (a file without them loads with None).

    hist: (R, K, 256) uint32 natural-bin counts per group in ``GROUPS`` order; scalars: (R, S) float64 in
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

    kernel: the parameters frames were analysed with (:class:`~camdrift.kernels.KernelParams`, its resolution
    set); live frames are analysed with the same ones, and :meth:`check_frames` refuses frames they do not fit.
    The properties ``pixel_format``, ``roi``, ``stride``, ``resolution``, ``thumb_size``, ``grid``,
    ``under_threshold`` and ``over_threshold`` read it.
    edges: (K, B+1) int64 natural-bin edges per group in ``GROUPS`` order (reference quantile bins);
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
    or None for a pixel-statistics-only baseline; outputs: the optional model-outputs group
    (:class:`~camdrift.agent.reference.output_baseline.OutputReference`), or None.
    """

    camera_id: str
    created_at: str
    source: str
    frame_count: int
    kernel: KernelParams
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
    outputs: OutputReference | None = None

    @property
    def colour_medians(self) -> bool:
        """Whether the rg, bg scalars are ratios of channel medians (format 2 on) or of means (format 1)."""
        return self.format_version >= 2

    @property
    def n_bins(self) -> int:
        return int(self.ref_counts.shape[1])

    # Read-only views of ``kernel``: the record is what travels; these read one of its fields.

    @property
    def pixel_format(self) -> str:
        """``kernel.pixel_format``: one of ``PIXEL_FORMATS``."""
        return self.kernel.pixel_format

    @property
    def roi(self) -> tuple[int, int, int, int] | None:
        """``kernel.roi``: (x, y, w, h) px, or None for the whole frame."""
        return self.kernel.roi

    @property
    def stride(self) -> int:
        """``kernel.stride``: pixel stride."""
        return self.kernel.stride

    @property
    def resolution(self) -> tuple[int, int]:
        """``kernel.resolution``: (w, h) px of the reference frames (NV12: the luma plane)."""
        return self.kernel.resolution

    @property
    def thumb_size(self) -> tuple[int, int]:
        """``kernel.thumb_size``: (th, tw) thumbnail cells."""
        return self.kernel.thumb_size

    @property
    def grid(self) -> int:
        """``kernel.grid``: G of the G x G sharpness grid."""
        return self.kernel.grid

    @property
    def under_threshold(self) -> int:
        """``kernel.under_threshold``: luma (DN8) at or below which a pixel is under-exposed."""
        return self.kernel.under_threshold

    @property
    def over_threshold(self) -> int:
        """``kernel.over_threshold``: luma (DN8) at or above which a pixel is over-exposed."""
        return self.kernel.over_threshold

    @functools.cached_property
    def baseline_id(self) -> str:
        """Short content id (first 16 hex of the canonical SHA-256): states name the baseline they belong to.

        Computed once per object (frozen content) over every array, per-frame features included; a loaded
        baseline takes it from the file's verified digest, so the agent's lean load names it as calibrate does."""
        header, arrays = _to_parts(self)
        return content_digest(header, arrays)[:16]

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

    def check_source(self, pixel_format: str, stride: int, roi: tuple[int, int, int, int] | None) -> None:
        """Raise :class:`BaselineError` if a source configured so (``source.pixel_format``, ``analysis.stride``,
        ``source.roi``; stride 1 and roi None mean "the baseline's") cannot be analysed with this baseline.

        The message continues "baseline PATH ...", e.g. "was calibrated on bgr8 frames but source.pixel_format
        is gray8"."""
        if pixel_format != self.pixel_format:
            raise BaselineError(
                f"was calibrated on {self.pixel_format} frames but source.pixel_format is {pixel_format}"
            )
        if stride not in (1, self.stride):
            raise BaselineError(
                f"was calibrated with stride {self.stride} but analysis.stride is {stride}; calibrate at the "
                "stride you want to run with"
            )
        if roi is not None and tuple(roi) != tuple(self.roi or ()):
            raise BaselineError(f"was calibrated with roi {self.roi} but source.roi is {tuple(roi)}")


_ARRAY_FIELDS = (
    "edges lut ref_counts ref_props scalar_mean scalar_std scalar_robust scalar_acf1 window_sd scalar_acf "
    "thumbnail thumbnail_weight grid_log_sharpness grid_luma grid_sharpness_sd grid_luma_sd"
).split()


# The kernel parameters are top-level header keys (as in version 1 files, before they became one record).
_KERNEL_KEYS = tuple(f.name for f in dataclasses.fields(KernelParams))


def _kernel_header(k: KernelParams) -> dict:
    if k.resolution is None:
        raise ValueError("a baseline's kernel parameters need the frames' resolution")
    header = k.header_fields()
    for name in ("roi", "resolution", "thumb_size"):  # JSON lists, as the file has always held them
        header[name] = None if header[name] is None else list(header[name])
    return header


def _to_parts(b: Baseline) -> tuple[dict, dict[str, np.ndarray]]:
    arrays = {name: np.ascontiguousarray(getattr(b, name)) for name in _ARRAY_FIELDS}
    header = {
        f.name: getattr(b, f.name)
        for f in dataclasses.fields(b)
        if f.name not in _ARRAY_FIELDS
        and f.name
        not in ("kernel", "thresholds", "format_version", "reference_frames", "activations", "outputs")
    }
    header |= _kernel_header(b.kernel)
    header["scalar_names"] = list(b.scalar_names)
    header["thresholds"], th_arrays = thresholds_to_parts(b.thresholds)
    arrays |= th_arrays
    if b.reference_frames is not None:  # optional arrays: files without them still load (and hash) as before
        for name, a in b.reference_frames._asdict().items():
            arrays[f"frames.{name}"] = np.ascontiguousarray(a)
    if b.activations is not None:  # optional too: baselines without it hash as before
        header["activations"], act_arrays = activation_baseline.to_parts(b.activations)
        arrays |= act_arrays
    if b.outputs is not None:
        header["outputs"], out_arrays = output_baseline.to_parts(b.outputs)
        arrays |= out_arrays
    header["format"] = FORMAT
    header["version"] = b.format_version
    return header, arrays


def save_baseline(baseline: Baseline, path: str | Path) -> None:
    """Write ``baseline`` to ``path`` atomically (see the module docstring for the format)."""
    header, arrays = _to_parts(baseline)
    header["sha256"] = content_digest(header, arrays)
    atomic_write_bytes(Path(path), pack_npz(header, arrays))


def load_baseline(path: str | Path, *, with_frames: bool = True) -> Baseline:
    """Read a baseline; raise :class:`BaselineError` (one line naming ``path`` and the reason) if it is not a
    regular file, truncated, altered, from the future, not one, or holds content that cannot be used (the rules
    of :mod:`camdrift.agent.reference.validate`, checked after the hash); FileNotFoundError if it is missing.
    with_frames: keep the per-frame reference features (``reference_frames``: most of the file, used only by
    ``baseline merge``); the agent passes False, so they are read for the hash and then let go."""
    header, arrays = unpack_npz(path, "baseline", BaselineError)
    if header.get("format") != FORMAT:
        raise BaselineError(f"{path}: not a baseline file (format {header.get('format')!r})")
    version = header.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise BaselineError(
            f"{path}: baseline format version {version!r} is not supported (this camdrift reads 1..{FORMAT_VERSION})"
        )
    stored = header.get("sha256")
    if stored != content_digest(header, arrays):
        raise BaselineError(f"{path}: content hash mismatch (the file was altered or damaged)")
    try:
        check_baseline(header, arrays)
        if "outputs" in header:
            output_baseline.check_outputs(header["outputs"], arrays)
    except ContentError as exc:
        raise BaselineError(f"{path}: refused baseline: {exc}") from None
    try:
        thresholds = thresholds_from_parts(header["thresholds"], arrays)
        fields = {
            k: v
            for k, v in header.items()
            if k not in ("format", "version", "sha256", "thresholds", "activations", "outputs", *_KERNEL_KEYS)
        }
        fields["kernel"] = KernelParams.from_header(header)
        if (why := fields["kernel"].outdated()) is not None:
            raise BaselineError(f"{path}: {why}")
        fields["scalar_names"] = tuple(fields["scalar_names"])
        for name in _ARRAY_FIELDS:
            fields[name] = arrays[name]
        if with_frames and any(k.startswith("frames.") for k in arrays):
            fields["reference_frames"] = ReferenceFrames(
                **{name: arrays[f"frames.{name}"] for name in ReferenceFrames._fields}
            )
        if "activations" in header:
            fields["activations"] = activation_baseline.from_parts(header["activations"], arrays)
        if "outputs" in header:
            fields["outputs"] = output_baseline.from_parts(header["outputs"], arrays)
        baseline = Baseline(thresholds=thresholds, format_version=version, **fields)
        baseline.__dict__["baseline_id"] = stored[:16]  # the file's id, loaded with or without its frames
        return baseline
    except BaselineError:
        raise  # already one line naming the file and the reason (e.g. "recalibrate: ...")
    except (KeyError, TypeError, ValueError) as exc:
        raise BaselineError(f"{path}: baseline is missing or has a malformed field ({exc})") from None
