"""The optional activation group of a baseline: model identity, preprocessing, PCA basis, reference bins and
thresholds (:class:`ActivationReference`), and how it is stored inside the baseline file.

Stored as the header entry ``activations`` (scalars, preprocessing) and arrays ``act.<field>``; a baseline
without them loads with ``activations=None`` and hashes exactly as before.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from camdrift.agent.model.runner import Preprocess

STATISTICS = ("act.psi", "act.mahalanobis", "act.residual")
_ARRAYS = (
    "mean",
    "basis",
    "explained",
    "edges",
    "ref_counts",
    "proj_mean",
    "proj_cov",
    "drift",
    "warn",
    "null_scale",
)


class ModelMismatchError(ValueError):
    """The model file given to the agent is not the one the baseline was calibrated with."""


@dataclass(frozen=True)
class ActivationReference:
    """Everything the agent needs to summarise and judge a model's activations, frozen at calibration.

    model_sha256: hex SHA-256 of the model file; model_name: its file name (a hint, not an identity);
    output: the summarised tensor; output_layout: its layout if 4-D ("nchw"/"nhwc"); preprocess: the input
    recipe; every_n: the model runs on every n-th analysed frame; window: sliding window length M in
    activation samples; alpha: PSI pseudo-count; sample_count: reference activation samples.
    mean: (C,) float64 reference mean of the pooled features; basis: (C, K) float64 orthonormal PCA components;
    explained: (K,) float64 variance ratio of each component (sums to the captured share); edges: (K, B + 1)
    float64 reference-quantile edges per component; ref_counts: (K, B) float64 reference counts;
    proj_mean: (K,) and proj_cov: (K, K) mean and covariance of the projected reference features (Mahalanobis);
    residual_mean, residual_sd: mean and sd of the per-sample residual norm (what the basis does not hold);
    names: :data:`STATISTICS`; drift, warn, null_scale: (3,) float64 thresholds on the scores (``act.psi``:
    the mean over components of their PSI in nats; ``act.mahalanobis``: Mahalanobis distance of the window
    mean; ``act.residual``: rise of the window's mean residual norm in sds of a window mean) and the bootstrap
    mean of their chi-like values (mean PSI, squared distance, squared rise); budget, level, method, notes:
    provenance.
    """

    model_sha256: str
    model_name: str
    output: str
    output_layout: str
    preprocess: Preprocess
    every_n: int
    window: int
    alpha: float
    sample_count: int
    mean: np.ndarray
    basis: np.ndarray
    explained: np.ndarray
    edges: np.ndarray
    ref_counts: np.ndarray
    proj_mean: np.ndarray
    proj_cov: np.ndarray
    residual_mean: float
    residual_sd: float
    drift: np.ndarray
    warn: np.ndarray
    null_scale: np.ndarray
    budget: str = ""
    level: float = 0.0
    method: str = "bootstrap-tail"
    notes: tuple[str, ...] = ()
    names: tuple[str, ...] = STATISTICS

    @property
    def n_components(self) -> int:
        return int(self.basis.shape[1])

    @property
    def n_channels(self) -> int:
        return int(self.basis.shape[0])

    def check_model(self, sha256: str, path: str = "") -> None:
        """Raise :class:`ModelMismatchError` naming both hashes unless ``sha256`` is the calibrated model's."""
        if sha256 != self.model_sha256:
            raise ModelMismatchError(
                f"model {path or '?'} (sha256 {sha256[:16]}...) is not the model this baseline was calibrated "
                f"with ({self.model_name}, sha256 {self.model_sha256[:16]}...): recalibrate the activation group "
                "or give the agent the calibrated model file"
            )


def to_parts(a: ActivationReference) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(header entry, arrays ``act.<field>``) of an activation reference."""
    header = {
        f.name: getattr(a, f.name)
        for f in dataclasses.fields(a)
        if f.name not in _ARRAYS and f.name != "preprocess"
    }
    header["preprocess"] = a.preprocess.as_dict()
    header["notes"] = list(a.notes)
    header["names"] = list(a.names)
    arrays = {f"act.{name}": np.ascontiguousarray(getattr(a, name), dtype=np.float64) for name in _ARRAYS}
    return header, arrays


def from_parts(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> ActivationReference:
    """Inverse of :func:`to_parts`; KeyError/TypeError for a malformed entry (the baseline loader reports it)."""
    fields = dict(header)
    fields["preprocess"] = Preprocess.from_dict(fields["preprocess"])
    fields["notes"] = tuple(fields.get("notes", ()))
    fields["names"] = tuple(fields.get("names", STATISTICS))
    for name in _ARRAYS:
        fields[name] = arrays[f"act.{name}"]
    return ActivationReference(**fields)


__all__ = ["STATISTICS", "ActivationReference", "ModelMismatchError", "from_parts", "to_parts"]
