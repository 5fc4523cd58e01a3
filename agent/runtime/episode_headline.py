"""The open drift episode as the retained state tells it: when it began and its latest top cause."""

from __future__ import annotations

from camdrift.agent.drift.decision import Decision
from camdrift.agent.drift.engine import EngineSnapshot
from camdrift.agent.output.events import EpisodeState, Event


class EpisodeHeadline:
    """Follows the episode events the pipeline publishes (:meth:`update`) so that the retained state can say,
    to a subscriber that connects late, what drifts since when and why (:meth:`state`)."""

    def __init__(self) -> None:
        self.current: EpisodeState | None = None
        self.acknowledged: str | None = None  # the episode an operator acknowledged (it stays until it ends)

    def update(self, decision: Decision, event: Event) -> None:
        """``event`` was published for ``decision``: an episode began, moved on, or ended."""
        d = decision
        if d.kind == "drift.ended":
            self.current = None
        elif d.kind in ("drift.started", "drift.updated") and d.episode_id:
            old = self.current if self.current is not None and self.current.id == d.episode_id else None
            since = old.since if old is not None else (d.stream_time if d.kind == "drift.started" else None)
            cause = event.causes[0].code if event.causes else None
            self.current = EpisodeState(d.episode_id, since, cause, event.summary)

    def state(self, snapshot: EngineSnapshot) -> EpisodeState | None:
        """The engine's open episode: as its events told it, or (restored after a restart, no event of it seen
        yet) its id alone, never a cause this process has not read."""
        if not snapshot.episode_id:
            return None
        acked = self.acknowledged == snapshot.episode_id
        if self.current is not None and self.current.id == snapshot.episode_id:
            return self.current._replace(acknowledged=acked)
        return EpisodeState(snapshot.episode_id, None, acknowledged=acked)

    def cause(self) -> tuple[str, str] | None:
        """The open episode's top cause code and summary as its last event told them (None without one, or
        none read yet)."""
        c = self.current
        return None if c is None else (c.cause or "", c.summary or "")
