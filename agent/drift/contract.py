"""The contract of the drift engine's stateful parts, and the typed view the engine gives of its statistics.

Every part that carries state from frame to frame (:class:`~camdrift.agent.drift.windows.RingSum`,
:class:`~camdrift.agent.drift.windows.SlidingWindow`, :class:`~camdrift.agent.drift.windows.TimeBuckets`,
:class:`~camdrift.agent.drift.statistics.Cusum`, :class:`~camdrift.agent.drift.decision.Hysteresis`, the three
statistic families and the engine itself) is a :class:`Monitor`:

- ``update(...) -> self``: one observation in; what it changed is read from the part's read-only properties;
- ``state_arrays()`` / ``state_header()``: its state as numeric arrays and JSON values, under its own short keys
  (a composite part files its parts' keys under a prefix, see :func:`prefixed` and :class:`Section`);
- ``restore(header, arrays)``: back to the saved state, so the next updates behave exactly as if it had never
  stopped. A saved array of the wrong shape or dtype raises ValueError (:func:`copy_into`), a missing one KeyError.

:class:`~camdrift.agent.drift.decision.Episodes` keeps only the state half (:class:`Stateful`): it turns a
frame's transitions into events and is closed by the engine after they are reported.

A *statistic family* (:class:`StatisticFamily`) is a monitor that scores a set of named statistics, each with its
own :class:`~camdrift.agent.drift.decision.Hysteresis`: the window statistics, the CUSUMs and the activation
statistics. Each reports its statistics as :class:`Statistic` records, so no caller reads the engine's parts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, Self, TypeVar, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from camdrift.agent.drift.decision import Hysteresis, Transition

V = TypeVar("V")


@runtime_checkable
class Stateful(Protocol):
    """A part whose state can be saved and restored (see the module docstring)."""

    def state_arrays(self) -> dict[str, np.ndarray]: ...

    def state_header(self) -> dict[str, Any]: ...

    def restore(self, header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None: ...


@runtime_checkable
class Monitor(Stateful, Protocol):
    """A stateful part fed one observation at a time: ``update(...)`` returns the part itself."""

    def update(self, *args: Any, **kwargs: Any) -> Self: ...


class Statistic(NamedTuple):
    """One monitored statistic as it stands. kind: ``psi``, ``shift``, ``grid``, ``displacement``, ``cusum`` or
    ``act``; verdict: ``ok``, ``warning`` or ``drift``; score: the value its thresholds apply to (None before its
    first full window, or when not finite); threshold: its drift threshold; warming_up: its window is still
    filling."""

    name: str
    kind: str
    verdict: str
    score: float | None
    threshold: float
    warming_up: bool


@runtime_checkable
class StatisticFamily(Monitor, Protocol):
    """A monitor scoring named statistics. ``groups``: their state machines (in the state file's order);
    ``transitions``: what the last update changed in them."""

    groups: Sequence[Hysteresis]
    transitions: list[Transition]

    def statistics(self) -> tuple[Statistic, ...]: ...

    def score(self, name: str) -> float:
        """The current score of statistic ``name`` (0.0 before its first full window)."""
        ...

    def scalar_of(self, name: str) -> str | None:
        """The per-frame scalar statistic ``name`` watches, or None (a histogram, the grid, ...)."""
        ...


def finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def scored_statistics(
    groups: Sequence[Hysteresis], scores: np.ndarray | None, kinds: Sequence[str], warming_up: bool
) -> tuple[Statistic, ...]:
    """The :class:`Statistic` of each of ``groups`` (hysteresis machines, one per statistic) with its latest
    score from ``scores`` ((n,) float64, None before the first scored window) and its ``kinds`` entry."""
    return tuple(
        Statistic(
            g.name,
            kind,
            g.state,
            None if scores is None else finite_or_none(scores[i]),
            float(g.drift),
            warming_up,
        )
        for i, (g, kind) in enumerate(zip(groups, kinds, strict=True))
    )


def copy_into(name: str, dst: np.ndarray, src: np.ndarray) -> None:
    """``dst[...] = src`` for a restore; ValueError naming ``name`` unless shape and dtype are the same."""
    if dst.shape != src.shape or dst.dtype != src.dtype:
        raise ValueError(
            f"{name}: array of shape {src.shape} {src.dtype} does not fit {dst.shape} {dst.dtype}"
        )
    dst[...] = src


def prefixed(prefix: str, parts: Mapping[str, V]) -> dict[str, V]:
    """``parts`` with every key filed under ``prefix`` (a composite's view of one of its parts' state)."""
    return {prefix + k: v for k, v in parts.items()}


class Section(Mapping[str, V]):
    """The entries of ``data`` filed under ``prefix``, by their short keys: what a composite hands one part on
    restore. A missing entry raises KeyError with its full key."""

    def __init__(self, data: Mapping[str, V], prefix: str) -> None:
        self._data = data
        self._prefix = prefix

    def __getitem__(self, key: str) -> V:
        return self._data[self._prefix + key]

    def __iter__(self) -> Iterator[str]:
        n = len(self._prefix)
        return (k[n:] for k in self._data if k.startswith(self._prefix))

    def __len__(self) -> int:
        return sum(1 for _ in self)
