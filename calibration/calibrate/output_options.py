"""``camdrift calibrate`` and the model's outputs: when the reference frames carry the app's model outputs
(``FrameTap.offer(frame, outputs=...)``), the baseline gets the output group; ``--class-names`` names the
classes and ``--uncertain-below`` sets what counts as an uncertain prediction. Without outputs, nothing changes.

The capture keeps each analysed frame's outputs (:attr:`~camdrift.calibration.capture.Capture.outputs`); after
the quality gates, :meth:`OutputPlan.add_group` fits the group on the outputs of the kept frames.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence

import numpy as np

from camdrift.agent.predictions.outputs import ModelOutputs
from camdrift.agent.reference.baseline import Baseline
from camdrift.calibration.calibrate.output_reference import build_output_reference
from camdrift.calibration.calibrate.thresholds import Budget
from camdrift.calibration.options import bounded_float


def _names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(","))
    if not all(names) or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"class names must be distinct and non-empty, got {text[:80]!r}")
    return names


def add_output_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("output group (when the app hands over its model's outputs through the tap)")
    g.add_argument(
        "--class-names", type=_names, default=(), metavar="A,B,...", help="the model's class names, by index"
    )
    g.add_argument(
        "--uncertain-below",
        type=bounded_float(0, 1, lo_open=True),
        default=0.5,
        help="a prediction (a detection) with confidence (score) below this is uncertain (default 0.5)",
    )


class OutputPlan:
    """How the output group is fitted: the model's class names and the confidence below which it is uncertain."""

    def __init__(self, class_names: tuple[str, ...] = (), uncertain_below: float = 0.5) -> None:
        self.class_names = class_names
        self.uncertain_below = uncertain_below

    def check(self, outputs: ModelOutputs) -> None:
        """Checks one captured frame's outputs against ``--class-names`` as they arrive, so a wrong list stops
        the capture at its first frame rather than after it; ValueError names the option and the count."""
        if not self.class_names:
            return
        n = len(self.class_names)
        if outputs.probs is not None and outputs.probs.size != n:
            raise ValueError(
                f"--class-names names {n} classes, the app's outputs hold {outputs.probs.size} probabilities"
            )
        top = max([outputs.label, *outputs.classes.tolist()])
        if top >= n:
            raise ValueError(f"--class-names names {n} classes, the app's outputs use class index {top}")

    def add_group(
        self,
        baseline: Baseline,
        outputs: Sequence[ModelOutputs | None],
        keep: np.ndarray | None,
        *,
        n_replicates: int,
        budget_days: float,
    ) -> Baseline:
        """``baseline`` with the output group fitted on the outputs of the captured frames (``outputs``, one
        entry per analysed frame, None where the app handed none over) that ``keep`` retains; ``baseline``
        itself when no frame carried any. ValueError naming why it cannot be fitted (too few frames, mixed
        kinds)."""
        if not any(o is not None for o in outputs):
            return baseline
        kept = [
            o
            for i, o in enumerate(outputs)
            if o is not None and (keep is None or (i < len(keep) and keep[i]))
        ]
        th = baseline.thresholds
        budget = Budget(
            window=th.window, fps=th.fps, budget_days=budget_days, n_replicates=n_replicates, seed=th.seed
        )
        ref = build_output_reference(
            kept, budget=budget, class_names=self.class_names, uncertain_below=self.uncertain_below
        )
        return dataclasses.replace(baseline, outputs=ref)


def summary_lines(b: Baseline, indent: str = "  ") -> list[str]:
    """What the output group holds, for the calibrate summary ([] without one)."""
    o = b.outputs
    if o is None:
        return []
    share = ", ".join(f"{o.class_name(i)} {100 * s:.0f} %" for i, s in enumerate(o.class_share) if s > 0)
    return [
        f"{indent}output group: {o.kind}, {o.sample_count} frames with outputs; classes {share}; uncertain "
        f"(confidence < {o.uncertain_below:g}) {100 * o.frame_mean[1]:.1f} % of frames, mean confidence "
        f"{o.frame_mean[0]:.3f}",
        f"{indent}  thresholds: "
        + ", ".join(f"{n} {d:.3g}" for n, d in zip(o.names, o.drift, strict=True))
        + f" ({o.budget}); class mix over {o.class_window} frames, the rest over {o.window}",
    ]


__all__ = ["OutputPlan", "add_output_arguments", "summary_lines"]
