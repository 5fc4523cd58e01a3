"""Pictures for a technician, drawn with OpenCV only (no plotting dependency on the edge box).

:func:`render` draws one PNG-ready BGR image: reference vs current histograms per colour group, the reference
and current mean thumbnails with their difference, the grid of local sharpness (reference, current, z), and
every statistic's score against its thresholds. :func:`html_page` wraps it (base64) with the verdict table.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from typing import NamedTuple

import cv2
import numpy as np

from camdrift.agent.drift.explain import likely_cause
from camdrift.agent.drift.features import extract
from camdrift.agent.drift.statistics import GROUPS
from camdrift.agent.reference.baseline import Baseline
from camdrift.calibration.verify.verdict import VerifyResult
from camdrift.kernels import FrameStats

WIDTH = 1040
_GROUP_BGR = {"blue": (200, 90, 30), "green": (40, 160, 40), "red": (40, 40, 210), "luma": (60, 60, 60)}
_VERDICT_BGR = {"pass": (60, 170, 60), "warn": (0, 170, 240), "fail": (50, 50, 220)}
_FONT = cv2.FONT_HERSHEY_SIMPLEX


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


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.45, color=(20, 20, 20)) -> None:
    cv2.putText(img, text, org, _FONT, scale, color, 1, cv2.LINE_AA)


def _density(edges: np.ndarray, props: np.ndarray) -> np.ndarray:
    """(256,) proportion per natural level: each bin's proportion spread evenly over its levels."""
    out = np.zeros(256)
    for k in range(len(props)):
        lo, hi = int(edges[k]), int(min(edges[k + 1], 256))
        if hi > lo:
            out[lo:hi] = props[k] / (hi - lo)
    return out


def _hist_panel(baseline: Baseline, current: Current | None, w: int, h: int) -> np.ndarray:
    panel = np.full((h, w * len(GROUPS), 3), 255, np.uint8)
    for k, g in enumerate(GROUPS):
        x0 = k * w
        ref = _density(baseline.edges[k], baseline.ref_props[k])
        curves = [(ref, (170, 170, 170), 2)]
        if current is not None:
            c = current.counts[k]
            props = (c + baseline.alpha) / (c.sum() + baseline.alpha * len(c))
            curves.append((_density(baseline.edges[k], props), _GROUP_BGR[g], 1))
        top = max(float(np.max(y)) for y, _, _ in curves) or 1.0
        pw, ph = w - 20, h - 40
        cv2.rectangle(panel, (x0 + 10, 20), (x0 + 10 + pw, 20 + ph), (200, 200, 200), 1)
        for y, color, thick in curves:
            pts = np.stack([x0 + 10 + np.arange(256) * pw / 255.0, 20 + ph - y / top * (ph - 4)], axis=1)
            cv2.polylines(panel, [pts.astype(np.int32)], False, color, thick, cv2.LINE_AA)
        _text(panel, f"{g}: reference (grey) vs current", (x0 + 10, 14))
        _text(panel, "0", (x0 + 10, h - 6), 0.35)
        _text(panel, "255 DN8", (x0 + pw - 40, h - 6), 0.35)
    return panel


def _heat(
    values: np.ndarray, size: tuple[int, int], lo: float, hi: float, labels: bool = False
) -> np.ndarray:
    """(gh, gw) values -> (size[1], size[0], 3) colour map, optionally with each cell's value written in it."""
    norm = np.clip((values - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
    img = cv2.applyColorMap((norm * 255).astype(np.uint8), cv2.COLORMAP_VIRIDIS)
    img = cv2.resize(img, size, interpolation=cv2.INTER_NEAREST)
    if labels:
        gh, gw = values.shape
        for r in range(gh):
            for c in range(gw):
                org = (int((c + 0.15) * size[0] / gw), int((r + 0.6) * size[1] / gh))
                _text(img, f"{values[r, c]:+.0f}", org, 0.35, (255, 255, 255))
    return img


def _tiles(tiles: list[tuple[str, np.ndarray]], tile_w: int) -> np.ndarray:
    h = max(t.shape[0] for _, t in tiles) + 24
    row = np.full((h, WIDTH, 3), 255, np.uint8)
    for i, (title, img) in enumerate(tiles):
        x = 10 + i * (tile_w + 20)
        row[20 : 20 + img.shape[0], x : x + img.shape[1]] = img
        _text(row, title, (x, 14))
    return row


def _grey(thumb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    g = np.clip(thumb, 0, 255).astype(np.uint8)
    return cv2.cvtColor(cv2.resize(g, size, interpolation=cv2.INTER_NEAREST), cv2.COLOR_GRAY2BGR)


def _bars(result: VerifyResult) -> np.ndarray:
    """Each statistic's largest score over its drift threshold (1.0 = drift), warn level marked."""
    rows = result.rows
    line = 18
    h = 30 + line * len(rows)
    img = np.full((h, WIDTH, 3), 255, np.uint8)
    x0, span = 200, WIDTH - 260
    top = 3.0  # bars beyond 3x the drift threshold are cut (the value is written next to them)
    _text(img, "score / drift threshold (line = drift, tick = warn; bars cut at 3x)", (10, 16))
    for i, r in enumerate(rows):
        y = 26 + i * line
        frac = r.statistic / r.drift
        cv2.rectangle(
            img, (x0, y), (x0 + int(min(frac, top) / top * span), y + line - 5), _VERDICT_BGR[r.verdict], -1
        )
        wx = x0 + int(r.warn / r.drift / top * span)
        cv2.line(img, (wx, y - 1), (wx, y + line - 4), (0, 0, 0), 1)
        _text(img, r.name, (10, y + 10), 0.4)
        _text(img, f"{r.statistic:.3g} / {r.drift:.3g} {r.verdict}", (x0 + span + 5 - 60, y + 10), 0.35)
    dx = x0 + int(span / top)
    cv2.line(img, (dx, 22), (dx, h - 4), (0, 0, 0), 1)
    return img


def render(
    baseline: Baseline, current: Current | None = None, result: VerifyResult | None = None
) -> np.ndarray:
    """The report as one (H, 1040, 3) uint8 BGR image."""
    th, tw = baseline.thumbnail.shape
    tile_w = 230
    tile = (tile_w, max(1, int(round(tile_w * th / tw))))
    title = np.full((60, WIDTH, 3), 255, np.uint8)
    _text(
        title,
        f"camdrift report - camera {baseline.camera_id}, baseline {baseline.baseline_id}",
        (10, 22),
        0.6,
    )
    sub = f"reference: {baseline.source}, {baseline.frame_count} frames, created {baseline.created_at}"
    if result is not None:
        sub += f" | current: {result.frames} frames, verdict {result.verdict.upper()}"
    _text(title, sub[:150], (10, 46), 0.4)
    parts = [title, _hist_panel(baseline, current, WIDTH // len(GROUPS), 170)]
    thumbs = [("reference thumbnail", _grey(baseline.thumbnail, tile))]
    if current is not None:
        diff = np.abs(current.thumbnail - baseline.thumbnail)
        thumbs.append(("current thumbnail", _grey(current.thumbnail, tile)))
        thumbs.append(
            (f"|difference| (max {diff.max():.0f} DN8)", _heat(diff, tile, 0.0, max(20.0, diff.max())))
        )
    parts.append(_tiles(thumbs, tile_w))
    gs_ref = baseline.grid_log_sharpness
    lo, hi = float(gs_ref.min()) - 1.0, float(gs_ref.max()) + 0.5
    grids = [("local sharpness, reference (ln)", _heat(gs_ref, tile, lo, hi))]
    if current is not None:
        grids.append(("local sharpness, current", _heat(current.grid_log_sharpness, tile, lo, hi)))
        if result is not None and result.worst is not None:
            z = result.worst.grid_z_sharpness
            grids.append(("sharpness z per cell (worst window)", _heat(z, tile, -10.0, 10.0, labels=True)))
    parts.append(_tiles(grids, tile_w))
    if result is not None:
        parts.append(_bars(result))
    return np.vstack(parts)


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


def encode_png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("OpenCV could not encode the report as PNG")
    return buf.tobytes()
