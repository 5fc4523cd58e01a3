"""Quality gates over real frames: each gate fires on the fault it names and stays quiet on a healthy capture."""

from __future__ import annotations

import cv2
import numpy as np

from camdrift.calibration.calibrate.build import reference_frames
from camdrift.calibration.calibrate.gates import black_frames, run_gates
from camdrift.calibration.calibrate.minimum import MIN_WINDOWS, reference_minimum
from camdrift.kernels import frame_stats
from tests.calibration.cli_fixtures import frames

KERNEL = {"thumb_size": (16, 16), "grid": 4}


def _gates(images: list[np.ndarray], window: int = 5, skipped: dict | None = None):
    ref = reference_frames([frame_stats(im, **KERNEL) for im in images])
    return run_gates(
        ref.scalars,
        ref.thumbnails,
        window=window,
        skipped=skipped or {},
        under_threshold=5,
        over_threshold=250,
    )


def _codes(findings) -> dict[str, str]:
    return {f.code: f.level for f in findings}


def test_healthy_capture_passes_every_gate() -> None:
    keep, findings = _gates(frames(0, 100))
    assert keep.all() and findings == []


def test_each_fault_is_found() -> None:
    images = frames(0, 100)
    images[3] = np.zeros_like(images[3])
    images[7] = cv2.GaussianBlur(images[7], (0, 0), 8.0)
    images[9] = np.full_like(images[9], 255)
    images[11][:, :80] = 0  # half the frame in deep shadow
    keep, findings = _gates(images, window=5, skipped={"size_changed": 2})
    codes = _codes(findings)
    assert codes == {
        "black": "warning",
        "blurred": "warning",
        "over_exposed": "warning",
        "under_exposed": "warning",
        "skipped": "warning",
    }
    assert not keep[3] and keep.sum() == 99
    assert black_frames(reference_frames([frame_stats(images[3], **KERNEL)]).scalars).all()


def test_frame_count_gate_is_the_reference_minimum_and_says_how_much_more() -> None:
    assert _gates(frames(0, 100), window=3)[1] == []  # 33 windows, enough independent ones
    images = frames(0, 60)
    ref = reference_frames([frame_stats(im, **KERNEL) for im in images])
    findings = _gates(images, window=60 // MIN_WINDOWS + 1)[1]
    assert _codes(findings) == {"too_few_frames": "error"}
    need = reference_minimum(ref.scalars, 60 // MIN_WINDOWS + 1).min_frames
    more = -(-(need - 60) // 5)
    assert findings[0].message.startswith(
        "reference of 60 analysed frames (12 s at 5 fps) is below the minimum"
    )
    assert findings[0].message.endswith(f"capture at least {more} s more")


def test_static_scene_and_mostly_black_capture_are_errors() -> None:
    one = frames(0, 1)
    assert _codes(_gates(one * 60, window=6)[1]) == {"static_scene": "error"}
    images = frames(0, 60)
    dark = [np.zeros_like(im) for im in images[:40]] + images[40:]
    codes = _codes(_gates(dark, window=2)[1])
    assert codes["black"] == "error"
