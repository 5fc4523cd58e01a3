"""How the camera moved: the rotation and shift of the recent frames' mean thumbnail against the reference's.

Detection scores the Hanning- and static-weighted phase correlation of the luma thumbnails
(:func:`~camdrift.agent.drift.statistics.phase_shift`, calibrated as such). Its peak is right about *whether*
the view moved, but not *how far*: the lamp's smooth fall-off and the products' blur in a mean thumbnail pull
the peak toward zero (a 19 px move of a 640 px view read as 8-12 px). The figures a technician acts on are read
from the edges instead: the thumbnails' Sobel gradient magnitude, which carries the belt's rails, the fixtures
and the static background and not the fall-off, resampled to square cells (a roll is a rotation only there),
a phase correlation for the shift and ``cv2.findTransformECC`` refining it into a rotation and a shift.

Two readings say whether a move explains the change at all, since a smudge, noise or new content can pull a
correlation peak a few pixels: how far the edges moved (a move of a cell or more is beyond what products
passing do to a few frames' mean), and how much of the edge correlation lost against the reference undoing
the move wins back. Measured on the four simulated scenes at 640x360, 5-frame means, two seeds (40 moves):
moves of 12-38 px with and without a 1 degree roll within 1.9 px (10 %) of the truth, the roll within 0.67
degree, every one credited as a move; 3 px moves within 2 px but for one read as none on the mono scene, and
credited only in part (0-0.72): at a third of a cell they are at the edge of what the thumbnail resolves.
Smudge, noise, defocus, light, new products and a still camera: credibility at most 0.19, edges moved at
most 2.6 px.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

_ECC = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-5)
# A mean of a few frames' edges wanders by up to ~0.35 cell with the products in view (measured): half a cell
# is noise, a cell and a half is a move.
STILL_CELLS, MOVED_CELLS = 0.5, 1.5
# A grid too coarse to hold edges apart (a 16x12 grid read a 10 px shift of a 160x120 frame as 10 px right and
# 25 px down) cannot say whether a move explains the change: there the move is not discounted (the detection
# statistic alone decides, as before the pose was read).
MIN_SIZE_CELLS = 24
# A move that wins back this share of the lost edge correlation is a move however small it is.
EXPLAINED_MOVE = 0.3


class CameraPose(NamedTuple):
    """How the view moved against the reference. dx, dy: frame pixels the content at the frame centre moved
    (+x right, +y down); rotation_deg: how far the content turned, + clockwise on screen; explained: 0..1, the
    share of the edge correlation lost against the reference that undoing the move wins back; moved_cells: how
    far the edges moved, in thumbnail cells (the shift and the roll at the frame's edge); resolved: the grid is
    fine enough (``MIN_SIZE_CELLS`` square cells) for the pose to say whether a move explains the change."""

    dx: float
    dy: float
    rotation_deg: float
    explained: float
    moved_cells: float
    resolved: bool = True

    @property
    def credible(self) -> float:
        """0..1: how far the readings say a move explains the change (1: a move; 0: a peak the move does not
        explain, pulled by something else); 1 on a grid too coarse to tell (``resolved`` False)."""
        if not self.resolved:
            return 1.0
        by_size = (self.moved_cells - STILL_CELLS) / (MOVED_CELLS - STILL_CELLS)
        return float(np.clip(max(by_size, self.explained / EXPLAINED_MOVE), 0.0, 1.0))


# What a thumbnail too small to read gives: no move seen, and no say on whether one explains the change.
STILL = CameraPose(0.0, 0.0, 0.0, 0.0, 0.0, resolved=False)


def gradient_magnitude(thumbnail: np.ndarray) -> np.ndarray:
    """(th, tw) float64 Sobel gradient magnitude of a (th, tw) luma thumbnail (DN8 per cell)."""
    t = np.asarray(thumbnail, np.float64)
    return np.hypot(cv2.Sobel(t, cv2.CV_64F, 1, 0), cv2.Sobel(t, cv2.CV_64F, 0, 1))


def _square_cells(thumbnail: np.ndarray, px_per_cell: tuple[float, float]) -> tuple[np.ndarray, float]:
    """The thumbnail resampled to square cells and the cell side in frame pixels."""
    th, tw = np.shape(thumbnail)
    side = max(px_per_cell)
    size = (max(4, round(tw * px_per_cell[0] / side)), max(4, round(th * px_per_cell[1] / side)))
    return cv2.resize(np.asarray(thumbnail, np.float32), size, interpolation=cv2.INTER_AREA), side


def _correlation(a: np.ndarray, b: np.ndarray, margin: int) -> float:
    """Pearson correlation of ``a`` and ``b`` inside a ``margin``-cell border."""
    a = a[margin:-margin, margin:-margin].ravel()
    b = b[margin:-margin, margin:-margin].ravel()
    a, b = a - a.mean(), b - b.mean()
    return float(a @ b / np.sqrt(float(a @ a) * float(b @ b) + 1e-12))


def camera_pose(reference: np.ndarray, current: np.ndarray, px_per_cell: tuple[float, float]) -> CameraPose:
    """The rotation and shift that take ``reference``'s edges onto ``current``'s (both (th, tw) luma thumbnails;
    px_per_cell: (x, y) frame pixels per cell) and how much of their difference the move explains.
    :data:`STILL` for thumbnails too small to read."""
    ref, side = _square_cells(reference, px_per_cell)
    cur, _ = _square_cells(current, px_per_cell)
    h, w = ref.shape
    if h < 8 or w < 8:
        return STILL
    g_ref = gradient_magnitude(ref).astype(np.float32)
    g_cur = gradient_magnitude(cur).astype(np.float32)
    win = cv2.createHanningWindow((w, h), cv2.CV_64F)
    (sx, sy), _ = cv2.phaseCorrelate(g_ref.astype(np.float64), g_cur.astype(np.float64), win)
    shift_only = np.float32([[1, 0, sx], [0, 1, sy]])
    try:  # ECC: g_cur(warp(x)) ~ g_ref(x), from the phase correlation's shift
        _, warp = cv2.findTransformECC(g_ref, g_cur, shift_only.copy(), cv2.MOTION_EUCLIDEAN, _ECC, None, 1)
    except cv2.error:  # no convergence (flat or unrelated edges): the shift alone
        warp = shift_only
    centre = np.array([w / 2.0, h / 2.0, 1.0])
    dx, dy = warp.astype(np.float64) @ centre - centre[:2]
    turn = float(np.arctan2(warp[1, 0], warp[0, 0]))
    moved = float(np.hypot(dx, dy) + abs(turn) * np.hypot(w, h) / 2.0)
    margin = int(np.ceil(np.abs(warp[:, 2]).max())) + 2
    explained = 0.0
    if 2 * margin < min(h, w) - 4:
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        undone = cv2.warpAffine(g_cur, warp, (w, h), flags=flags, borderMode=cv2.BORDER_REPLICATE)
        before, after = _correlation(g_ref, g_cur, margin), _correlation(g_ref, undone, margin)
        explained = float(np.clip((after - before) / max(1.0 - before, 1e-6), 0.0, 1.0))
    resolved = min(h, w) >= MIN_SIZE_CELLS
    return CameraPose(float(dx * side), float(dy * side), float(np.degrees(turn)), explained, moved, resolved)
