"""Argument checks shared by the kernels' public wrappers (one home, so every kernel words its errors alike)."""

from __future__ import annotations

import numpy as np


def check_int(name: str, value: object, minimum: int) -> int:
    """``value`` as an int if it is an integer (numpy integers included, bools not) of at least ``minimum``.

    Raises TypeError for a non-integer and ValueError below ``minimum``, each naming the argument ``name``.
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)
