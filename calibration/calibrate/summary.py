"""What ``camdrift calibrate`` prints about the baseline it wrote: :func:`summary`, and the per-statistic
:func:`threshold_table` (``camdrift baseline show`` and ``merge`` print it too)."""

from __future__ import annotations

from camdrift.agent.reference.baseline import Baseline
from camdrift.calibration.calibrate.gates import Finding
from camdrift.calibration.capture import Capture


def summary(b: Baseline, cap: Capture, findings: list[Finding], *, out: str, seconds: float) -> str:
    """The report on a written baseline: frames used of ``cap`` (its stream time), kernel parameters, groups,
    threshold method and budget, the table, the gates' ``findings``; ``out``: its path; ``seconds``: time taken."""
    th = b.thresholds
    span = float(cap.times[-1] - cap.times[0]) if len(cap.times) else 0.0
    lines = [
        f"baseline written: {out} (id {b.baseline_id})",
        f"  camera {b.camera_id}, source {b.source}",
        f"  frames used: {b.frame_count} of {len(cap.stats)} analysed frames ({cap.read} read from the source), "
        f"{span:.1f} s of stream time, "
        f"{b.resolution[0]}x{b.resolution[1]} {b.pixel_format}, roi {b.roi or 'whole frame'}, stride {b.stride}",
        f"  feature groups: {len(th.names)} statistics over {b.n_bins} bins per colour group, thumbnail "
        f"{b.thumb_size[0]}x{b.thumb_size[1]}, grid {b.grid}x{b.grid}",
        f"  thresholds: {th.method}, window {th.window} frames at {th.fps:g} fps, "
        f"{th.n_replicates} bootstrap replicates in blocks of {th.block_length}",
        f"  false-alarm budget: {th.budget} (per-window level {th.level:.2g})",
        f"  reference uncertainty: {th.n_eff:.1f} effectively independent windows, thresholds widened "
        f"x{th.widening:.3g} (chi-scale, median); minimum for this footage {th.min_frames} frames",
        *forced_lines(b),
        threshold_table(b, indent="    "),
    ]
    if findings:
        lines.append(f"  warned about ({len(findings)}):")
        lines += [f"    - {f}" for f in findings]
    else:
        lines.append("  warned about: nothing, all quality gates passed")
    lines.append(f"  took {seconds:.1f} s")
    return "\n".join(lines)


def forced_lines(b: Baseline) -> list[str]:
    """What ``--force`` overrode to write ``b`` (no line when nothing was)."""
    return [f"  FORCED (calibrated with --force): {why}" for why in b.thresholds.forced]


def threshold_table(b: Baseline, indent: str = "") -> str:
    """One row per statistic: its warn and drift thresholds and their unit (nats for PSI, px, |z|)."""
    th = b.thresholds
    rows = [f"{indent}{'statistic':<22} {'warn':>9} {'drift':>9}  unit"]
    for name, w, d in zip(th.names, th.warn, th.drift, strict=True):
        unit = "nats (PSI)" if name.startswith("psi.") else "px" if name == "displacement" else "|z|"
        rows.append(f"{indent}{name:<22} {w:9.4g} {d:9.4g}  {unit}")
    return "\n".join(rows)
