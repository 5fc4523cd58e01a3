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
- content: histograms moved (PSI) while none of the signatures above carries the change: new product or variant.
"""

from __future__ import annotations

import numpy as np

from camdrift.agent.drift.decision import Cause
from camdrift.agent.drift.statistics import WindowStats

_QUANTS = ("luma_p10", "luma_p25", "luma_p50", "luma_p75", "luma_p90")


def _pct(x: float) -> str:
    """Signed percent: whole numbers from 2 % up, one decimal below (slow drifts are caught early)."""
    return f"{100 * x:+.0f}%" if abs(x) >= 0.02 else f"{100 * x:+.1f}%"


def tone_fit(ref_q: np.ndarray, cur_q: np.ndarray) -> tuple[float, float]:
    """Fit ln(cur / ref) = a + b ln(ref / 255) over the luma quantiles -> (a, b): a = gain (lighting),
    b = gamma - 1 (an ISP gamma moves dark levels most in log terms and holds white)."""
    ok = (ref_q > 2.0) & (ref_q < 250.0) & (cur_q > 0.5)
    if ok.sum() < 2:
        return 0.0, 0.0
    y = np.log(cur_q[ok] / ref_q[ok])
    x = np.log(ref_q[ok] / 255.0)
    a, b = np.linalg.lstsq(np.stack([np.ones_like(x), x], axis=1), y, rcond=None)[0]
    return float(a), float(b)


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
    si = {s: i for i, s in enumerate(scalar_names)}
    strength = {n: float(ws.scores[i] / drift[i]) for i, n in enumerate(names)}

    def z(s: str) -> float:
        return float(ws.z[si[s]])

    def rel(s: str) -> float:
        return float(ws.rel[si[s]])

    def st(s: str) -> float:
        return strength[f"shift.{s}"]

    q_idx = [si[q] for q in _QUANTS]
    ref_q = scalar_mean[q_idx]
    a, b = tone_fit(ref_q, ref_q * (1.0 + ws.rel[q_idx]))
    tone = max(st("brightness"), *(st(q) for q in _QUANTS))
    dark = ref_q > 2.0
    spread = float(np.mean(np.abs(np.log(ref_q[dark] / 255.0)))) if dark.any() else 1.0
    ga, gb = abs(a), abs(b) * spread
    share = ga / (ga + gb) if ga + gb > 0 else 0.5
    # A lamp or an ISP curve moves every cell's luma the same way, the static background included; a new
    # product moves only the cells it passes through. The sign is what counts: early in a slow lamp change the
    # cells move together while each one is still well inside its own noise.
    gl = ws.grid_z_luma
    direction = np.sign(z("brightness")) or 1.0
    uniform = float(np.mean(gl * direction > 0.0)) if gl.size else 1.0
    # R/G and B/G moving apart is a colour cast, not a tone change: it discounts the tone causes (a white-balance
    # shift also moves the luma, through the channels' different weights).
    rg, bg = z("rg"), z("bg")
    cast = float(np.hypot(st("rg"), st("bg"))) if rg * bg < 0 else 0.0
    share_tone = 1.0 / (1.0 + cast)
    causes = [
        Cause(
            "lighting",
            f"mean luma {_pct(rel('brightness'))} since baseline, "
            f"{'uniform' if uniform > 0.8 else 'uneven'} across the frame: lighting",
            tone * share * uniform * share_tone,
        ),
        Cause(
            "gamma",
            f"midtones {_pct(rel('luma_p50'))}, shadows {_pct(rel('luma_p10'))}, highlights "
            f"{_pct(rel('luma_p90'))} (tone curve exponent x{1 + b:.2f}), black and white hold: gamma / tone curve",
            tone * (1.0 - share) * uniform * share_tone,
        ),
    ]
    # A tone change moves R/G and B/G a little (the channels sit at different levels); white balance moves
    # them apart, in opposite directions.
    causes.append(
        Cause(
            "white_balance",
            f"R/G {_pct(rel('rg'))}, B/G {_pct(rel('bg'))}: {'warmer' if rg > bg else 'cooler'} light / white balance",
            cast if rg * bg < 0 else 0.5 * max(st("rg"), st("bg")),
        )
    )
    gz = ws.grid_z_sharpness
    thr_cell = drift[names.index("grid.sharpness")]
    low = gz < -thr_cell / 2.0
    frac = float(low.mean()) if gz.size else 0.0
    sharp = _log_ratio(ws, si["sharpness"], scalar_mean)
    # Laplacian variance scales with the square of the light: only the fall beyond that says the lens lost
    # focus (a 20 % darker scene loses 36 % of its sharpness without any blur).
    excess = sharp - 2.0 * np.log1p(max(rel("brightness"), -0.99))
    causes.append(
        Cause(
            "defocus",
            f"sharpness {_pct(np.expm1(sharp))}, noise {_pct(rel('noise'))}, over {frac:.0%} of the frame: "
            "defocus or dirty lens",
            max(0.0, -z("sharpness"))
            / drift[names.index("shift.sharpness")]
            * frac
            * float(np.clip(-excess / 0.1, 0.0, 1.0)),
        )
    )
    cells = int(low.sum())
    local_luma = float(np.max(np.abs(gl))) / thr_cell * (1.0 - uniform) if gl.size else 0.0
    causes.append(
        Cause(
            "smudge",
            f"local sharpness down in {cells} of {gz.size} cells (worst cell {float(gz.min()):+.0f} sd): smudge or "
            "partial occlusion",
            (strength["grid.sharpness"] if cells else 0.5 * local_luma) * (1.0 - frac),
        )
    )
    causes.append(
        Cause(
            "noise",
            f"noise {_pct(rel('noise'))}, tones {_pct(rel('brightness'))}: sensor noise / gain setting",
            max(0.0, z("noise")) / drift[names.index("shift.noise")],
        )
    )
    dx, dy = ws.shift_px
    causes.append(
        Cause(
            "camera_moved",
            f"image shifted {abs(dx):.0f} px {'right' if dx >= 0 else 'left'}, "
            f"{abs(dy):.0f} px {'down' if dy >= 0 else 'up'}: camera moved",
            2.0 * strength["displacement"],
        )
    )
    histo = max(strength[n] for n in names if n.startswith("psi."))
    exposure = max(st("under_exposed"), st("over_exposed"))
    explained = max(c.score for c in causes)
    content = max(histo, exposure)
    causes.append(
        Cause(
            "content",
            f"histograms moved (PSI up to {float(ws.psi.max()):.3f}) while the scene's low-level statistics hold: "
            "content changed (new product variant?)",
            content if explained < 1.0 else 0.5 * content / explained,
        )
    )
    causes.sort(key=lambda c: -c.score)
    return tuple(causes)


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
    causes.sort(key=lambda c: -c.score)
    return tuple(causes)


def _log_ratio_rel(rel: float, ref: float) -> float:
    cur = ref * (1.0 + rel)
    return float(np.log(np.expm1(cur) / np.expm1(ref))) if ref > 0 and cur > 0 else 0.0
