"""The move events report for a moved camera, measured on the simulated scenes against the truth.

The rule a technician relies on (the corpus issue's): within 20 % of the true displacement or 2 px, for shifts
from a few pixels to 38 on every scene, with and without a 1 degree roll, whatever the products do; and a move
that does not explain the change (smudge, noise, defocus, light, new products) is not credited as one.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from camdrift.agent.drift.displacement import STILL, camera_pose, gradient_magnitude
from camdrift.agent.sim.drift import true_displacement
from camdrift.agent.sim.line import Drift, ProductionLine
from camdrift.agent.sim.scenes import SCENES
from camdrift.kernels import frame_stats

SIZE = (640, 360)


def _mean_thumbnail(line: ProductionLine, frames: range, drift: Drift | None = None) -> np.ndarray:
    return np.mean(
        [frame_stats(line.frame(i, drift) if drift else line.frame(i)).thumbnail for i in frames], axis=0
    )


@pytest.fixture(scope="module", params=sorted(SCENES))
def scene_reference(request: pytest.FixtureRequest) -> tuple[ProductionLine, np.ndarray]:
    line = ProductionLine(seed=41, width=SIZE[0], height=SIZE[1], fps=5, scene=request.param)
    return line, _mean_thumbnail(line, range(0, 200, 2))


def _cell(ref: np.ndarray) -> tuple[float, float]:
    return SIZE[0] / ref.shape[1], SIZE[1] / ref.shape[0]


@pytest.mark.parametrize(
    ("shift", "rotation"), [(0.005, 0.0), (0.03, 0.0), (0.03, 1.0), (0.06, 0.0), (0.02, -1.0)]
)
def test_a_moved_view_is_measured_within_20_percent_or_2_px(
    scene_reference, shift: float, rotation: float
) -> None:
    line, ref = scene_reference
    drift = Drift(shift=(shift, 0.0), rotation_deg=rotation)
    cur = _mean_thumbnail(line, range(300, 305), drift)  # the 5 frames since the change, as at detection
    pose = camera_pose(ref, cur, _cell(ref))
    truth = true_displacement(drift, *SIZE)
    err = math.hypot(pose.dx - truth.dx_px, pose.dy - truth.dy_px)
    assert err <= max(0.2 * math.hypot(truth.dx_px, truth.dy_px), 2.0), (pose, truth)
    if rotation:  # the roll is read (content turns the other way from the camera), to within 0.75 degree
        assert abs(-pose.rotation_deg - truth.rotation_deg) <= 0.75, (pose, truth)
    if shift >= 0.02:  # a move of 12 px or more is credited as the move it is
        assert pose.credible == 1.0, pose


@pytest.mark.parametrize(
    "drift",
    [
        Drift(),
        Drift(smudge_fraction=0.1),
        Drift(noise_factor=2.5),
        Drift(defocus_sigma=1.5),
        Drift(gain=0.85),
        Drift(foreign_fraction=0.33),
    ],
    ids=["still", "smudge", "noise", "defocus", "light", "new_product"],
)
def test_a_change_that_is_not_a_move_is_not_credited_as_one(scene_reference, drift: Drift) -> None:
    line, ref = scene_reference
    pose = camera_pose(ref, _mean_thumbnail(line, range(300, 305), drift), _cell(ref))
    assert pose.credible <= 0.35, pose
    assert math.hypot(pose.dx, pose.dy) <= 4.0, pose


def test_gradient_of_a_flat_thumbnail_is_zero_and_tiny_thumbnails_read_no_move() -> None:
    assert not gradient_magnitude(np.full((8, 8), 100.0)).any()
    assert camera_pose(np.zeros((3, 3)), np.ones((3, 3)), (10.0, 10.0)) == STILL
    # too small to tell, like any grid under MIN_SIZE_CELLS: the detection statistic alone decides
    assert not STILL.resolved and STILL.credible == 1.0
