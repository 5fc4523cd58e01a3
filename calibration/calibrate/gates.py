"""Quality gates of a reference capture: what a technician must know before trusting a baseline built from it.

Each gate looks at the per-frame scalars (see :data:`camdrift.agent.features.SCALARS`) and thumbnails of the
capture and returns typed :class:`Finding` s. ``error`` findings refuse the calibration (``--force`` overrides);
``warning`` findings are printed in the summary and recorded in the baseline's notes.

Limits (chosen, and why):

- too few frames: below the stated minimum of :mod:`.minimum` (10 windows, and 15 effectively independent
  windows at the autocorrelation measured) is an error saying how much more footage it needs: the thresholds'
  own uncertainty would be too large to trust.
- black: mean luma below 10 DN8 with a luma sd below 4 DN8 (lens cap, dead stream); such frames are dropped
  from the reference (they say nothing about the scene) and counted.
- blurred: Laplacian variance below a tenth of the capture's median (motion blur, autofocus hunting), or the
  whole capture's median below 5 DN8^2 (lens out of focus: everything soft).
- over- / under-exposed: more than 10 % of a frame's pixels at or above the over threshold, or more than 25 %
  at or below the under threshold.
- static scene: every thumbnail cell and the mean luma vary by less than 0.05 DN8 over the capture (a frozen
  stream or one image repeated): there is no variation to calibrate thresholds from -> error. Below 0.5 DN8 the
  scene merely barely changes -> warning (thresholds will be tight; capture while the line runs).
- frames of another size or format than the first: skipped and counted by the capture, reported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from camdrift.agent.drift.features import SCALARS
from camdrift.calibration.calibrate.minimum import reference_minimum

BLACK_LUMA, BLACK_SD = 10.0, 4.0
BLUR_RATIO, BLUR_ABSOLUTE = 0.1, 5.0
OVER_FRACTION, UNDER_FRACTION = 0.10, 0.25
STATIC_DN, QUIET_DN = 0.05, 0.5

_I = {name: i for i, name in enumerate(SCALARS)}


@dataclass(frozen=True)
class Finding:
    """What a gate found. level: ``error`` (calibration refused) or ``warning``; code: stable key
    (``too_few_frames``, ``black``, ``blurred``, ``over_exposed``, ``under_exposed``, ``static_scene``,
    ``skipped``); message: plain words with the numbers; frames: how many frames it concerns (0: the capture)."""

    level: Literal["error", "warning"]
    code: str
    message: str
    frames: int = 0

    def __str__(self) -> str:
        return f"{self.level.upper()} {self.code}: {self.message}"


def black_frames(scalars: np.ndarray) -> np.ndarray:
    """(R,) bool: frames that are black (see the module docstring). scalars: (R, S) in SCALARS order."""
    return (scalars[:, _I["brightness"]] < BLACK_LUMA) & (scalars[:, _I["contrast"]] < BLACK_SD)


def gate_frame_count(scalars: np.ndarray, window: int, rate: float) -> list[Finding]:
    """The reference minimum (:func:`~.minimum.reference_minimum`) over the (R, S) scalars of the frames kept;
    rate: analysed frames per second of the capture (to say how many seconds more it needs)."""
    minimum = reference_minimum(scalars, window)
    if minimum.met:
        return []
    return [Finding("error", "too_few_frames", minimum.shortfall(rate), len(scalars))]


def gate_black(n_black: int, n_total: int) -> list[Finding]:
    if n_black == 0:
        return []
    level = "error" if n_black * 2 > n_total else "warning"
    return [
        Finding(
            level,
            "black",
            f"{n_black} of {n_total} frames are black (lens cap, dead stream?); they were left out",
            n_black,
        )
    ]


def gate_quality(scalars: np.ndarray, under_threshold: int, over_threshold: int) -> list[Finding]:
    """Blur and exposure gates over the (R, S) scalars of the frames kept (black ones removed)."""
    out: list[Finding] = []
    n = len(scalars)
    if n == 0:
        return out
    lap = np.expm1(scalars[:, _I["sharpness"]])  # Laplacian variance, DN8^2
    med = float(np.median(lap))
    if med < BLUR_ABSOLUTE:
        out.append(
            Finding(
                "warning",
                "blurred",
                f"the whole capture is soft (median Laplacian variance {med:.2g} DN8^2 < {BLUR_ABSOLUTE:g}): "
                "is the lens focused and clean?",
                n,
            )
        )
    else:
        blurred = int(np.sum(lap < BLUR_RATIO * med))
        if blurred:
            out.append(
                Finding(
                    "warning",
                    "blurred",
                    f"{blurred} of {n} frames are blurred (sharpness below {BLUR_RATIO:.0%} of the capture's "
                    "median): motion blur or focus hunting",
                    blurred,
                )
            )
    over = int(np.sum(scalars[:, _I["over_exposed"]] > OVER_FRACTION))
    if over:
        out.append(
            Finding(
                "warning",
                "over_exposed",
                f"{over} of {n} frames are over-exposed (more than {OVER_FRACTION:.0%} of pixels >= "
                f"{over_threshold} DN8)",
                over,
            )
        )
    under = int(np.sum(scalars[:, _I["under_exposed"]] > UNDER_FRACTION))
    if under:
        out.append(
            Finding(
                "warning",
                "under_exposed",
                f"{under} of {n} frames are under-exposed (more than {UNDER_FRACTION:.0%} of pixels <= "
                f"{under_threshold} DN8)",
                under,
            )
        )
    return out


def gate_static(scalars: np.ndarray, thumbnails: np.ndarray) -> list[Finding]:
    """Static-scene gate. thumbnails: (R, th, tw) DN8 of the frames kept."""
    if len(scalars) < 2:
        return []
    luma_sd = float(np.std(scalars[:, _I["brightness"]]))
    cell_sd = float(np.max(np.std(thumbnails.astype(np.float64), axis=0)))
    if max(luma_sd, cell_sd) < STATIC_DN:
        return [
            Finding(
                "error",
                "static_scene",
                f"the frames do not change (mean luma sd {luma_sd:.3g}, largest thumbnail-cell sd {cell_sd:.3g} "
                "DN8): frozen stream or one image repeated; nothing to calibrate thresholds from",
            )
        ]
    if max(luma_sd, cell_sd) < QUIET_DN:
        return [
            Finding(
                "warning",
                "static_scene",
                f"the scene barely changes (largest thumbnail-cell sd {cell_sd:.3g} DN8): thresholds will be "
                "tight; calibrate while the line is running",
            )
        ]
    return []


def gate_skipped(skipped: Mapping[str, int], used: int) -> list[Finding]:
    """Frames the capture or the source skipped, by reason (size/format changes, undecodable files...)."""
    total = sum(skipped.values())
    if not total:
        return []
    detail = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in sorted(skipped.items()))
    level = "error" if total > used else "warning"
    return [Finding(level, "skipped", f"{total} frames skipped ({detail})", total)]


def run_gates(
    scalars: np.ndarray,
    thumbnails: np.ndarray,
    *,
    window: int,
    skipped: Mapping[str, int],
    under_threshold: int,
    over_threshold: int,
    rate: float = 5.0,
) -> tuple[np.ndarray, list[Finding]]:
    """All gates over a capture -> (keep (R,) bool: frames to build the baseline from, findings).

    scalars: (R, S) per-frame scalars in SCALARS order; thumbnails: (R, th, tw) DN8; window: frames per analysis
    window; skipped: frames the capture did not use, by reason; rate: analysed frames per second (for the
    footage the minimum still needs).
    """
    black = black_frames(scalars)
    keep = ~black
    findings = gate_black(int(black.sum()), len(scalars))
    findings += gate_skipped(skipped, int(keep.sum()))
    findings += gate_frame_count(scalars[keep], window, rate)
    findings += gate_quality(scalars[keep], under_threshold, over_threshold)
    findings += gate_static(scalars[keep], thumbnails[keep])
    return keep, findings
