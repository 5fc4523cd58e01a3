"""Likely causes in plain words, ranked, from a window's feature deltas against the baseline.

Each cause has a signature in the statistics (units: z = shift in null sds of a window mean; "strength" = a score
divided by its drift threshold, so 1.0 is just at the threshold):

- lighting: every luma quantile moves by the same factor (log-shift constant over the tones), uniformly over the
  grid cells; gamma: midtones and shadows move while whites hold (log-shift proportional to ln(level / 255));
  both fitted at once to the five luma quantiles.
- white_balance: R/G and B/G move, in opposite directions, more than a tone change explains.
- defocus: sharpness falls in most grid cells; smudge: it falls (or luma moves) in a few cells only.
- noise: the noise estimate rises while the tones hold.
- camera_moved: the mean thumbnail is displaced from the reference thumbnail.
- content: histograms moved (PSI), or the sharpness rose beyond what noise and light explain (new edges,
  :mod:`~camdrift.agent.drift.texture`), while none of the signatures above carries the change: new product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from camdrift.agent.drift.decision import Cause
from camdrift.agent.drift.statistics import WindowStats
from camdrift.agent.drift.texture import edges_beyond_noise
from camdrift.agent.drift.tone import colour_beyond_tone, tone_fit, tone_fit_se

_QUANTS = ("luma_p10", "luma_p25", "luma_p50", "luma_p75", "luma_p90")


def _pct(x: float) -> str:
    """Signed percent: whole numbers from 2 % up, one decimal below (slow drifts are caught early)."""
    return f"{100 * x:+.0f}%" if abs(x) >= 0.02 else f"{100 * x:+.1f}%"


@dataclass(frozen=True)
class _Reading:
    """One window read once for every cause signature. strength: score / drift threshold per statistic; share:
    the part of the tone change a gain explains (1 - share: a gamma); b: gamma - 1; tone: strongest tone shift;
    uniform: fraction of grid cells whose luma moved the way the mean did; cast_z: (R/G, B/G) z beyond the tone
    curve, cast_st: the same over their drift thresholds; cast: strength of R/G and B/G moving apart beyond the
    tone curve; share_tone: the part of a tone change left once the cast is discounted; low: grid cells whose
    sharpness fell (frac: their fraction); thr_cell: the grid statistic's drift threshold (sd); edges: (z over the
    sharpness threshold, relative change) of the sharpness beyond what noise and light explain."""

    ws: WindowStats
    names: tuple[str, ...]
    drift: np.ndarray
    scalar_mean: np.ndarray
    si: dict[str, int]
    strength: dict[str, float]
    tone: float
    share: float
    b: float
    uniform: float
    cast: float
    cast_z: tuple[float, float]
    cast_st: tuple[float, float]
    share_tone: float
    low: np.ndarray
    frac: float
    thr_cell: float
    edges: tuple[float, float]

    def z(self, s: str) -> float:
        return float(self.ws.z[self.si[s]])

    def rel(self, s: str) -> float:
        return float(self.ws.rel[self.si[s]])

    def st(self, s: str) -> float:
        return self.strength[f"shift.{s}"]


def _read(
    ws: WindowStats,
    names: tuple[str, ...],
    drift: np.ndarray,
    scalar_names: tuple[str, ...],
    scalar_mean: np.ndarray,
) -> _Reading:
    si = {s: i for i, s in enumerate(scalar_names)}
    strength = {n: float(ws.scores[i] / drift[i]) for i, n in enumerate(names)}

    def st(s: str) -> float:
        return strength[f"shift.{s}"]

    q_idx = [si[q] for q in _QUANTS]
    ref_q = scalar_mean[q_idx]
    a, b = tone_fit(ref_q, ref_q * (1.0 + ws.rel[q_idx]))
    se_a, se_b = tone_fit_se(ref_q, ws.rel[q_idx], ws.z[q_idx])
    dark = ref_q > 2.0
    spread = float(np.mean(np.abs(np.log(ref_q[dark] / 255.0)))) if dark.any() else 1.0
    # Only the part of a gain or a curvature beyond two of its standard errors is evidence: early in a lamp
    # change the quantiles move by a DN step or two and an integer step at a dark level reads as curvature.
    ga, gb = max(abs(a) - 2.0 * se_a, 0.0), max(abs(b) - 2.0 * se_b, 0.0) * spread
    # A lamp or an ISP curve moves every cell's luma the same way, the static background included; a new
    # product moves only the cells it passes through. The sign is what counts: early in a slow lamp change the
    # cells move together while each one is still well inside its own noise.
    gl = ws.grid_z_luma
    direction = np.sign(float(ws.z[si["brightness"]])) or 1.0
    # R/G and B/G moving apart is a colour cast, not a tone change: it discounts the tone causes (a white-balance
    # shift also moves the luma, through the channels' different weights). Only the part beyond what the fitted
    # tone curve does to the ratios counts: a curve of exponent 1 + b takes R/G to about (R/G)^(1 + b), which on a
    # warm scene moves R/G and B/G apart too (measured at detection on the static scene: +0.27 % / -0.27 %
    # against +0.23 % / -0.26 % predicted, and 5 null sds there).
    rg, bg = colour_beyond_tone(ws, si, scalar_mean, b)
    cast_st = (rg / drift[names.index("shift.rg")], bg / drift[names.index("shift.bg")])
    cast = float(np.hypot(*cast_st)) if rg * bg < 0 else 0.0
    gz = ws.grid_z_sharpness
    thr_cell = drift[names.index("grid.sharpness")]
    low = gz < -thr_cell / 2.0
    edges_z, edges_rel = edges_beyond_noise(ws.z, ws.rel, scalar_mean, si)
    return _Reading(
        ws=ws,
        names=names,
        drift=drift,
        scalar_mean=scalar_mean,
        si=si,
        strength=strength,
        tone=max(st("brightness"), *(st(q) for q in _QUANTS)),
        share=ga / (ga + gb) if ga + gb > 0 else 0.5,
        b=b,
        uniform=float(np.mean(gl * direction > 0.0)) if gl.size else 1.0,
        cast=cast,
        cast_z=(rg, bg),
        cast_st=cast_st,
        share_tone=1.0 / (1.0 + cast),
        low=low,
        frac=float(low.mean()) if gz.size else 0.0,
        thr_cell=thr_cell,
        edges=(max(edges_z, 0.0) / drift[names.index("shift.sharpness")], edges_rel),
    )


def _lighting(r: _Reading) -> Cause:
    return Cause(
        "lighting",
        f"mean luma {_pct(r.rel('brightness'))} since baseline, "
        f"{'uniform' if r.uniform > 0.8 else 'uneven'} across the frame: lighting",
        r.tone * r.share * r.uniform * r.share_tone,
    )


def _gamma(r: _Reading) -> Cause:
    return Cause(
        "gamma",
        f"midtones {_pct(r.rel('luma_p50'))}, shadows {_pct(r.rel('luma_p10'))}, highlights "
        f"{_pct(r.rel('luma_p90'))} (tone curve exponent x{1 + r.b:.2f}), black and white hold: gamma / tone curve",
        r.tone * (1.0 - r.share) * r.uniform * r.share_tone,
    )


def _white_balance(r: _Reading) -> Cause:
    # A tone change moves R/G and B/G a little (the channels sit at different levels); white balance moves
    # them apart, in opposite directions.
    rg, bg = r.cast_z
    return Cause(
        "white_balance",
        f"R/G {_pct(r.rel('rg'))}, B/G {_pct(r.rel('bg'))}: {'warmer' if rg > bg else 'cooler'} light / white balance",
        r.cast if rg * bg < 0 else 0.5 * max(abs(r.cast_st[0]), abs(r.cast_st[1])),
    )


def _defocus(r: _Reading) -> Cause:
    sharp = _log_ratio(r.ws, r.si["sharpness"], r.scalar_mean)
    # Laplacian variance scales with the square of the light: only the fall beyond that says the lens lost
    # focus (a 20 % darker scene loses 36 % of its sharpness without any blur).
    excess = sharp - 2.0 * np.log1p(max(r.rel("brightness"), -0.99))
    return Cause(
        "defocus",
        f"sharpness {_pct(np.expm1(sharp))}, noise {_pct(r.rel('noise'))}, over {r.frac:.0%} of the frame: "
        "defocus or dirty lens",
        max(0.0, -r.z("sharpness"))
        / r.drift[r.names.index("shift.sharpness")]
        * r.frac
        * float(np.clip(-excess / 0.1, 0.0, 1.0)),
    )


def _smudge(r: _Reading) -> Cause:
    gz, gl = r.ws.grid_z_sharpness, r.ws.grid_z_luma
    cells = int(r.low.sum())
    local_luma = float(np.max(np.abs(gl))) / r.thr_cell * (1.0 - r.uniform) if gl.size else 0.0
    return Cause(
        "smudge",
        f"local sharpness down in {cells} of {gz.size} cells (worst cell {float(gz.min()):+.0f} sd): smudge or "
        "partial occlusion",
        (r.strength["grid.sharpness"] if cells else 0.5 * local_luma) * (1.0 - r.frac),
    )


def _noise(r: _Reading) -> Cause:
    return Cause(
        "noise",
        f"noise {_pct(r.rel('noise'))}, tones {_pct(r.rel('brightness'))}: sensor noise / gain setting",
        max(0.0, r.z("noise")) / r.drift[r.names.index("shift.noise")],
    )


def _camera_moved(r: _Reading) -> Cause:
    dx, dy = r.ws.shift_px
    rot = r.ws.rotation_deg
    turned = (
        f" and turned {abs(rot):.1f} deg {'clockwise' if rot > 0 else 'anticlockwise'}"
        if abs(rot) >= 0.2
        else ""
    )
    # A displaced peak is only a move if undoing it lines the edges up again: a smudge, noise or new content can
    # pull the correlation peak a few pixels without any move explaining the change.
    return Cause(
        "camera_moved",
        f"image shifted {abs(dx):.0f} px {'right' if dx >= 0 else 'left'}, "
        f"{abs(dy):.0f} px {'down' if dy >= 0 else 'up'}{turned}: camera moved",
        2.0 * r.strength["displacement"] * r.ws.move_credible,
    )


def _content(r: _Reading, explained: float) -> Cause:
    """Histograms moved, or new edges appeared, while no low-level signature (the strongest scoring
    ``explained``) carries the change."""
    histo = max(r.strength[n] for n in r.names if n.startswith("psi."))
    exposure = max(r.st("under_exposed"), r.st("over_exposed"))
    content = max(histo, exposure, r.edges[0])
    moved = (
        f"sharpness {_pct(r.edges[1])} beyond what noise and light explain (new edges)"
        if r.edges[0] > max(histo, exposure)
        else f"histograms moved (PSI up to {float(r.ws.psi.max()):.3f})"
    )
    return Cause(
        "content",
        f"{moved} while the scene's low-level statistics hold: content changed (new product variant?)",
        content if explained < 1.0 else 0.5 * content / explained,
    )


_SIGNATURES = (_lighting, _gamma, _white_balance, _defocus, _smudge, _noise, _camera_moved)


def ranked(causes: list[Cause]) -> tuple[Cause, ...]:
    """Most likely first (stable: equal scores keep their order)."""
    return tuple(sorted(causes, key=lambda c: -c.score))


# A runner-up holding at least this share of the leader's score is not ruled out by the evidence.
CLOSE_CALL = 0.6


def likely_cause(causes: tuple[Cause, ...]) -> str:
    """The plain-word cause a person reads: the leader's text, and the runner-up's beside it, with both scores,
    when the evidence does not separate them (a confident wrong cause sends a technician to the wrong part)."""
    if not causes:
        return ""
    top = causes[0]
    if len(causes) > 1 and top.score > 0 and causes[1].score >= CLOSE_CALL * top.score:
        second = causes[1]
        return f"{top.text}; or {second.text} (evidence {top.score:.2g} vs {second.score:.2g}: not separated)"
    return top.text


def explain(
    ws: WindowStats,
    *,
    names: tuple[str, ...],
    drift: np.ndarray,
    scalar_names: tuple[str, ...],
    scalar_mean: np.ndarray,
) -> tuple[Cause, ...]:
    """Ranked causes for window statistics ``ws``; ``names``/``drift``: the thresholds' names and drift values
    (scores / drift = strength); scalar_mean: (S,) reference means in ``scalar_names`` order."""
    r = _read(ws, names, drift, scalar_names, scalar_mean)
    causes = [signature(r) for signature in _SIGNATURES]
    causes.append(_content(r, max(c.score for c in causes)))
    return ranked(causes)


def _log_ratio(ws: WindowStats, i: int, scalar_mean: np.ndarray) -> float:
    """Sharpness is stored as ln(1 + Laplacian variance): its change as ln(variance ratio)."""
    ref = float(scalar_mean[i])
    cur = ref * (1.0 + float(ws.rel[i]))
    return float(np.log(np.expm1(cur) / np.expm1(ref))) if ref > 0 and cur > 0 else 0.0


def explain_slow(
    mean: np.ndarray, strength: np.ndarray, *, scalar_names: tuple[str, ...], scalar_mean: np.ndarray
) -> tuple[Cause, ...]:
    """Ranked causes of a slow drift. mean: (S,) recent long-window scalar means; strength: (S,) signed CUSUM
    sums over their thresholds (1.0 = at the threshold)."""
    si = {s: i for i, s in enumerate(scalar_names)}
    rel = (mean - scalar_mean) / np.where(np.abs(scalar_mean) > 1e-12, np.abs(scalar_mean), 1.0)
    q_idx = [si[q] for q in _QUANTS]
    ref_q = scalar_mean[q_idx]
    a, b = tone_fit(ref_q, ref_q * (1.0 + rel[q_idx]))
    dark = ref_q > 2.0
    spread = float(np.mean(np.abs(np.log(ref_q[dark] / 255.0)))) if dark.any() else 1.0
    share = abs(a) / (abs(a) + abs(b) * spread) if abs(a) + abs(b) > 0 else 0.5
    tone = float(np.max(np.abs(strength[[si["brightness"], *q_idx]])))
    # Laplacian variance scales with the square of the light: only the excess fall says the lens lost focus.
    sharp = _log_ratio_rel(rel[si["sharpness"]], scalar_mean[si["sharpness"]])
    excess = sharp - 2.0 * np.log1p(rel[si["brightness"]])
    causes = [
        Cause(
            "lighting",
            f"mean luma {_pct(rel[si['brightness']])} since baseline, slowly: lighting",
            tone * share,
        ),
        Cause(
            "gamma", f"midtones {_pct(rel[si['luma_p50']])}, slowly: gamma / tone curve", tone * (1 - share)
        ),
        Cause(
            "white_balance",
            f"R/G {_pct(rel[si['rg']])}, B/G {_pct(rel[si['bg']])}, slowly: colour of the light / white balance",
            float(max(abs(strength[si["rg"]]), abs(strength[si["bg"]]))),
        ),
        Cause(
            "defocus",
            f"sharpness {_pct(np.expm1(sharp))} beyond what the light explains, slowly: defocus or dirty lens",
            float(max(0.0, -strength[si["sharpness"]])) * float(np.clip(-excess / 0.1, 0.0, 1.0)),
        ),
        Cause(
            "noise",
            f"noise {_pct(rel[si['noise']])}, slowly: sensor ageing / gain",
            float(max(0.0, strength[si["noise"]])),
        ),
    ]
    return ranked(causes)


def _log_ratio_rel(rel: float, ref: float) -> float:
    cur = ref * (1.0 + rel)
    return float(np.log(np.expm1(cur) / np.expm1(ref))) if ref > 0 and cur > 0 else 0.0
