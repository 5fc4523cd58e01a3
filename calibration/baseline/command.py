"""``camdrift baseline show | diff | merge``: what a baseline holds, how two differ, one from several captures.

merge (and what it costs in sensitivity) lives in :mod:`camdrift.calibration.baseline.merge`.
"""

from __future__ import annotations

import argparse

import numpy as np

from camdrift.agent.drift.decision import Cause
from camdrift.agent.drift.explain import explain, likely_cause
from camdrift.agent.drift.statistics import WindowStats, phase_shift, px_per_cell
from camdrift.agent.reference.baseline import Baseline
from camdrift.calibration.baseline.merge import add_merge_parser, kernel_differences, merge
from camdrift.calibration.calibrate.output_options import summary_lines as output_lines
from camdrift.calibration.calibrate.summary import forced_lines, threshold_table
from camdrift.calibration.options import EXIT_FAIL, EXIT_OK, UsageError, fail, read_baseline

NAME = "baseline"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(NAME, help="show, compare or merge baseline files")
    sub = p.add_subparsers(dest="baseline_command", metavar="ACTION")
    show = sub.add_parser("show", help="what a baseline holds")
    show.add_argument("baseline", metavar="BASELINE")
    show.set_defaults(func=run_show)
    diff = sub.add_parser("diff", help="how two baselines differ (before / after, camera A / B)")
    diff.add_argument("old", metavar="OLD")
    diff.add_argument("new", metavar="NEW")
    diff.set_defaults(func=run_diff)
    add_merge_parser(sub)
    p.set_defaults(func=lambda args: fail(NAME, "say what to do: show, diff or merge (see --help)"))


def describe(b: Baseline, path: str) -> str:
    th = b.thresholds
    frames = "kept (mergeable)" if b.reference_frames is not None else "not kept (cannot be merged)"
    colour = "median colour ratios" if b.colour_medians else "mean colour ratios; recalibrate for the medians"
    lines = [
        f"{path}: camdrift baseline, format version {b.format_version} ({colour}), id {b.baseline_id}",
        f"  camera {b.camera_id}, created {b.created_at}",
        f"  source {b.source}, {b.frame_count} frames; per-frame features {frames}",
        f"  frames: {b.resolution[0]}x{b.resolution[1]} {b.pixel_format}, roi {b.roi or 'whole frame'}, "
        f"stride {b.stride}",
        f"  kernel: {b.n_bins} bins per group (edges: "
        + "; ".join(
            f"{g} {' '.join(str(int(e)) for e in edges)}"
            for g, edges in zip(("blue", "green", "red", "luma"), b.edges, strict=True)
        )
        + f"), thumbnail {b.thumb_size[0]}x{b.thumb_size[1]}, grid {b.grid}x{b.grid}, "
        f"exposure <= {b.under_threshold} / >= {b.over_threshold} DN8",
        "  reference: "
        + ", ".join(f"{s} {m:.4g}" for s, m in zip(b.scalar_names, b.scalar_mean, strict=True)),
        f"  thresholds: {th.method}, window {th.window} frames at {th.fps:g} fps, budget {th.budget}, "
        f"{th.n_replicates} replicates, blocks of {th.block_length}, seed {th.seed}; CUSUM k {th.cusum_k:g} "
        f"h {th.cusum_h:.3g} on {th.bucket_seconds:g} s buckets",
        *forced_lines(b),
        threshold_table(b, indent="    "),
        *output_lines(b),
    ]
    if th.notes:
        lines.append("  notes:")
        lines += [f"    - {n}" for n in th.notes]
    return "\n".join(lines)


def run_show(args: argparse.Namespace) -> int:
    try:
        b = read_baseline(args.baseline, "baseline")
    except UsageError as exc:
        return fail(NAME, exc)
    print(describe(b, args.baseline))
    return EXIT_OK


def _cdf_levels(edges: np.ndarray, props: np.ndarray) -> np.ndarray:
    """(B+1,) edges and (B,) proportions -> (257,) CDF at natural levels 0..256, linear inside each bin."""
    return np.interp(np.arange(257), edges.astype(np.float64), np.concatenate([[0.0], np.cumsum(props)]))


def psi_between(a: Baseline, b: Baseline) -> np.ndarray:
    """(K,) PSI (nats) of ``b``'s reference histograms against ``a``'s, in ``a``'s bins (``b``'s proportions
    spread uniformly inside its own bins to move them onto ``a``'s edges: an approximation when bins differ)."""
    out = []
    for k in range(len(a.edges)):
        cdf = _cdf_levels(b.edges[k], b.ref_props[k])
        q = np.diff(cdf[np.clip(a.edges[k], 0, 256)])
        p = a.ref_props[k]
        q = np.maximum(q, 1e-6)
        q = q / q.sum()
        out.append(float(np.sum((q - p) * np.log(q / p))))
    return np.array(out)


def likely_causes(a: Baseline, b: Baseline) -> tuple[Cause, ...]:
    """Ranked causes of the difference, from the agent's explainer: ``b``'s reference read as one window
    judged against ``a`` (same kernel parameters needed; z in ``a``'s window-mean sds)."""
    z = (b.scalar_mean - a.scalar_mean) / a.window_sd
    rel = (b.scalar_mean - a.scalar_mean) / np.where(
        np.abs(a.scalar_mean) > 1e-12, np.abs(a.scalar_mean), 1.0
    )
    gz_s = (b.grid_log_sharpness - a.grid_log_sharpness) / a.grid_sharpness_sd
    gz_l = (b.grid_luma - a.grid_luma) / a.grid_luma_sd
    cell = px_per_cell(a.resolution, a.roi, a.thumbnail.shape)
    dx, dy, resp = phase_shift(a.thumbnail, b.thumbnail, cell, a.thumbnail_weight)
    psi = psi_between(a, b)
    scores = np.concatenate([psi, np.abs(z), [float(np.max(np.abs(gz_s))), float(np.hypot(dx, dy))]])
    zeros = np.zeros_like(psi)
    ws = WindowStats(psi, zeros, zeros, z, rel, gz_s, gz_l, (dx, dy), resp, scores, scores)
    th = a.thresholds
    return explain(ws, names=th.names, drift=th.drift, scalar_names=a.scalar_names, scalar_mean=a.scalar_mean)


def compare(a: Baseline, b: Baseline) -> str:
    """Plain-text comparison of ``b`` against ``a``."""
    lines = []
    diffs = kernel_differences(a, b)
    if diffs:
        lines.append(
            "kernel parameters differ (frames of one cannot be judged against the other): " + "; ".join(diffs)
        )
    lines.append(
        f"camera {a.camera_id} -> {b.camera_id}; created {a.created_at} -> {b.created_at}; "
        f"frames {a.frame_count} -> {b.frame_count}"
    )
    names = ("blue", "green", "red", "luma")
    psi = psi_between(a, b)
    lines.append("histograms (PSI of NEW against OLD, nats; OLD's drift threshold):")
    for k, g in enumerate(names):
        i = a.thresholds.names.index(f"psi.{g}")
        lines.append(f"  {g:<6} {psi[k]:8.4f}  (threshold {a.thresholds.drift[i]:.4g})")
    lines.append("reference statistics (OLD -> NEW, change in OLD's window-mean sds):")
    big = []
    for i, s in enumerate(a.scalar_names):
        if s not in b.scalar_names:
            continue
        x, y = float(a.scalar_mean[i]), float(b.scalar_mean[b.scalar_names.index(s)])
        z = (y - x) / float(a.window_sd[i])
        rel = (y - x) / abs(x) if abs(x) > 1e-12 else 0.0
        flag = " <-" if abs(z) > float(a.thresholds.drift[a.thresholds.names.index(f"shift.{s}")]) else ""
        lines.append(f"  {s:<14} {x:10.4g} -> {y:10.4g}  {100 * rel:+7.1f}%  z {z:+8.2f}{flag}")
        if flag:
            big.append(f"{s} {100 * rel:+.0f}%")
    if a.thumbnail.shape == b.thumbnail.shape and tuple(a.resolution) == tuple(b.resolution):
        cell = px_per_cell(a.resolution, a.roi, a.thumbnail.shape)
        dx, dy, resp = phase_shift(a.thumbnail, b.thumbnail, cell, a.thumbnail_weight)
        lines.append(f"view: NEW is shifted {dx:+.1f} px x, {dy:+.1f} px y against OLD (peak {resp:.2f})")
        if np.hypot(dx, dy) > float(a.thresholds.drift[a.thresholds.names.index("displacement")]):
            big.append(f"view shifted {np.hypot(dx, dy):.1f} px")
    if a.grid_log_sharpness.shape == b.grid_log_sharpness.shape:
        ratio = np.expm1(b.grid_log_sharpness) / np.maximum(np.expm1(a.grid_log_sharpness), 1e-12)
        lines.append(
            f"local sharpness NEW/OLD per grid cell: median x{float(np.median(ratio)):.2f}, "
            f"range x{float(ratio.min()):.2f} .. x{float(ratio.max()):.2f}"
        )
    lines.append("thresholds (OLD -> NEW drift):")
    for n in a.thresholds.names:
        if n in b.thresholds.names:
            x = float(a.thresholds.drift[a.thresholds.names.index(n)])
            y = float(b.thresholds.drift[b.thresholds.names.index(n)])
            lines.append(f"  {n:<22} {x:9.4g} -> {y:9.4g}")
    if not diffs and tuple(a.scalar_names) == tuple(b.scalar_names):
        causes = likely_causes(a, b)
        if causes[0].score >= 1.0:
            lines.append(f"likely cause: {likely_cause(causes)}")
    lines.append(
        "summary: "
        + (
            "NEW differs from OLD beyond OLD's drift thresholds: " + ", ".join(big)
            if big
            else "NEW's reference statistics are within OLD's drift thresholds"
        )
    )
    return "\n".join(lines)


def run_diff(args: argparse.Namespace) -> int:
    try:
        a = read_baseline(args.old, "OLD")
        b = read_baseline(args.new, "NEW")
    except UsageError as exc:
        return fail(NAME, exc)
    print(f"diff {args.old} (OLD) -> {args.new} (NEW)")
    print(compare(a, b))
    return EXIT_OK


__all__ = ["EXIT_FAIL", "compare", "describe", "kernel_differences", "merge", "psi_between", "register"]
