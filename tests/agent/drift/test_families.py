"""The statistic families together: each statistic is found in its family; the state file layout is the one
of format v1 (one ``groups`` array for every state machine, the activation window under ``act.`` with its
header section ``activations``); two statistics of one name are refused."""

from __future__ import annotations

import numpy as np
import pytest

from camdrift.agent.drift.activations import ActivationMonitor
from camdrift.agent.drift.families import Families, Filed
from camdrift.agent.drift.slow import SlowDriftMonitor
from camdrift.agent.drift.window_monitor import WindowMonitor
from tests.agent.drift_fixtures import activation_reference, small_baseline


def _families() -> Families:
    b = small_baseline()
    return Families(
        [
            Filed(WindowMonitor(b)),
            Filed(SlowDriftMonitor(b)),
            Filed(ActivationMonitor(activation_reference()), "act.", "activations"),
        ]
    )


def test_each_statistic_is_found_in_its_family() -> None:
    f = _families()
    pixels, slow, act = f.members
    assert f.family_of("psi.luma") is pixels and f.family_of("cusum.brightness") is slow
    assert f.family_of("act.mahalanobis") is act
    assert f.hysteresis("cusum.brightness") is slow.groups[0]
    assert [s.name for s in f.statistics()] == [g.name for g in f.groups]
    assert len(f.groups) == len(pixels.groups) + len(slow.groups) + len(act.groups)


def test_state_layout_is_format_v1() -> None:
    f = _families()
    arrays, header = f.state_arrays(), f.state_header()
    assert arrays["groups"].shape == (len(f.groups), 3) and arrays["groups"].dtype == np.int64
    assert {"window.counts.buf", "window.scalars.sum", "minutes.ids", "hours.sums", "cusum"} <= arrays.keys()
    assert {"act.proj", "act.bins", "act.res", "act.counts"} <= arrays.keys()
    assert not any(k.endswith(".groups") for k in arrays)
    assert {
        "frames",
        "alert_start",
        "window_pos",
        "window_filled",
        "minutes_current",
        "cusum_echo",
    } <= header.keys()
    assert set(header["activations"]) == {"pos", "filled", "samples", "rejected"}


def test_two_statistics_of_one_name_are_refused() -> None:
    b = small_baseline()
    with pytest.raises(ValueError, match="unique"):
        Families([Filed(WindowMonitor(b)), Filed(WindowMonitor(b))])
