"""The activation group of the drift engine: a sliding window over the last M activation summaries, scored
against the baseline's :class:`~camdrift.agent.reference.activation_baseline.ActivationReference`.

Each summary (a (C,) pooled feature vector, from the agent's own model run or handed over by the app) is
projected on the reference PCA basis, each component binned in its reference-quantile bins. The window keeps the
(K, B) counts (incrementally, exact integers), the M projected vectors and the M residual norms (what the basis
does not hold). Three statistics, named as in
:data:`~camdrift.agent.reference.activation_baseline.STATISTICS`:

- ``act.psi``: the mean over components of each component's PSI (nats) of the window's counts against the
  reference counts. The mean, not the max: a window of a few dozen samples makes each component's PSI noisy
  (sparse bins), and a content change moves several components at once; the per-component values stay as
  evidence of which components moved;
- ``act.mahalanobis``: the Mahalanobis distance of the window's mean projection from the reference mean, in the
  reference covariance of the projected features;
- ``act.residual``: the rise of the window's mean residual norm ||f - mean - B B^T (f - mean)|| above the
  reference's, in units of its per-sample sd / sqrt(M) (one-sided: 0 when it falls). New content tends to
  leave the subspace the reference varied in: a product variant moves the residual more than the components.

Summaries that hold NaN/Inf or have the wrong length are counted by reason and never enter the window.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from camdrift.agent.drift.contract import Statistic, copy_into, scored_statistics
from camdrift.agent.drift.decision import DRIFT, Cause, Hysteresis, Transition, restore_states, stack_states
from camdrift.agent.reference.activation_baseline import ActivationReference
from camdrift.kernels.activations import histogram_by_edges, project
from camdrift.kernels.divergence import psi_rows


class ActivationStats(NamedTuple):
    """One window's statistics. psi: (K,) nats per component; z: (K,) window-mean shift of each component in
    units of its reference sd / sqrt(n) (evidence: which components moved); mahalanobis: distance of the window
    mean; residual_z: rise of the mean residual norm (can be negative); scores: (3,) [mean psi, mahalanobis,
    max(residual_z, 0)]; chi: (3,) [mean psi, mahalanobis^2, max(residual_z, 0)^2]."""

    psi: np.ndarray
    z: np.ndarray
    mahalanobis: float
    residual_z: float
    scores: np.ndarray
    chi: np.ndarray


def residuals(features: np.ndarray, projected: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """(N,) norms of what an orthonormal basis leaves of (N, C) ``features`` - ``mean`` whose (N, K)
    projections are ``projected``: sqrt(||d||^2 - ||B^T d||^2)."""
    d = np.asarray(features, np.float64) - mean
    return np.sqrt(np.maximum(np.einsum("nc,nc->n", d, d) - np.einsum("nk,nk->n", projected, projected), 0.0))


def activation_statistics(
    counts: np.ndarray,
    proj_sum: np.ndarray,
    residual_sum: float,
    n: int,
    ref: ActivationReference,
    cov_inv: np.ndarray,
) -> ActivationStats:
    """Statistics of a window of ``n`` samples whose per-component bin counts are ``counts`` (K, B), whose
    projections sum to ``proj_sum`` (K,) and residual norms to ``residual_sum``; cov_inv: (K, K) inverse of
    ``ref.proj_cov``."""
    psi = psi_rows(ref.ref_counts, counts, ref.alpha)
    d = proj_sum / n - ref.proj_mean
    d2 = float(max(d @ cov_inv @ d, 0.0))
    sd = np.sqrt(np.maximum(np.diag(ref.proj_cov), 1e-300) / n)
    pm = float(psi.mean())
    # residual_sd 0: the basis holds every channel, there is no residual to watch
    rz = (
        (residual_sum / n - ref.residual_mean) / (ref.residual_sd / np.sqrt(n))
        if ref.residual_sd > 0
        else 0.0
    )
    up = max(rz, 0.0)
    return ActivationStats(
        psi,
        d / sd,
        float(np.sqrt(d2)),
        float(rz),
        np.array([pm, np.sqrt(d2), up]),
        np.array([pm, d2, up * up]),
    )


def covariance_inverse(cov: np.ndarray) -> np.ndarray:
    """Pseudo-inverse of a (K, K) covariance (a component with no reference variance adds nothing)."""
    return np.linalg.pinv(np.asarray(cov, np.float64), hermitian=True)


class ActivationMonitor:
    """Sliding window of the last ``ref.window`` activation summaries with its two group states.

    ``update(features) -> self`` with a (C,) vector; bad vectors are counted in :attr:`rejected` (reason ->
    count) and skipped. :attr:`last` holds the statistics once the window is full; :attr:`transitions` what the
    last update changed in the group states.
    """

    def __init__(self, ref: ActivationReference, *, persistence: int = 3, recovery: int = 25) -> None:
        self.ref = ref
        k, b = ref.edges.shape[0], ref.edges.shape[1] - 1
        self.size = int(ref.window)
        self._proj = np.zeros((self.size, k), np.float64)
        self._bins = np.zeros((self.size, k), np.int64)
        self._res = np.zeros(self.size, np.float64)
        self.counts = np.zeros((k, b), np.int64)
        self.pos = 0
        self.filled = 0
        self.samples = 0
        self.rejected: Counter[str] = Counter()
        self._cov_inv = covariance_inverse(ref.proj_cov)
        self.groups = [
            Hysteresis(n, warn=float(w), drift=float(d), persistence=persistence, recovery=recovery)
            for n, w, d in zip(ref.names, ref.warn, ref.drift, strict=True)
        ]
        self.last: ActivationStats | None = None
        self.transitions: list[Transition] = []

    @property
    def full(self) -> bool:
        return self.filled == self.size

    @property
    def drift_detected(self) -> bool:
        return any(g.state == DRIFT for g in self.groups)

    def statistics(self) -> tuple[Statistic, ...]:
        scores = None if self.last is None else self.last.scores
        return scored_statistics(self.groups, scores, ["act"] * len(self.groups), not self.full)

    def score(self, name: str) -> float:
        return float(self.last.scores[self.ref.names.index(name)]) if self.last is not None else 0.0

    def scalar_of(self, name: str) -> str | None:
        return None

    def reject(self, reason: str) -> ActivationMonitor:
        """Count a summary that did not reach the statistics (``nonfinite``, ``wrong_shape``, ``model_error``)."""
        self.rejected[reason] += 1
        self.transitions = []
        return self

    def update(self, features: np.ndarray) -> ActivationMonitor:
        """Add one (C,) activation summary; a NaN/Inf or wrong-length vector is counted and skipped."""
        self.transitions = []
        f = np.asarray(features)
        if f.ndim != 1 or f.shape[0] != self.ref.n_channels or f.dtype.kind != "f":
            return self.reject("wrong_shape")
        if not np.isfinite(f).all():
            return self.reject("nonfinite")
        p = project(f[None], self.ref.mean, self.ref.basis)
        onehot = histogram_by_edges(p, self.ref.edges)  # (K, B), one count per component
        bins = onehot.argmax(axis=1)
        rows = np.arange(len(bins))
        if self.filled == self.size:
            self.counts[rows, self._bins[self.pos]] -= 1
        else:
            self.filled += 1
        self.counts[rows, bins] += 1
        self._bins[self.pos] = bins
        self._proj[self.pos] = p[0]
        self._res[self.pos] = residuals(f[None], p, self.ref.mean)[0]
        self.pos = (self.pos + 1) % self.size
        self.samples += 1
        if self.full:
            self.last = self._statistics()
            for g, s in zip(self.groups, self.last.scores, strict=True):
                if g.update(float(s)).transition:
                    self.transitions.append(g.transition)
        return self

    def _statistics(self) -> ActivationStats:
        # the M x K sum is recomputed (tiny): no float drift in a window that slides for months
        return activation_statistics(
            self.counts, self._proj.sum(axis=0), float(self._res.sum()), self.size, self.ref, self._cov_inv
        )

    def moved_components(self, limit: int = 3) -> list[int]:
        """Components (0-based) that moved most in the last window: largest PSI share plus |z|."""
        if self.last is None:
            return []
        psi, z = self.last.psi, np.abs(self.last.z)
        # each component's PSI over the group's (mean) PSI threshold, plus its |z| over the distance threshold
        score = psi / float(self.ref.drift[0]) + z / max(float(self.ref.drift[1]), 1e-12)
        order = np.argsort(-score, kind="stable")
        return [int(i) for i in order[:limit]]

    def strength(self) -> float:
        """Largest score over its drift threshold (1.0 = at the threshold)."""
        if self.last is None:
            return 0.0
        return float(np.max(self.last.scores / self.ref.drift))

    def cause(self, pixel_strength: float) -> Cause:
        """ "content changed" cause: strong when activations moved while the pixel statistics (their largest
        score over threshold, ``pixel_strength``) hold."""
        s = self.strength()
        comps = ", ".join(str(i + 1) for i in self.moved_components())
        hold = pixel_strength < 1.0
        text = (
            f"content changed (activations: components {comps} moved, Mahalanobis {self.last.mahalanobis:.2f}, "
            f"PSI {self.last.scores[0]:.3f}, residual {self.last.residual_z:+.1f} sd)"
            if self.last is not None
            else "content changed (activations)"
        )
        text += (
            ": while low-level statistics hold: new product variant?"
            if hold
            else " along with low-level changes"
        )
        return Cause("content", text, s if hold else 0.5 * s / max(pixel_strength, 1.0))

    def numbers(self) -> tuple[tuple[str, float], ...]:
        if self.last is None:
            return ()
        out = [
            ("act.psi", float(self.last.scores[0])),
            ("act.mahalanobis", self.last.mahalanobis),
            ("act.residual_z", self.last.residual_z),
        ]
        out += [(f"act.z{i + 1}", float(self.last.z[i])) for i in self.moved_components()]
        out += [(f"act.rejected.{k}", float(v)) for k, v in sorted(self.rejected.items())]
        return tuple(out)

    # --- state (see engine_state) -------------------------------------------------------------------------------

    @property
    def nbytes(self) -> int:
        """Bytes held by the window (projections, bins, residuals, counts)."""
        return self._proj.nbytes + self._bins.nbytes + self._res.nbytes + self.counts.nbytes

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {
            "proj": self._proj,
            "bins": self._bins,
            "res": self._res,
            "counts": self.counts,
            "groups": stack_states(self.groups),
        }

    def state_header(self) -> dict[str, Any]:
        return {
            "pos": self.pos,
            "filled": self.filled,
            "samples": self.samples,
            "rejected": dict(self.rejected),
        }

    def restore(self, header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        for name, dst in (
            ("proj", self._proj),
            ("bins", self._bins),
            ("res", self._res),
            ("counts", self.counts),
        ):
            copy_into(name, dst, arrays[name])
        restore_states(self.groups, arrays["groups"])
        self.pos, self.filled, self.samples = (
            int(header["pos"]),
            int(header["filled"]),
            int(header["samples"]),
        )
        self.rejected = Counter({str(k): int(v) for k, v in header["rejected"].items()})
        # the window's statistics as they were saved (a sample may be frames away: until then they are reported)
        self.last = self._statistics() if self.full else None
        self.transitions = []


__all__ = ["ActivationMonitor", "ActivationStats", "activation_statistics", "covariance_inverse", "residuals"]
