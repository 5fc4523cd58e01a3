"""The engine's statistic families taken together: which family owns a statistic, every statistic's state
machine and current :class:`~camdrift.agent.drift.contract.Statistic`, and where each family's state is filed
in the engine state file.

Each family files its arrays under a prefix and its header values either at the top of the header or in a
section of their own (:class:`Filed`); the state machines of all families share one ``groups`` array, (n, 3)
rows in family order, which :meth:`Families.restore` splits back.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from camdrift.agent.drift.contract import Section, Statistic, StatisticFamily, prefixed
from camdrift.agent.drift.decision import Hysteresis


class Filed(NamedTuple):
    """A family and where its state lives: ``arrays`` prefixes its array names ("" = as they are); ``header``
    names its own header section (None = its values at the top of the header)."""

    family: StatisticFamily
    arrays: str = ""
    header: str | None = None


class Families:
    """The families of ``filed``, in order (the order of the statistics in messages and in the state file)."""

    def __init__(self, filed: Sequence[Filed]) -> None:
        self._filed = tuple(filed)
        self.members: tuple[StatisticFamily, ...] = tuple(f.family for f in self._filed)
        self.groups: tuple[Hysteresis, ...] = tuple(g for f in self.members for g in f.groups)
        self._family = {g.name: f for f in self.members for g in f.groups}
        self._group = {g.name: g for g in self.groups}
        if len(self._group) != len(self.groups):
            raise ValueError(f"statistic names must be unique, got {[g.name for g in self.groups]}")

    def family_of(self, name: str) -> StatisticFamily:
        """The family that scores statistic ``name``."""
        return self._family[name]

    def hysteresis(self, name: str) -> Hysteresis:
        """The state machine of statistic ``name``."""
        return self._group[name]

    def statistics(self) -> tuple[Statistic, ...]:
        return tuple(s for f in self.members for s in f.statistics())

    # --- state (see engine_state) -------------------------------------------------------------------------------

    def state_arrays(self) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {}
        rows = []
        for f in self._filed:
            own = f.family.state_arrays()
            rows.append(own.pop("groups"))
            arrays |= prefixed(f.arrays, own)
        return arrays | {"groups": np.concatenate(rows).reshape(-1, 3)}

    def state_header(self) -> dict[str, Any]:
        header: dict[str, Any] = {}
        for f in self._filed:
            own = f.family.state_header()
            header |= own if f.header is None else {f.header: own}
        return header

    def restore(self, header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        rows, start = arrays["groups"], 0
        for f in self._filed:
            n = len(f.family.groups)
            own = {"groups": rows[start : start + n]}
            start += n
            head = header if f.header is None else header[f.header]
            f.family.restore(head, ChainMap(own, Section(arrays, f.arrays)))
