"""Pictures for a technician, drawn with matplotlib (the ``report`` extra: never a dependency of the daemon).

:func:`report_figure` draws one figure: the verdict and likely cause, reference vs current histograms per colour
group with their axes, the reference and current mean thumbnails and their difference, the grid of local
sharpness (reference, current, z) at the frame's aspect ratio with colour bars, and every statistic's score
against its thresholds. :func:`html_page` wraps the PNG (base64) with the verdict table. It replaced pictures
drawn by hand with OpenCV, which had no scales, squashed 4:3 frames into squares and let labels cover bars.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure

from camdrift.agent.drift.explain import likely_cause
from camdrift.agent.drift.features import extract
from camdrift.agent.drift.statistics import GROUPS
from camdrift.agent.reference.baseline import Baseline
from camdrift.calibration.verify.verdict import VerifyResult
from camdrift.kernels import FrameStats

_GROUP_COLOUR = {"blue": "#1f5fc8", "green": "#2ca02c", "red": "#d62728", "luma": "#333333"}
_VERDICT_COLOUR = {"pass": "#3a3", "warn": "#e90", "fail": "#d33"}
_BAR_CUT = 3.0


class Current(NamedTuple):
    """A capture summarised in the baseline's terms: counts (K, B) pooled in the baseline's bins, thumbnail
    (th, tw) mean luma DN8, grid_log_sharpness (gh, gw) mean ln(1 + Laplacian variance), frames analysed."""

    counts: np.ndarray
    thumbnail: np.ndarray
    grid_log_sharpness: np.ndarray
    frames: int


def summarise(baseline: Baseline, stats: Sequence[FrameStats]) -> Current:
    """The capture ``stats`` (analysed with the baseline's kernel parameters) as a :class:`Current`."""
    feats = [extract(s, baseline.lut, baseline.n_bins, colour_medians=baseline.colour_medians) for s in stats]
    return Current(
        counts=np.sum([f.counts for f in feats], axis=0).astype(np.float64),
        thumbnail=np.mean([f.thumbnail for f in feats], axis=0),
        grid_log_sharpness=np.mean([f.grid_sharpness for f in feats], axis=0),
        frames=len(feats),
    )


def _density(edges: np.ndarray, props: np.ndarray) -> np.ndarray:
    """(256,) proportion per natural level: each bin's proportion spread evenly over its levels."""
    out = np.zeros(256)
    for k in range(len(props)):
        lo, hi = int(edges[k]), int(min(edges[k + 1], 256))
        if hi > lo:
            out[lo:hi] = props[k] / (hi - lo)
    return out


def frame_extent(baseline: Baseline) -> tuple[float, float, float, float]:
    """(left, right, bottom, top) in frame pixels of the area the thumbnails and grids cover (the ROI, else
    the frame), so that they are drawn with the frame's aspect ratio, not squashed into their cell counts."""
    w, h = (baseline.roi[2], baseline.roi[3]) if baseline.roi else baseline.resolution
    if not (w and h):  # a baseline without a recorded size: square cells
        h, w = baseline.thumbnail.shape
    return (0.0, float(w), float(h), 0.0)


def _histograms(fig: Figure, spec, baseline: Baseline, current: Current | None) -> None:
    levels = np.arange(256)
    for k, g in enumerate(GROUPS):
        ax = fig.add_subplot(spec[k])
        ref = _density(baseline.edges[k], baseline.ref_props[k]) * 100
        ax.fill_between(levels, ref, step="mid", color="0.75", label="reference")
        if current is not None:
            c = current.counts[k]
            props = (c + baseline.alpha) / (c.sum() + baseline.alpha * len(c))
            cur = _density(baseline.edges[k], props) * 100
            ax.plot(levels, cur, drawstyle="steps-mid", color=_GROUP_COLOUR[g], lw=1.2, label="current")
        ax.set_title(g if current is None else f"{g}: reference vs current", fontsize=9)
        ax.set_xlim(0, 255)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("level (DN8)", fontsize=8)
        if k == 0:
            ax.set_ylabel("% of pixels per level", fontsize=8)
        ax.tick_params(labelsize=7)
        if k == 0:
            ax.legend(fontsize=7, frameon=False)


def _image(fig: Figure, ax, values: np.ndarray, extent, title: str, **style) -> None:
    """``values`` over the frame's area with a colour bar labelled by ``style.pop('label')``."""
    label = style.pop("label")
    im = ax.imshow(values, extent=extent, interpolation="nearest", **style)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("x (px)", fontsize=7)
    ax.tick_params(labelsize=6)
    if ax.get_subplotspec().colspan.start:  # y ticks on the row's first picture only: they are all the same
        ax.tick_params(labelleft=False)
    bar = fig.colorbar(im, ax=ax, fraction=0.05, pad=0.03)
    bar.set_label(label, fontsize=7)
    bar.ax.tick_params(labelsize=6)


def _pictures(
    fig: Figure, row, baseline: Baseline, current: Current | None, result: VerifyResult | None
) -> None:
    extent = frame_extent(baseline)
    thumbs = fig.add_subplot(row[0]), fig.add_subplot(row[1]), fig.add_subplot(row[2])
    grey = {"cmap": "gray", "vmin": 0, "vmax": 255, "label": "mean luma (DN8)"}
    _image(fig, thumbs[0], baseline.thumbnail, extent, "reference thumbnail", **grey)
    thumbs[0].set_ylabel("y (px)", fontsize=7)
    if current is not None:
        _image(fig, thumbs[1], current.thumbnail, extent, "current thumbnail", **grey)
        diff = np.abs(current.thumbnail - baseline.thumbnail)
        style = {"cmap": "magma", "vmin": 0, "vmax": max(20.0, float(diff.max())), "label": "DN8"}
        _image(fig, thumbs[2], diff, extent, f"|current - reference| (max {diff.max():.0f})", **style)
    else:
        for ax in thumbs[1:]:
            ax.set_axis_off()
    grids = fig.add_subplot(row[3]), fig.add_subplot(row[4]), fig.add_subplot(row[5])
    ref = baseline.grid_log_sharpness
    sharp = {"cmap": "viridis", "vmin": float(ref.min()) - 1.0, "vmax": float(ref.max()) + 0.5}
    _image(fig, grids[0], ref, extent, "local sharpness, reference", label="ln(1 + Laplacian var)", **sharp)
    grids[0].set_ylabel("y (px)", fontsize=7)
    if current is not None:
        _image(
            fig,
            grids[1],
            current.grid_log_sharpness,
            extent,
            "local sharpness, current",
            label="ln(1 + Laplacian var)",
            **sharp,
        )
    else:
        grids[1].set_axis_off()
    if current is not None and result is not None and result.worst is not None:
        z = result.worst.grid_z_sharpness
        lim = max(3.0, float(np.nanmax(np.abs(z))))
        style = {"cmap": "RdBu", "vmin": -lim, "vmax": lim, "label": "z (null sds)"}
        _image(fig, grids[2], z, extent, "sharpness z per cell (worst window)", **style)
    else:
        grids[2].set_axis_off()


def _bars(fig: Figure, spec, result: VerifyResult) -> None:
    """Each statistic's largest score over its drift threshold (1.0 = drift), the warn level marked; bars past
    3x are cut at the axis and their value written in a column of its own, so no label covers a bar."""
    ax = fig.add_subplot(spec)
    rows = result.rows
    y = np.arange(len(rows))
    ratio = np.array([r.statistic / r.drift for r in rows])
    ax.barh(y, np.minimum(ratio, _BAR_CUT), color=[_VERDICT_COLOUR[r.verdict] for r in rows], height=0.7)
    ax.scatter(
        [r.warn / r.drift for r in rows], y, marker="|", color="k", s=60, label="warn threshold", zorder=3
    )
    ax.axvline(1.0, color="k", lw=1)
    ax.set_yticks(y, [r.name for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, _BAR_CUT)
    ax.set_xlabel(
        f"score / drift threshold (the line at 1 is the drift threshold, | the warn threshold; bars cut at"
        f" {_BAR_CUT:g}x)",
        fontsize=8,
    )
    ax.tick_params(axis="x", labelsize=7)
    for yi, r, q in zip(y, rows, ratio, strict=True):
        label = f"{q:.2f}x  ({r.statistic:.3g} / {r.drift:.3g}) {r.verdict}"
        # in the columns right of the axes, which the grid leaves free: the layout must not make room for it
        ax.text(1.01, yi, label, transform=ax.get_yaxis_transform(), va="center", fontsize=7).set_in_layout(
            False
        )


def report_figure(
    baseline: Baseline, current: Current | None = None, result: VerifyResult | None = None
) -> Figure:
    """The report as one matplotlib figure: the headline (verdict and likely cause) in the title, histograms
    per colour group, the thumbnails and local-sharpness grids at the frame's aspect ratio with colour bars,
    and (with a verify result) every statistic against its thresholds."""
    heights = [2.6, 2.8, 2.8] + ([0.9 + 0.2 * len(result.rows)] if result is not None else [])
    total = sum(heights) + 0.55 * len(heights) + 1.3  # inches: rows, the gaps between them, title and margin
    # A fixed layout (margins in inches): matplotlib's constrained layout collapsed on some sizes and dpis.
    fig = Figure(figsize=(14, total))
    title = f"camdrift report: camera {baseline.camera_id}, baseline {baseline.baseline_id}"
    if result is not None:
        title += f": {result.verdict.upper()}"
        if result.verdict != "pass":
            title += f", likely cause: {likely_cause(result.causes)}"
        sub = (
            f"current capture: {result.frames} frames; reference: {baseline.frame_count} frames of "
            f"{baseline.source}"
        )
    else:
        sub = f"reference only: {baseline.frame_count} frames of {baseline.source}, created {baseline.created_at}"
    fig.suptitle(title + "\n" + sub, fontsize=10, ha="left", x=0.01, y=1 - 0.15 / total, va="top")
    spec = fig.add_gridspec(
        len(heights),
        12,
        height_ratios=heights,
        left=0.1,
        right=0.95,
        top=1 - 1.0 / total,
        bottom=0.5 / total,
        hspace=0.55 * len(heights) / sum(heights),
        wspace=1.2,
    )
    _histograms(fig, [spec[0, 3 * k : 3 * k + 3] for k in range(4)], baseline, current)
    _pictures(fig, [spec[r, 4 * c : 4 * c + 4] for r in (1, 2) for c in range(3)], baseline, current, result)
    if result is not None:
        _bars(fig, spec[3, :9], result)
    return fig


def render_png(
    baseline: Baseline, current: Current | None = None, result: VerifyResult | None = None
) -> bytes:
    """:func:`report_figure` as PNG bytes."""
    buf = io.BytesIO()
    report_figure(baseline, current, result).savefig(buf, format="png", dpi=90)
    return buf.getvalue()


def html_page(baseline: Baseline, png: bytes, result: VerifyResult | None) -> str:
    """A self-contained HTML page: the picture (base64 PNG), the verdict and the per-statistic table."""
    esc = html.escape
    rows = []
    if result is not None:
        for r in result.rows:
            color = {"pass": "#3a3", "warn": "#e90", "fail": "#d33"}[r.verdict]
            rows.append(
                f"<tr><td>{esc(r.name)}</td><td>{r.statistic:.4g}</td><td>{r.warn:.4g}</td><td>{r.drift:.4g}</td>"
                f'<td style="color:{color}"><b>{r.verdict}</b></td><td>{esc(r.cause_text)}</td></tr>'
            )
    verdict = ""
    if result is not None:
        verdict = f"<h2>Verdict: {result.verdict.upper()}</h2>"
        if result.verdict != "pass":
            verdict += f"<p>Likely cause: {esc(likely_cause(result.causes))}</p>"
    table = (
        "<table border=1 cellpadding=4><tr><th>statistic</th><th>value</th><th>warn</th><th>drift</th>"
        "<th>verdict</th><th>likely cause</th></tr>" + "".join(rows) + "</table>"
        if rows
        else ""
    )
    th = baseline.thresholds
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>camdrift report {esc(baseline.camera_id)}</title></head><body style='font-family:sans-serif'>"
        f"<h1>camdrift report: camera {esc(baseline.camera_id)}</h1>"
        f"<p>Baseline {esc(baseline.baseline_id)}: {esc(baseline.source)}, {baseline.frame_count} frames, "
        f"created {esc(baseline.created_at)}; thresholds {esc(th.method)}, window {th.window} frames, "
        f"false-alarm budget {esc(th.budget)}.</p>"
        f"{verdict}"
        f"<img alt='report' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
        f"{table}</body></html>"
    )
