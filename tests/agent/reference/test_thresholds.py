"""Thresholds in the baseline file: a calibrated set survives the round trip exactly, the fields recorded since
issue #14 are left out at their defaults (so older files keep their hash), and a missing field is refused."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from camdrift.agent.reference.thresholds import thresholds_from_parts, thresholds_to_parts
from tests.agent.drift_fixtures import small_baseline


def test_calibrated_thresholds_survive_the_file_round_trip() -> None:
    t = dataclasses.replace(
        small_baseline().thresholds, n_eff=12.5, widening=1.4, forced=("short reference",)
    )
    header, arrays = thresholds_to_parts(t)
    back = thresholds_from_parts(header, arrays)
    for f in dataclasses.fields(t):
        a, b = getattr(t, f.name), getattr(back, f.name)
        assert np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b, f.name
    assert set(arrays) == {"thresholds.drift", "thresholds.warn", "thresholds.null_scale"}


def test_fields_at_their_not_recorded_defaults_are_left_out() -> None:
    t = dataclasses.replace(small_baseline().thresholds, n_eff=0.0, widening=1.0, min_frames=0, forced=())
    header, _ = thresholds_to_parts(t)
    assert not {"n_eff", "widening", "min_frames", "forced"} & set(header)
    assert thresholds_from_parts(header, thresholds_to_parts(t)[1]).widening == 1.0


def test_a_missing_field_is_refused() -> None:
    header, arrays = thresholds_to_parts(small_baseline().thresholds)
    with pytest.raises(KeyError):
        thresholds_from_parts({k: v for k, v in header.items() if k != "names"}, arrays)
    with pytest.raises(KeyError):
        thresholds_from_parts(header, {k: v for k, v in arrays.items() if k != "thresholds.warn"})
