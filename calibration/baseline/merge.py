"""``camdrift baseline merge``: one baseline from captures under different legitimate conditions, and what it costs.

The inputs must share every kernel parameter (pixel format, resolution, ROI, stride, thumbnail, grid, exposure
thresholds) and keep their per-frame features (``camdrift calibrate`` does unless ``--no-frames``). The frames
are concatenated in the order given and the baseline is rebuilt from the union: new quantile bins from the pooled
histograms, reference statistics, and thresholds re-calibrated by the block bootstrap (blocks are circular, so a
few straddle the junction between two captures; they add a little variance, on the safe side).

A union of unlike conditions (day and night) is a wider "normal": its thresholds can be far less sensitive than
either input's. :func:`sensitivity` compares, per statistic, the drift threshold in the statistic's own unit
(PSI in nats; a scalar shift as the change of the window mean it takes, threshold |z| x the window-mean sd; the
grid as ln-sharpness per cell; displacement in px), and the command refuses to write a merge that loses more than
:data:`LOSS_LIMIT` times against any input unless ``--force`` (which records the loss in the baseline's notes).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from camdrift.agent.reference.baseline import Baseline, ReferenceFrames, save_baseline
from camdrift.calibration.calibrate.build import Budget, build_from_frames, keep_frames
from camdrift.calibration.calibrate.summary import threshold_table
from camdrift.calibration.calibrate.thresholds import MIN_REPLICATES
from camdrift.calibration.options import (
    EXIT_DRIFT,
    EXIT_OK,
    UsageError,
    bounded_float,
    bounded_int,
    check_output,
    fail,
    read_baseline,
)

NAME = "baseline"
LOSS_LIMIT = 3.0  # merged / input drift threshold above which the merge is refused without --force
KERNEL_FIELDS = (
    "pixel_format",
    "resolution",
    "roi",
    "stride",
    "thumb_size",
    "grid",
    "under_threshold",
    "over_threshold",
    "scalar_names",
)
_SCALAR_UNITS = {"sharpness": "ln(1+var)", "rg": "ratio", "bg": "ratio"}
_SCALAR_UNITS |= {"under_exposed": "fraction", "over_exposed": "fraction"}


class Sensitivity(NamedTuple):
    """One statistic's drift threshold in its own ``unit``: ``inputs`` (one per input baseline) and ``merged``;
    ``ratios``: merged / input (above 1: the merged baseline needs a larger change to call drift)."""

    name: str
    unit: str
    inputs: tuple[float, ...]
    merged: float
    ratios: tuple[float, ...]

    @property
    def loss(self) -> float:
        """The largest ratio against any input."""
        return max(self.ratios)


def kernel_differences(a: Baseline, b: Baseline) -> list[str]:
    """The kernel parameters in which ``b`` differs from ``a`` ("resolution 160x120 vs 320x240", ...)."""
    out = []
    for name in KERNEL_FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        if (tuple(x) if isinstance(x, tuple | list) else x) != (
            tuple(y) if isinstance(y, tuple | list) else y
        ):
            out.append(f"{name} {x} vs {y}")
    if a.colour_medians != b.colour_medians:  # format 1 holds mean colour ratios, format 2 median ones
        out.append(f"{_colour_kind(a)} vs {_colour_kind(b)}: recalibrate the older one")
    return out


def _colour_kind(b: Baseline) -> str:
    return f"{'median' if b.colour_medians else 'mean'} colour ratios (format {b.format_version})"


def absolute_drift(b: Baseline, name: str) -> tuple[float, str]:
    """Statistic ``name``'s drift threshold in its own unit, and the unit: what change it takes to call drift."""
    d = float(b.thresholds.drift[b.thresholds.index(name)])
    if name.startswith("psi."):
        return d, "nats"
    if name.startswith("shift."):
        scalar = name[6:]
        sd = float(b.window_sd[b.scalar_names.index(scalar)])
        return d * sd, _SCALAR_UNITS.get(scalar, "DN8")
    if name == "grid.sharpness":
        return d * float(np.median(b.grid_sharpness_sd)), "ln(1+var)"
    return d, "px"


def sensitivity(inputs: Sequence[Baseline], merged: Baseline) -> tuple[Sensitivity, ...]:
    """Per statistic of ``merged``, its drift threshold against each input's, in the statistic's own unit."""
    out = []
    for name in merged.thresholds.names:
        m, unit = absolute_drift(merged, name)
        before = tuple(absolute_drift(b, name)[0] for b in inputs)
        out.append(Sensitivity(name, unit, before, m, tuple(m / x if x > 0 else np.inf for x in before)))
    return tuple(out)


def sensitivity_table(rows: Sequence[Sensitivity], labels: Sequence[str], indent: str = "  ") -> str:
    """Plain-text table: the inputs' and the merged drift thresholds and the ratios (x1, x2, ...)."""
    n = len(labels)
    head = (
        [f"{i + 1:>10}" for i in range(n)]
        + [f"{'merged':>10}"]
        + [f"{'x' + str(i + 1):>9}" for i in range(n)]
    )
    lines = [
        f"{indent}sensitivity: drift threshold in the statistic's own unit, ratio x = merged / input "
        f"(above 1: less sensitive); " + ", ".join(f"{i + 1} = {p}" for i, p in enumerate(labels)),
        f"{indent}{'statistic':<22} {'unit':<10}" + "".join(head),
    ]
    for r in rows:
        cells = [f"{x:10.4g}" for x in (*r.inputs, r.merged)] + [f" {x:8.3g}" for x in r.ratios]
        flag = f"  <- loses more than {LOSS_LIMIT:g}x" if r.loss > LOSS_LIMIT else ""
        lines.append(f"{indent}{r.name:<22} {r.unit:<10}" + "".join(cells) + flag)
    return "\n".join(lines)


def losses(rows: Sequence[Sensitivity], labels: Sequence[str]) -> list[str]:
    """ "psi.luma x1700 vs night.npz" for every statistic that loses more than :data:`LOSS_LIMIT` times."""
    out = []
    for r in rows:
        if r.loss > LOSS_LIMIT:
            worst = int(np.argmax(r.ratios))
            out.append(f"{r.name} x{r.loss:.3g} vs {labels[worst]}")
    return out


def merge(
    baselines: list[Baseline],
    *,
    camera_id: str | None = None,
    n_replicates: int | None = None,
    warn_budget_days: float = 1.0,
    seed: int | None = None,
    sources: list[str] | None = None,
) -> Baseline:
    """One baseline from the union of the inputs' per-frame features (see the module docstring).
    Raises ValueError naming the input that cannot be merged and why."""
    first = baselines[0]
    labels = sources or [f"input {i + 1}" for i in range(len(baselines))]
    for b, label in zip(baselines, labels, strict=True):
        if b.reference_frames is None:
            raise ValueError(
                f"{label} keeps no per-frame features (calibrated with --no-frames?): cannot merge"
            )
        diffs = kernel_differences(first, b)
        if diffs:
            raise ValueError(
                f"{label} was captured with other kernel parameters than {labels[0]}: {'; '.join(diffs)}"
            )
    parts = [b.reference_frames for b in baselines]
    frames = ReferenceFrames(*(np.concatenate(arrays) for arrays in zip(*parts, strict=True)))
    th = first.thresholds
    merged = build_from_frames(
        frames,
        camera_id=camera_id or first.camera_id,
        source="merge of " + "; ".join(f"{b.source} ({b.frame_count} frames)" for b in baselines),
        kernel=first.kernel,
        n_bins=max(b.n_bins for b in baselines),
        budget=Budget(
            window=th.window,
            fps=th.fps,
            budget_days=th.run_length / 86400.0 / th.fps,
            warn_budget_days=warn_budget_days,
            n_replicates=n_replicates or max(th.n_replicates, 200),
            seed=th.seed if seed is None else seed,
            alpha=first.alpha,
            cusum_k=th.cusum_k,
            bucket_seconds=th.bucket_seconds,
        ),
    )
    # the inputs' per-frame colour ratios are of their format's kind (all alike, checked above)
    return dataclasses.replace(
        merged, reference_frames=keep_frames(frames), format_version=first.format_version
    )


def with_note(b: Baseline, note: str) -> Baseline:
    """``b`` with ``note`` added to its thresholds' notes (the file records it; the id changes with it)."""
    return dataclasses.replace(
        b, thresholds=dataclasses.replace(b.thresholds, notes=(*b.thresholds.notes, note))
    )


def add_merge_parser(sub: argparse._SubParsersAction) -> None:
    """``baseline merge`` under the ``baseline`` command's actions."""
    merge_p = sub.add_parser(
        "merge",
        help="one baseline from captures under different legitimate conditions",
        description="Rebuilds one baseline from the inputs' frames and prints, per statistic, the drift "
        "threshold before and after (ratio merged / input). Exit 0 written; 1 not written: a merged threshold "
        f"is more than {LOSS_LIMIT:g}x an input's (--force writes it and records the loss in its notes); 2 could "
        "not run.",
    )
    merge_p.add_argument("inputs", nargs="+", metavar="BASELINE", help="two or more baselines to merge")
    merge_p.add_argument("--out", required=True, metavar="BASELINE", help="merged baseline to write")
    merge_p.add_argument("--camera", dest="camera_id", help="camera id (default: the first input's)")
    merge_p.add_argument(
        "--replicates",
        type=bounded_int(MIN_REPLICATES, 100_000),
        help=f"bootstrap replicates, {MIN_REPLICATES}..100000 (default: the first input's)",
    )
    merge_p.add_argument(
        "--warn-budget-days",
        type=bounded_float(0.001, 36500),
        default=1.0,
        help="one warning per N days (1)",
    )
    merge_p.add_argument(
        "--seed", type=bounded_int(0, 2**32 - 1), help="bootstrap seed (default: the first input's)"
    )
    merge_p.add_argument(
        "--force",
        action="store_true",
        help=f"write even when a threshold loses more than {LOSS_LIMIT:g}x (recorded in the notes)",
    )
    merge_p.set_defaults(func=run_merge)


def run_merge(args: argparse.Namespace) -> int:
    try:
        if len(args.inputs) < 2:
            raise UsageError(f"merge needs two or more baselines, got {len(args.inputs)}")
        out = check_output(args.out, "--out")
        baselines = [read_baseline(p, "baseline") for p in args.inputs]
        merged = merge(
            baselines,
            camera_id=args.camera_id,
            n_replicates=args.replicates,
            warn_budget_days=args.warn_budget_days,
            seed=args.seed,
            sources=list(args.inputs),
        )
        rows = sensitivity(baselines, merged)
        print(sensitivity_table(rows, args.inputs))
        models = [p for p, b in zip(args.inputs, baselines, strict=True) if b.activations or b.outputs]
        if (
            models
        ):  # their model groups are not rebuilt from the merged frames: say so, never drop them quietly
            print(
                f"camdrift {NAME} merge: note: the model groups (activations, outputs) of {', '.join(models)} are "
                "not merged; the merged baseline watches the images only (recalibrate with the model to add them)",
                file=sys.stderr,
            )
        lost = losses(rows, args.inputs)
        if lost:
            what = f"more than {LOSS_LIMIT:g}x less sensitive than an input on {'; '.join(lost)}"
            print(f"camdrift {NAME} merge: warning: the merged baseline is {what}", file=sys.stderr)
            if not args.force:
                print(
                    f"camdrift {NAME} merge: {out} not written: a change one input catches could pass the merged "
                    "baseline; calibrate each condition on its own, or --force to write it anyway",
                    file=sys.stderr,
                )
                return EXIT_DRIFT
            merged = with_note(merged, f"merged with --force, {what}")
        save_baseline(merged, out)
    except (UsageError, ValueError) as exc:
        return fail(NAME, exc)
    except OSError as exc:
        return fail(NAME, f"cannot write {args.out}: {exc.strerror or exc}")
    print(
        f"merged {len(baselines)} baselines ({merged.frame_count} frames) into {out} (id {merged.baseline_id})"
    )
    print(threshold_table(merged, indent="  "))
    return EXIT_OK
