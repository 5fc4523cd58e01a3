"""The kernels' one integer-argument check: integers of any kind pass, bools, floats and too-small values are
refused naming the argument, alike in every kernel."""

from __future__ import annotations

import numpy as np
import pytest

from camdrift.kernels import frame_stats, quantile_edges, quantile_edges_float, rebin_lut
from camdrift.kernels._checks import check_int


def test_integers_of_any_kind_pass_as_python_ints() -> None:
    for value in (3, np.int64(3), np.uint8(3), np.int32(3)):
        got = check_int("n_bins", value, 1)
        assert got == 3 and type(got) is int


@pytest.mark.parametrize(
    ("value", "exc", "message"),
    [
        (True, TypeError, "n_bins must be an integer, got bool"),
        (2.0, TypeError, "n_bins must be an integer, got float"),
        ("2", TypeError, "n_bins must be an integer, got str"),
        (0, ValueError, "n_bins must be >= 1, got 0"),
    ],
)
def test_a_bad_value_is_refused_naming_the_argument(value: object, exc: type, message: str) -> None:
    with pytest.raises(exc, match=message):
        check_int("n_bins", value, 1)


def test_every_kernel_words_its_integer_errors_alike() -> None:
    counts = np.ones(8)
    with pytest.raises(TypeError, match="n_bins must be an integer, got bool"):
        quantile_edges(counts, True)
    with pytest.raises(TypeError, match="n_bins must be an integer, got bool"):
        quantile_edges_float(np.ones((4, 2)), True)
    with pytest.raises(ValueError, match="n_natural must be >= 1, got 0"):
        rebin_lut(np.array([0, 8]), 0)
    with pytest.raises(TypeError, match="grid must be an integer, got float"):
        frame_stats(np.zeros((4, 4, 3), np.uint8), grid=2.0)
    assert frame_stats(np.zeros((4, 4, 3), np.uint8), stride=np.int64(2)).pixel_count == 4
