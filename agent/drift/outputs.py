"""The model-outputs group of the drift engine: a sliding window over the last M frames' model outputs, scored
against the baseline's :class:`~camdrift.agent.reference.output_baseline.OutputReference`.

Each frame's outputs (:class:`~camdrift.agent.predictions.outputs.ModelOutputs`) become one
:class:`OutputSample`: its predicted-class counts (a classifier: one; a detector: one per box), its confidence
(a detector: the mean score of its boxes), its share of uncertain predictions (confidence below the reference's
``uncertain_below``) and its number of detections. Frames are the unit: a window's value is a mean over frames.
Statistics, named as in :data:`~camdrift.agent.reference.output_baseline.DETECTION_STATISTICS`:

- ``out.class_mix``: PSI (nats) of the predicted-class counts of the last ``ref.class_window`` frames (the
  window or longer: the product mix comes in runs) against the reference's;
- ``out.confidence``: |z| of the window's mean confidence, in the reference's bootstrap sd of a window mean;
- ``out.uncertain``: the rise z of the window's uncertain share (one-sided: fewer uncertain predictions is no
  harm);
- ``out.detections`` (detectors): |z| of the window's mean detections per frame.

A frame without values for a statistic (a detector frame without boxes has no confidence) widens that
statistic's sd as sqrt(M / frames with values). Outputs of the wrong kind or class count are counted by reason
and never enter the window.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from camdrift.agent.drift.contract import Statistic, copy_into, scored_statistics
from camdrift.agent.drift.decision import DRIFT, Cause, Hysteresis, Transition, restore_states, stack_states
from camdrift.agent.drift.words import statistic_words
from camdrift.agent.predictions.outputs import ModelOutputs
from camdrift.agent.reference.output_baseline import OutputReference
from camdrift.kernels.divergence import psi_rows

CONFIDENCE, UNCERTAIN, DETECTIONS = range(3)  # columns of the per-frame values


class OutputSample(NamedTuple):
    """One frame's outputs as the window keeps them: classes (K + 1,) int64 counts (the last: classes beyond
    the reference's K); values (3,) float64 [confidence, uncertain share, detections], NaN where it has none."""

    classes: np.ndarray
    values: np.ndarray


def output_sample(outputs: ModelOutputs, ref: OutputReference) -> OutputSample:
    """The sample of one frame's ``outputs``; ValueError (``wrong_kind``, ``wrong_classes``) when they do not
    fit the reference."""
    if outputs.kind != ref.kind:
        raise ValueError(f"wrong_kind: {outputs.kind} outputs against a {ref.kind} reference")
    k = ref.n_classes
    classes = np.zeros(k + 1, np.int64)
    if outputs.kind == "classification":
        if outputs.probs is not None and outputs.probs.size != k:
            raise ValueError(
                f"wrong_classes: {outputs.probs.size} class probabilities, the reference has {k}"
            )
        classes[min(outputs.label, k)] += 1
        c = outputs.confidence
        return OutputSample(classes, np.array([c, float(c < ref.uncertain_below), 1.0]))
    np.add.at(classes, np.minimum(outputs.classes, k), 1)
    n = outputs.n_detections
    if n == 0:
        return OutputSample(classes, np.array([math.nan, math.nan, 0.0]))
    s = outputs.scores.astype(np.float64)
    return OutputSample(classes, np.array([s.mean(), float((s < ref.uncertain_below).mean()), float(n)]))


class OutputStats(NamedTuple):
    """One window's statistics: share (K + 1,) predicted-class share; means (3,) window means of the per-frame
    values (NaN where no frame had one); z (3,) their shift in window-mean sds; psi: class-mix PSI (nats);
    scores (n,) as the statistics' names; chi (n,) [psi, z^2 ...] (the uncertain rise two-sided: its fit sees
    the whole null)."""

    share: np.ndarray
    means: np.ndarray
    z: np.ndarray
    psi: float
    scores: np.ndarray
    chi: np.ndarray


def output_statistics(
    counts: np.ndarray, sums: np.ndarray, valid: np.ndarray, n: int, ref: OutputReference
) -> OutputStats:
    """Statistics of a window of ``n`` frames whose class counts sum to ``counts`` (K + 1,), whose per-frame
    values sum to ``sums`` (3,) over ``valid`` (3,) frames that had one."""
    psi = float(psi_rows(ref.class_counts[None], np.asarray(counts, np.float64)[None], ref.alpha)[0])
    have = valid > 0
    means = np.where(have, sums / np.maximum(valid, 1), np.nan)
    sd = ref.null_sd * np.sqrt(n / np.maximum(valid, 1))
    z = np.where(have & (sd > 0), (np.nan_to_num(means) - ref.frame_mean) / np.where(sd > 0, sd, 1.0), 0.0)
    total = float(np.sum(counts))
    share = np.asarray(counts, np.float64) / total if total > 0 else np.zeros(len(counts))
    scores = np.array([psi, abs(z[CONFIDENCE]), max(z[UNCERTAIN], 0.0), abs(z[DETECTIONS])])
    chi = np.array([psi, z[CONFIDENCE] ** 2, z[UNCERTAIN] ** 2, z[DETECTIONS] ** 2])
    m = len(ref.names)
    return OutputStats(share, means, z, psi, scores[:m], chi[:m])


def _pct(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{100 * x:.0f} %"


class OutputMonitor:
    """Sliding window of the last ``ref.class_window`` frames' outputs (the class mix's; the means are over the
    last ``ref.window`` of them) with the group's state machines.

    ``update(outputs) -> self``; outputs that do not fit are counted in :attr:`rejected` (reason -> count).
    :attr:`last` holds the statistics once the means' window is full (the class mix scores 0 until its longer
    window is: a mix of fewer frames is told in words, not tested); :attr:`transitions` what the last update
    changed.
    """

    def __init__(self, ref: OutputReference, *, persistence: int = 3, recovery: int = 25) -> None:
        self.ref = ref
        self.size = int(ref.window)
        self.span = ref.class_window  # >= size: the ring holds the class mix's frames
        self._classes = np.zeros((self.span, ref.n_classes + 1), np.int64)
        self._values = np.full((self.span, 3), np.nan)
        self.counts = np.zeros(ref.n_classes + 1, np.int64)
        self.pos = 0
        self.filled = 0
        self.samples = 0
        self.rejected: Counter[str] = Counter()
        self.groups = [
            Hysteresis(n, warn=float(w), drift=float(d), persistence=persistence, recovery=recovery)
            for n, w, d in zip(ref.names, ref.warn, ref.drift, strict=True)
        ]
        self.last: OutputStats | None = None
        self.transitions: list[Transition] = []

    @property
    def full(self) -> bool:
        """The means' window is full: the statistics exist (the class mix is scored once its own is)."""
        return self.filled >= self.size

    @property
    def drift_detected(self) -> bool:
        return any(g.state == DRIFT for g in self.groups)

    def statistics(self) -> tuple[Statistic, ...]:
        scores = None if self.last is None else self.last.scores
        return scored_statistics(self.groups, scores, ["outputs"] * len(self.groups), not self.full)

    def score(self, name: str) -> float:
        return float(self.last.scores[self.ref.names.index(name)]) if self.last is not None else 0.0

    def scalar_of(self, name: str) -> str | None:
        return None

    def reject(self, reason: str) -> OutputMonitor:
        self.rejected[reason] += 1
        self.transitions = []
        return self

    def update(self, outputs: ModelOutputs) -> OutputMonitor:
        """Add one frame's outputs; outputs that do not fit the reference are counted and skipped."""
        self.transitions = []
        try:
            sample = output_sample(outputs, self.ref)
        except ValueError as exc:
            return self.reject(str(exc).split(":", 1)[0])
        if self.filled == self.span:
            self.counts -= self._classes[self.pos]
        else:
            self.filled += 1
        self.counts += sample.classes
        self._classes[self.pos] = sample.classes
        self._values[self.pos] = sample.values
        self.pos = (self.pos + 1) % self.span
        self.samples += 1
        if self.full:
            self.last = self._statistics()
            for g, s in zip(self.groups, self.last.scores, strict=True):
                if g.update(float(s)).transition:
                    self.transitions.append(g.transition)
        return self

    def _statistics(self) -> OutputStats:
        v = self._values[(self.pos - 1 - np.arange(self.size)) % self.span]  # the last ``size`` frames
        valid = np.isfinite(v).sum(axis=0).astype(np.float64)
        stats = output_statistics(self.counts, np.nansum(v, axis=0), valid, self.size, self.ref)
        if self.filled < self.span:  # the class mix of fewer frames than its window: told, not scored
            scores = stats.scores.copy()
            scores[0] = 0.0
            stats = stats._replace(scores=scores)
        return stats

    def strength(self) -> float:
        """Largest score over its drift threshold (1.0 = at the threshold)."""
        return 0.0 if self.last is None else float(np.max(self.last.scores / self.ref.drift))

    def change(self) -> str:
        """What the model's outputs did over the window, against the reference, in plain words."""
        if self.last is None:
            return "model outputs: window not full yet"
        ref, m = self.ref.frame_mean, self.last.means
        moved = np.argsort(-(self.last.share - self.ref.class_share), kind="stable")[:1]
        top = int(moved[0])
        parts = [
            f"share of uncertain predictions {_pct(ref[UNCERTAIN])} -> {_pct(m[UNCERTAIN])}",
            f"mean confidence {ref[CONFIDENCE]:.2f} -> {m[CONFIDENCE]:.2f}",
            f"class mix PSI {self.last.psi:.3f} ({self.ref.class_name(top)} "
            f"{_pct(self.ref.class_share[top])} -> {_pct(self.last.share[top])}"
            f"{f' over the last {min(self.filled, self.span)} frames' if self.span > self.size else ''})",
        ]
        if self.ref.kind == "detection":
            parts.append(f"detections per frame {ref[DETECTIONS]:.2f} -> {m[DETECTIONS]:.2f}")
        return ", ".join(parts)

    def cause(self, episode_began: Sequence[str] = ()) -> Cause:
        """The model's own change as a cause ("model outputs changed"), strength as :meth:`strength`;
        ``episode_began``: the input statistics in the episode the model's change joins (the first named)."""
        text = f"model outputs changed: {self.change()}"
        if episode_began:
            text += f" (in the episode that began with {statistic_words(episode_began[0])})"
        return Cause("model_outputs", text, self.strength())

    def numbers(self) -> tuple[tuple[str, float], ...]:
        if self.last is None:
            return ()
        m, ref = self.last.means, self.ref.frame_mean
        out = [("out.class_psi", self.last.psi)]
        for i, key in enumerate(
            ("confidence", "uncertain_share", "detections_per_frame")[: len(self.ref.names) - 1]
        ):
            out += [(f"out.{key}", float(m[i])), (f"out.{key}_ref", float(ref[i]))]
        out += [(f"out.rejected.{k}", float(v)) for k, v in sorted(self.rejected.items())]
        return tuple((k, v) for k, v in out if np.isfinite(v))

    # --- state (see engine_state) -------------------------------------------------------------------------------

    @property
    def nbytes(self) -> int:
        return self._classes.nbytes + self._values.nbytes + self.counts.nbytes

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {
            "classes": self._classes,
            "values": self._values,
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
        for name, dst in (("classes", self._classes), ("values", self._values), ("counts", self.counts)):
            copy_into(name, dst, arrays[name])
        restore_states(self.groups, arrays["groups"])
        self.pos, self.filled, self.samples = (
            int(header["pos"]),
            int(header["filled"]),
            int(header["samples"]),
        )
        self.rejected = Counter({str(k): int(v) for k, v in header["rejected"].items()})
        self.last = self._statistics() if self.full else None
        self.transitions = []


__all__ = ["OutputMonitor", "OutputSample", "OutputStats", "output_sample", "output_statistics"]
