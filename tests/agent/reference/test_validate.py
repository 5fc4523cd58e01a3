"""The content checks a baseline passes after its checksum: what a valid hash cannot vouch for (an infinite or
NaN threshold, warn above drift, edges that do not increase, arrays of the wrong size) is refused naming the
field, and the real baseline passes."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest

from camdrift.agent.reference.archive import unpack_npz
from camdrift.agent.reference.baseline import BaselineError
from camdrift.agent.reference.validate import ContentError, check_activations, check_baseline

GOLDEN = Path(__file__).parent / "data" / "baseline_v1.npz"
HEADER, ARRAYS = unpack_npz(GOLDEN, "baseline", BaselineError)


def _arrays(**changed: np.ndarray) -> dict[str, np.ndarray]:
    return {**ARRAYS, **{k.replace("__", "."): v for k, v in changed.items()}}


def test_the_real_baseline_passes() -> None:
    check_baseline(HEADER, ARRAYS)


@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_a_non_finite_drift_threshold_is_refused(value: float) -> None:
    drift = ARRAYS["thresholds.drift"].copy()
    drift[3] = value
    with pytest.raises(ContentError, match="array thresholds.drift holds non-finite values"):
        check_baseline(HEADER, _arrays(thresholds__drift=drift))


def test_warn_above_drift_or_zero_is_refused_naming_the_statistic() -> None:
    warn = ARRAYS["thresholds.warn"].copy()
    warn[4] = ARRAYS["thresholds.drift"][4] * 2
    with pytest.raises(ContentError, match="thresholds of shift.brightness: want 0 < warn <= drift"):
        check_baseline(HEADER, _arrays(thresholds__warn=warn))
    warn[4] = ARRAYS["thresholds.drift"][4]  # capped at drift by the calibration of earlier versions: loads
    check_baseline(HEADER, _arrays(thresholds__warn=warn))
    warn[4] = 0.0
    with pytest.raises(ContentError, match="shift.brightness"):
        check_baseline(HEADER, _arrays(thresholds__warn=warn))


def test_sizes_must_match_the_header() -> None:
    with pytest.raises(ContentError, match=r"array thumbnail has shape \(8, 8\), want 16x16"):
        check_baseline(HEADER, _arrays(thumbnail=np.zeros((8, 8))))
    with pytest.raises(ContentError, match=r"array scalar_mean has shape \(12,\), want 13"):
        check_baseline(HEADER, _arrays(scalar_mean=np.zeros(12)))
    with pytest.raises(ContentError, match="array thresholds.drift has shape"):
        check_baseline(HEADER, _arrays(thresholds__drift=np.ones(3)))


def test_edges_must_increase_and_lut_bins_exist() -> None:
    with pytest.raises(ContentError, match="edges must increase strictly"):
        check_baseline(HEADER, _arrays(edges=ARRAYS["edges"][:, ::-1].copy()))
    lut = ARRAYS["lut"].copy()
    lut[0, 0] = 99
    with pytest.raises(ContentError, match="lut names bin 99"):
        check_baseline(HEADER, _arrays(lut=lut))
    with pytest.raises(ContentError, match="lut has dtype float64, want an integer one"):
        check_baseline(HEADER, _arrays(lut=lut.astype(np.float64)))


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("thresholds", "window"), 0, "window must be an integer in 1.."),
        (("thresholds", "fps"), math.inf, "fps must be a finite number"),
        (("thresholds", "level"), 1.5, "level must be < 1"),
        (("frame_count",), -1, "frame_count must be an integer"),
        (("alpha",), 0.0, "alpha must be > 0"),
        (("stride",), True, "stride must be an integer"),
        (("thumb_size",), [16], "thumb_size must be a list of 2 integers"),
        (("pixel_format",), "yuv", "pixel_format must be one of"),
        (("under_threshold",), 250, "under_threshold must be below over_threshold"),
        (("roi",), [HEADER["resolution"][0], 0, 1, 1], r"roi .* does not fit the resolution"),
    ],
)
def test_header_values_out_of_range_are_refused_naming_the_key(path, value, message) -> None:
    header = copy.deepcopy(HEADER)
    (header if len(path) == 1 else header[path[0]])[path[-1]] = value
    with pytest.raises(ContentError, match=message):
        check_baseline(header, ARRAYS)


def test_the_activation_group_is_checked_too() -> None:
    k, c = 3, 5
    act = {
        "model_sha256": "0" * 64, "model_name": "m.onnx", "output": "x", "output_layout": "nchw", "every_n": 5,
        "window": 24, "sample_count": 100, "alpha": 0.5, "residual_mean": 1.0, "residual_sd": 0.1,
    }  # fmt: skip
    arrays = {
        "act.basis": np.eye(c)[:, :k], "act.mean": np.zeros(c), "act.explained": np.full(k, 0.2),
        "act.edges": np.tile(np.linspace(-1, 1, 6), (k, 1)), "act.ref_counts": np.ones((k, 5)),
        "act.proj_mean": np.zeros(k), "act.proj_cov": np.eye(k), "act.drift": np.full(3, 2.0),
        "act.warn": np.full(3, 1.0), "act.null_scale": np.ones(3),
    }  # fmt: skip
    check_activations(act, arrays)
    with pytest.raises(ContentError, match="act.drift holds non-finite"):
        check_activations(act, {**arrays, "act.drift": np.array([2.0, math.inf, 2.0])})
    with pytest.raises(ContentError, match=r"act.proj_cov has shape \(2, 2\), want 3x3"):
        check_activations(act, {**arrays, "act.proj_cov": np.eye(2)})
