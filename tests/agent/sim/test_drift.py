"""Render-time drift: the camera's true motion in pixels, and the rendered frames moving by exactly that."""

from __future__ import annotations

import doctest

import cv2
import numpy as np
import pytest

import camdrift.agent.sim.drift as drift_module
from camdrift.agent.sim.drift import (
    MAX_ROTATION_DEG,
    Displacement,
    Drift,
    camera_warp,
    content_affine,
    true_displacement,
)
from camdrift.agent.sim.line import RESAMPLE, ProductionLine
from camdrift.agent.sim.scenes import SCENES


def _still(scene: str, width: int, height: int) -> ProductionLine:
    """A line without sensor noise or flicker, so moved frames can be compared with predicted ones."""
    return ProductionLine(
        seed=2, width=width, height=height, read_noise=0, shot_noise=0, flicker=0, scene=SCENES[scene]
    )


def _predicted_error(line: ProductionLine, drift: Drift, affine: np.ndarray, i: int = 5) -> float:
    """Mean |drifted frame - healthy frame moved by ``affine``| in DN, inside a border that stays in view."""
    w, h = line.width, line.height
    healthy = line.frame(i).astype(np.float32)
    moved = line.frame(i, drift).astype(np.float32)
    predicted = cv2.warpAffine(healthy, affine, (w, h), flags=RESAMPLE)  # the sim's own resampler
    inner = np.s_[h // 8 : -h // 8, w // 8 : -w // 8]
    return float(np.abs(predicted[inner] - moved[inner]).mean())


def test_module_doctest() -> None:
    assert doctest.testmod(drift_module).failed == 0


@pytest.mark.parametrize("size", [(640, 360), (1280, 720)])
def test_a_shift_alone_moves_the_content_by_whole_pixels(size: tuple[int, int]) -> None:
    w, h = size
    drift = Drift(shift=(0.03, -0.02))
    assert true_displacement(drift, w, h) == Displacement(-round(0.03 * w), round(0.02 * h), 0.0)
    line = _still("cups", w, h)
    healthy, moved = line.frame(4), line.frame(4, drift)
    dx, dy = round(0.03 * w), round(0.02 * h)  # camera right and up: the content moves left and down
    np.testing.assert_array_equal(moved[dy:, : w - dx], healthy[: h - dy, dx:])


@pytest.mark.parametrize("scene", list(SCENES))
@pytest.mark.parametrize("size", [(640, 360), (1280, 720)])
def test_shift_with_rotation_moves_the_content_as_predicted(scene: str, size: tuple[int, int]) -> None:
    w, h = size
    line = _still(scene, w, h)
    drift = Drift(shift=(0.03, 0.0), rotation_deg=1.0)
    truth = true_displacement(drift, w, h)
    assert truth.rotation_deg == -1.0 and truth.dx_px == pytest.approx(-0.03 * w, rel=0.01)
    assert line.displacement(drift) == truth
    right = _predicted_error(line, drift, content_affine(drift, w, h))
    # The same motion 20 % short, or the shift without its rotation, explains the frame far worse.
    short = _predicted_error(line, drift, content_affine(Drift(shift=(0.024, 0.0), rotation_deg=0.8), w, h))
    unturned = _predicted_error(line, drift, content_affine(Drift(shift=(0.03, 0.0)), w, h))
    assert right < 1.0 and short > 3 * right and unturned > 3 * right, (right, short, unturned)


def test_rotation_turns_the_content_the_documented_way() -> None:
    """Positive rotation: the camera rolls counter-clockwise, so the content turns clockwise on screen."""
    w, h = 640, 360
    affine = content_affine(Drift(rotation_deg=2.0), w, h)
    right_edge = affine @ np.array([w - 1, (h - 1) / 2, 1.0])  # a point right of the centre
    assert right_edge[1] > (h - 1) / 2 + 5  # goes down: clockwise as displayed (y points down)
    centre = affine @ np.array([(w - 1) / 2, (h - 1) / 2, 1.0])
    np.testing.assert_allclose(centre, [(w - 1) / 2, (h - 1) / 2], atol=1e-9)  # about the frame centre


def test_a_pose_outside_the_rendered_margin_is_refused() -> None:
    with pytest.raises(ValueError, match="margin"):
        camera_warp(Drift(shift=(0.06, 0.06), rotation_deg=MAX_ROTATION_DEG), 640, 360, (39, 22))
    with pytest.raises(ValueError, match="margin"):
        _still("cups", 320, 240).frame(0, Drift(shift=(0.06, 0.06), rotation_deg=3.0))
    camera_warp(Drift(shift=(0.03, 0.02), rotation_deg=1.0), 640, 360, (39, 22))  # the case fits


@pytest.mark.parametrize(
    ("kwargs", "culprit"),
    [
        ({"gain": 0.0}, "gain"),
        ({"shift": (0.2, 0.0)}, "shift"),
        ({"rotation_deg": 10.0}, "rotation_deg"),
        ({"foreign": "a boat"}, "foreign"),
    ],
)
def test_bad_drift_is_refused_naming_the_field(kwargs: dict, culprit: str) -> None:
    with pytest.raises(ValueError, match=culprit):
        Drift(**kwargs)


@pytest.mark.parametrize("scene", list(SCENES))
def test_a_rolled_camera_keeps_its_focus(scene: str) -> None:
    """A bump moves the view; it does not blur it (the resampler must not read as a defocus)."""
    line = _still(scene, 640, 360)

    def sharpness(img: np.ndarray) -> float:
        return float(
            cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float64), cv2.CV_64F).var()
        )

    healthy = np.mean([sharpness(line.frame(i)) for i in range(4)])
    rolled = np.mean([sharpness(line.frame(i, Drift(shift=(0.03, 0.0), rotation_deg=1.0))) for i in range(4)])
    assert rolled > 0.85 * healthy, (rolled, healthy)
